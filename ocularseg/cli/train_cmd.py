"""``ocularseg train``: train a segmentation model from a YAML config (needs the [train] extra)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("train")(train)


def train(
    config: Path = typer.Argument(..., help="YAML training config (see docs/configs/train.yaml)."),
    resume: bool = typer.Option(
        False, "--resume", help="Continue the run in the config's out folder."
    ),
    init: Path | None = typer.Option(
        None,
        "--init",
        help="Start from this model folder / run folder / .safetensors (fine-tuning).",
    ),
    out: Path | None = typer.Option(None, "--out", help="Run folder (overrides the config)."),
    data: Path | None = typer.Option(None, "--data", help="Dataset folder (overrides the config)."),
    epochs: int | None = typer.Option(
        None, "--epochs", min=1, help="Epochs (overrides the config)."
    ),
    device: str | None = typer.Option(
        None, "--device", help="auto, cpu or cuda (overrides the config)."
    ),
) -> None:
    """Train a model: checkpoints (safetensors), metrics.csv and curve.png in the run folder."""
    from ocularseg.cli.deps import require_torch

    require_torch()
    import sys

    from rich.console import Console

    from ocularseg.training.config import load_train_config
    from ocularseg.training.preflight import check_before_training
    from ocularseg.training.trainer import train as run_training

    overrides = {
        "init": str(init.resolve()) if init else None,
        "out": str(out.resolve()) if out else None,
        "data": str(data.resolve()) if data else None,
        "epochs": epochs,
        "device": device,
    }
    cfg = load_train_config(config, **overrides)
    check_before_training(cfg, str(config))
    console = Console(stderr=True)
    result = run_training(cfg, resume=resume, show_progress=sys.stderr.isatty())
    console.print(
        f"[green]done[/green]: {result.epochs_run} epoch(s) in {cfg.out}; best val Dice "
        f"{result.best_val_dice:.4f} at epoch {result.best_epoch}"
    )
