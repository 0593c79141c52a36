"""Config problems that training would only meet after it started, found before (exit 2)."""

from __future__ import annotations

import torch

from ocularseg.core.errors import ConfigError, OcularsegError
from ocularseg.core.labels import NUM_CLASSES
from ocularseg.data.manifest import read_manifest
from ocularseg.io.images import header_size_wh
from ocularseg.training.config import TrainConfig
from ocularseg.training.dataset import scaled_size_wh
from ocularseg.training.losses import LossConfigError, build_loss


def _training_size_hw(cfg: TrainConfig, source: str) -> tuple[int, int]:
    """(rows, columns) of one training window: the first image after ``input_scale``,
    or ``crop_hw`` when set (480×320 when the data set cannot be read yet)."""
    try:
        rows = read_manifest(cfg.data)
        first = (cfg.data / rows[0].image).read_bytes()[: 1 << 16] if rows else b""
    except (OcularsegError, OSError):
        rows, first = [], b""  # the trainer reports a missing or bad data set itself
    size = header_size_wh(first) if first else None
    width, height = size if size else (480, 320)
    width, height = scaled_size_wh(height, width, cfg.input_scale)
    if cfg.crop_hw is None:
        return height, width
    crop_h, crop_w = cfg.crop_hw
    if crop_h > height or crop_w > width:
        raise ConfigError(
            f"{source}: crop_hw [{crop_h}, {crop_w}] is larger than the training images "
            f"({height}×{width} px after input_scale {cfg.input_scale:g})"
        )
    return crop_h, crop_w


def check_before_training(cfg: TrainConfig, source: str) -> None:
    """Find the config problems that training would only meet after it started.

    The loss is built and run once on a small batch (invalid ``class_weights`` used to end
    the run with a traceback and exit 1), and ``crop_hw`` is compared with the data set's
    image size (a window larger than the image failed in the first step).

    Raises:
        ConfigError: naming ``source`` (the config file), the field and the problem.
    """
    height, width = _training_size_hw(cfg, source)
    try:
        loss = build_loss(cfg.loss.name, **cfg.loss.options)
        logits = torch.zeros(1, NUM_CLASSES, height, width)
        target = torch.zeros(1, height, width, dtype=torch.long)
        with torch.no_grad():
            loss(logits, target)
    except LossConfigError as exc:
        raise ConfigError(f"{source}: loss {cfg.loss.name!r}: {exc}") from exc
    except OcularsegError:
        raise
    except (ValueError, TypeError, RuntimeError) as exc:
        raise ConfigError(
            f"{source}: loss {cfg.loss.name!r} with options {cfg.loss.options}: {exc}"
        ) from exc
