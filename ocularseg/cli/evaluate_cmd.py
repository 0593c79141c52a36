"""``ocularseg evaluate``: Dice, IoU, HD95 … with 95 % bootstrap CIs for a model or masks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import typer


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)


def evaluate(
    data: Path = typer.Option(
        ..., "--data", help="Dataset folder (manifest.csv, images/, masks/)."
    ),
    model: Path | None = typer.Option(None, "--model", help="Model folder to run on the images."),
    pred: Path | None = typer.Option(None, "--pred", help="Folder of predicted masks instead."),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="New or empty output folder \\[default: a new evaluation-MODEL-DATA-SPLIT folder "
        "here, -2, -3 … if taken; refused inside a git working tree].",
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace an earlier evaluation in --out (nothing else)."
    ),
    split: str = typer.Option("test", "--split", help="train, val, test or all."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
    resamples: int = typer.Option(1000, "--resamples", help="Bootstrap resamples."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
) -> None:
    """Per-image metrics and means with 95 % CIs (per_image.csv, summary.csv/json/md).

    On a real-eye dataset with silver labels (``ocularseg data build-real``) it scores the
    opening and the iris disc, the share of eyes measured, anatomically impossible masks and
    MRD1 / visible-iris-fraction agreement with the teacher (real_*.csv, real_summary.md).
    The files hold real image ids; an existing evaluation is never overwritten silently.
    """
    from rich.console import Console
    from rich.markdown import Markdown

    from ocularseg.core.errors import ConfigError
    from ocularseg.pipeline.evaluate import scored_dir
    from ocularseg.pipeline.evaluate_out import remove_stale, resolve_out_dir

    if split not in ("train", "val", "test", "all"):
        raise ConfigError(f"--split must be train, val, test or all, got {split!r}")
    target = resolve_out_dir(
        out,
        cwd=Path.cwd(),
        scored=scored_dir(model, pred),
        data=data,
        split=split,
        overwrite=overwrite,
    )
    scoring = _Scoring(data, model, pred, split, seed, resamples, device)
    markdown, files, notes = _run(scoring, target.path)
    Console().print(Markdown(markdown))
    for note in notes:
        typer.echo(f"note: {note}", err=True)
    remove_stale(target, files)
    names = ", ".join(path.name for path in files)
    typer.echo(f"wrote the evaluation to {target.path.resolve()} ({names})")


@dataclass(frozen=True)
class _Scoring:
    """What ``evaluate`` scores, and how (the command's options)."""

    data: Path
    model: Path | None
    pred: Path | None
    split: str
    seed: int
    resamples: int
    device: str

    def options(self) -> _Options:
        """The keyword options both evaluations take."""
        return _Options(
            split=self.split, seed=self.seed, n_resamples=self.resamples, device=self.device
        )


class _Options(TypedDict):
    split: str
    seed: int
    n_resamples: int
    device: str


def _run(scoring: _Scoring, out: Path) -> tuple[str, list[Path], tuple[str, ...]]:
    """Score into ``out``; return the Markdown to print, the files written and notes."""
    from ocularseg.core.errors import ConfigError
    from ocularseg.pipeline.evaluate import evaluate as run_evaluation
    from ocularseg.pipeline.evaluate_real import evaluate_real, is_silver_dataset

    if is_silver_dataset(scoring.data):
        if scoring.model is None:
            raise ConfigError("a silver real-eye dataset is scored with --model only")
        real = evaluate_real(scoring.data, scoring.model, out_dir=out, **scoring.options())
        return real.markdown, sorted(out.glob("real_*")), ()
    outcome = run_evaluation(
        scoring.data, out, model_dir=scoring.model, pred_dir=scoring.pred, **scoring.options()
    )
    return outcome.markdown, list(outcome.files.values()), outcome.notes
