"""Segmentation networks: ``(B, in_channels, H, W)`` normalised input → ``(B, C, H, W)`` logits.

Networks are chosen by name from :data:`MODELS`; config never imports a class by string.
A checkpoint stores ``model.config()`` beside the safetensors weights so
``build_model(name, **config)`` rebuilds the same network (see :mod:`.io`).
"""

from __future__ import annotations

from typing import Any

from ocularseg.core.registry import Registry
from ocularseg.training.models.base import (
    InputSizeError,
    ModelConfigError,
    SegmentationModel,
)
from ocularseg.training.models.fcn import FCN
from ocularseg.training.models.unet import UNet
from ocularseg.training.models.unetr import UNETR

#: Registry name → network class (its constructor arguments are the options).
MODELS: Registry[SegmentationModel] = Registry(
    "model", {UNet.name: UNet, FCN.name: FCN, UNETR.name: UNETR}, ModelConfigError
)


def build_model(name: str, **kwargs: Any) -> SegmentationModel:
    """Build the network registered as ``name`` with constructor ``kwargs``.

    Args:
        name: A key of :data:`MODELS` (``"unet"``, ``"fcn"``, ``"unetr"``).
        **kwargs: Constructor arguments, e.g. a saved ``model.config()``.

    Raises:
        ModelConfigError: (a ``ConfigError``) for an unknown name or an unknown or invalid
            argument; the message lists the valid names / arguments.
    """
    return MODELS.build(name, **kwargs)


__all__ = [
    "FCN",
    "MODELS",
    "UNETR",
    "InputSizeError",
    "ModelConfigError",
    "SegmentationModel",
    "UNet",
    "build_model",
]
