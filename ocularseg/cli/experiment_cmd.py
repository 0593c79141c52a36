"""``ocularseg experiment``: run a models × losses × fractions grid (resumable)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("experiment")(experiment)


def experiment(
    grid: Path = typer.Argument(..., help="Grid YAML (see docs/configs/grid.yaml)."),
) -> None:
    """Train and score every cell of the grid; finished cells are skipped on a re-run."""
    from ocularseg.cli.deps import require_torch

    require_torch()
    from ocularseg.training.experiment import load_grid, results_markdown, run_grid

    config = load_grid(grid)
    table = run_grid(config)
    typer.echo(results_markdown(table, config))
    typer.echo(f"results: {config.out / 'results.csv'}, {config.out / 'results.md'}")
