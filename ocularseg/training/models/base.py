"""Building blocks shared by the segmentation networks.

Every network maps a ``(B, in_channels, H, W)`` float tensor — normalised RGB, plus the
landmark-prior channel when ``in_channels`` is 4, as in the bundled default model — of the
480×320 eye crop by default to ``(B, num_classes, H, W)`` logits at the same resolution.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from ocularseg.core.errors import ConfigError, InputError
from ocularseg.core.registry import option_names

NormKind = Literal["batch", "group", "none"]
NORM_KINDS: tuple[str, ...] = ("batch", "group", "none")

#: The crop every bundled model is trained on: (height, width) in pixels.
CROP_SIZE_HW: tuple[int, int] = (320, 480)


class ModelConfigError(ConfigError):
    """A model name or constructor argument is invalid."""


class InputSizeError(InputError):
    """An input tensor's shape does not fit the network (wrong rank, channels or size)."""


def check_norm(norm: str) -> str:
    """Return ``norm`` if it names a known normalisation, else raise ``ModelConfigError``."""
    if norm not in NORM_KINDS:
        raise ModelConfigError(f"norm {norm!r} is not one of {', '.join(NORM_KINDS)}")
    return norm


def check_positive(name: str, value: int, minimum: int = 1) -> int:
    """Return ``value`` if it is an int ≥ ``minimum``, else raise ``ModelConfigError``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ModelConfigError(f"{name}={value!r} must be an integer ≥ {minimum}")
    return value


def make_norm(norm: str, channels: int) -> nn.Module:
    """Normalisation layer over ``channels`` feature maps.

    Group norm uses the largest group count ≤ 8 that divides ``channels``, so it works
    for any width (batch statistics are unreliable at the batch sizes of CPU training).
    """
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "group":
        groups = max(g for g in range(1, 9) if channels % g == 0)
        return nn.GroupNorm(groups, channels)
    return nn.Identity()


class ConvNormAct(nn.Sequential):
    """3×3 convolution (same padding) → normalisation → ReLU.

    ``(B, in, H, W) → (B, out, H / stride, W / stride)``. The convolution carries a bias
    only when there is no normalisation after it, since a norm layer's shift makes the
    bias redundant.
    """

    def __init__(self, in_channels: int, out_channels: int, norm: str, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=norm == "none"),
            make_norm(norm, out_channels),
            nn.ReLU(inplace=True),
        )


class DoubleConv(nn.Sequential):
    """Two :class:`ConvNormAct` layers, the U-Net block: ``(B, in, H, W) → (B, out, H, W)``."""

    def __init__(self, in_channels: int, out_channels: int, norm: str) -> None:
        super().__init__(
            ConvNormAct(in_channels, out_channels, norm),
            ConvNormAct(out_channels, out_channels, norm),
        )


def check_input(x: torch.Tensor, in_channels: int, multiple: int, model_name: str) -> None:
    """Raise ``InputSizeError`` unless ``x`` is ``(B, in_channels, H, W)``, H and W multiples.

    Args:
        x: Input batch, ``(B, C, H, W)``.
        in_channels: Channels the network expects.
        multiple: Total stride of the network; H and W (pixels) must be multiples of it.
        model_name: Used in the message.
    """
    if x.dim() != 4:
        raise InputSizeError(
            f"{model_name} expects a (B, C, H, W) tensor, got shape {tuple(x.shape)}"
        )
    if x.shape[1] != in_channels:
        raise InputSizeError(
            f"{model_name} expects {in_channels} input channels, got {x.shape[1]} "
            f"(shape {tuple(x.shape)})"
        )
    height, width = int(x.shape[2]), int(x.shape[3])
    if height % multiple or width % multiple or height == 0 or width == 0:
        raise InputSizeError(
            f"{model_name} input {width}×{height} px (W×H) is not a multiple of {multiple} "
            f"in both sides; resize or pad to a multiple of {multiple} (e.g. 480×320)"
        )


class SegmentationModel(nn.Module):
    """Base class: remembers the constructor arguments so a checkpoint can rebuild the model.

    Subclasses call ``self._remember(locals())`` once their arguments are checked.
    """

    #: Registry name, set by each subclass.
    name: str = ""
    in_channels: int
    num_classes: int

    def _remember(self, arguments: dict[str, Any]) -> None:
        """Keep the constructor arguments (``locals()`` of ``__init__``, values normalised).

        Only the names of the constructor's parameters are kept, in their order; also sets
        ``in_channels`` and ``num_classes``.
        """
        self._config = {name: arguments[name] for name in option_names(type(self))}
        self.in_channels = int(arguments["in_channels"])
        self.num_classes = int(arguments["num_classes"])

    def config(self) -> dict[str, Any]:
        """Constructor kwargs (JSON-friendly): ``type(self)(**self.config())`` rebuilds it."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self._config.items()}

    @property
    def stride(self) -> int:
        """Total stride: input height and width (pixels) must be multiples of this."""
        raise NotImplementedError

    def _check_input(self, x: torch.Tensor) -> None:
        """:func:`check_input` against this network's channels and stride."""
        check_input(x, self.in_channels, self.stride, type(self).__name__)

    def num_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
