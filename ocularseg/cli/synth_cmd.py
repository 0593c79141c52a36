"""``ocularseg synth``: procedural eye phantoms with exact ground truth."""

from __future__ import annotations

import sys
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the ``synth`` command to ``app``."""
    app.command("synth")(synth)


def synth(
    n: int = typer.Option(..., "--n", help="Number of phantom images to write (>= 1)."),
    seed: int = typer.Option(0, "--seed", help="Seed of every random choice (>= 0)."),
    out: Path = typer.Option(
        ..., "--out", help="New or empty folder for the dataset.", file_okay=False
    ),
    subjects: int | None = typer.Option(
        None,
        "--subjects",
        help="Number of phantom people, 1..N (default N // 10, at least 3 or N when "
        "smaller, enough for a train/val/test split); "
        "sample i belongs to person i % K.",
    ),
    profile: str = typer.Option(
        "standard",
        "--profile",
        help="standard; shifted: mostly darker skin, more ptosis, harsher lighting "
        "(a stand-in for a clinical test set that differs from training); balanced: "
        "standard with the iris colour independent of the skin type.",
    ),
) -> None:
    """Write N eye-crop phantoms (480×320 RGB PNG, label mask, exact truth JSON) and a manifest.

    The same --n/--seed/--subjects always give byte-identical files. Sample i does not
    depend on N (for the same number of subjects).
    """
    from ocularseg.core.errors import ConfigError
    from ocularseg.synth.dataset import check_options, default_subjects, write_dataset
    from ocularseg.synth.params import PROFILES

    if profile not in PROFILES:
        raise ConfigError(f"--profile must be one of {', '.join(PROFILES)}, got {profile!r}")

    k = default_subjects(n) if subjects is None and n >= 1 else subjects
    check_options(n, seed, k if k is not None else 1, out)
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import Progress

        with Progress(console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task("rendering phantoms", total=n)
            write_dataset(
                out,
                n,
                seed=seed,
                n_subjects=k,
                profile=profile,
                progress=lambda done: progress.update(task, completed=done),
            )
    else:
        write_dataset(out, n, seed=seed, n_subjects=k, profile=profile)
    typer.echo(
        f"wrote {n} phantoms of {k} subjects to {out} (manifest.csv, images/, masks/, meta/)"
    )
