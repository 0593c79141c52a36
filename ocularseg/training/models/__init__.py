"""Segmentation networks: ``(B, 3, H, W)`` normalised RGB → ``(B, num_classes, H, W)`` logits.

Networks are chosen by name from :data:`MODELS`; config never imports a class by string.
A checkpoint stores ``model.config()`` beside the safetensors weights so
``build_model(name, **config)`` rebuilds the same network (see :mod:`.io`).
"""

from __future__ import annotations

import inspect
from typing import Any

from ocularseg.training.models.base import (
    InputSizeError,
    ModelConfigError,
    SegmentationModel,
)
from ocularseg.training.models.fcn import FCN
from ocularseg.training.models.unet import UNet
from ocularseg.training.models.unetr import UNETR

#: Registry name → network class.
MODELS: dict[str, type[SegmentationModel]] = {
    UNet.name: UNet,
    FCN.name: FCN,
    UNETR.name: UNETR,
}


def build_model(name: str, **kwargs: Any) -> SegmentationModel:
    """Build the network registered as ``name`` with constructor ``kwargs``.

    Args:
        name: A key of :data:`MODELS` (``"unet"``, ``"fcn"``, ``"unetr"``).
        **kwargs: Constructor arguments, e.g. a saved ``model.config()``.

    Raises:
        ModelConfigError: (a ``ValueError``) for an unknown name or an unknown or invalid
            argument; the message lists the valid names / arguments.
    """
    try:
        cls = MODELS[name]
    except (KeyError, TypeError):
        raise ModelConfigError(
            f"unknown model {name!r}; valid models: {', '.join(sorted(MODELS))}"
        ) from None
    # A misspelt key must be an error that names the valid ones, not a silent default.
    valid = [p for p in inspect.signature(cls).parameters if p != "self"]
    unknown = sorted(set(kwargs) - set(valid))
    if unknown:
        raise ModelConfigError(
            f"unknown argument(s) {', '.join(unknown)} for model {name!r}; "
            f"valid arguments: {', '.join(valid)}"
        )
    return cls(**kwargs)


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
