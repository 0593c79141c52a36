"""``ocularseg experiment``: run a models × losses × fractions grid (resumable)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("experiment")(experiment)


def experiment(
    grid: Path = typer.Argument(..., help="Grid YAML (see GRID.yaml)."),
    shard: str = typer.Option(
        "0/1",
        help="I/N: run only every N-th cell starting at I (0-based), so N processes can "
        "share one grid, e.g. --shard 0/2 and --shard 1/2 on two cores.",
    ),
) -> None:
    """Train and score every cell of the grid; finished cells are skipped on a re-run."""
    from ocularseg.cli.deps import require_torch

    require_torch()
    from ocularseg.training.experiment import load_grid, run_grid

    config = load_grid(grid)
    run_grid(config, shard=_parse_shard(shard))
    typer.echo((config.out / "results.md").read_text(encoding="utf-8"))
    typer.echo(f"results: {config.out / 'results.csv'}, {config.out / 'results.md'}")


def _parse_shard(text: str) -> tuple[int, int]:
    from ocularseg.core.errors import ConfigError

    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard {text!r}: expected I/N, e.g. 0/2") from None
    if count < 1 or not 0 <= index < count:
        raise ConfigError(f"--shard {text!r}: need N ≥ 1 and 0 ≤ I < N")
    return index, count
