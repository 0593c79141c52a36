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


def check_before_training(cfg, source: str) -> None:
    """Find the config problems that training would only meet after it started (exit 2).

    The loss is built and run once on a small batch (invalid ``class_weights`` used to end
    the run with a traceback and exit 1), and ``crop_hw`` is compared with the data set's
    image size (a window larger than the image failed in the first step).

    Raises:
        ConfigError: naming ``source``, the field and the problem.
    """
    import torch

    from ocularseg.core.errors import ConfigError, OcularsegError
    from ocularseg.core.labels import NUM_CLASSES
    from ocularseg.data.manifest import read_manifest
    from ocularseg.io.images import header_size_wh
    from ocularseg.training.dataset import scaled_size_wh
    from ocularseg.training.losses import build_loss

    try:
        rows = read_manifest(cfg.data)
        first = (cfg.data / rows[0].image).read_bytes()[: 1 << 16] if rows else b""
    except (OcularsegError, OSError):
        rows, first = [], b""  # the trainer reports a missing or bad data set itself
    size = header_size_wh(first) if first else None
    width, height = size if size else (480, 320)
    width, height = scaled_size_wh(height, width, cfg.input_scale)
    if cfg.crop_hw is not None:
        crop_h, crop_w = cfg.crop_hw
        if crop_h > height or crop_w > width:
            raise ConfigError(
                f"{source}: crop_hw [{crop_h}, {crop_w}] is larger than the training images "
                f"({height}×{width} px after input_scale {cfg.input_scale:g})"
            )
        height, width = crop_h, crop_w
    try:
        loss = build_loss(cfg.loss.name, **cfg.loss.options)
        logits = torch.zeros(1, NUM_CLASSES, height, width)
        target = torch.zeros(1, height, width, dtype=torch.long)
        with torch.no_grad():
            loss(logits, target)
    except OcularsegError:
        raise
    except (ValueError, TypeError, RuntimeError) as exc:
        raise ConfigError(
            f"{source}: loss {cfg.loss.name!r} with options {cfg.loss.options}: {exc}"
        ) from exc
