"""U-Net (Ronneberger et al., 2015) with same-padding convolutions.

Same padding keeps the output at the input resolution, so no cropping of skips is needed;
the price is that H and W must be multiples of ``stem_stride * 2**depth``.

For CPU speed the network can start with a strided stem (``stem_stride`` 2 or 4: the U runs
at 1/2 or 1/4 of the crop's resolution, where most of the classic U-Net's time went) and
take explicit per-level ``widths``; a small full-resolution ``refine`` branch (a few 3×3
convolutions on the input — RGB, and the landmark prior when there is one — concatenated
with the upsampled features) puts the class boundaries back on crop pixels, so the lid
margin is not quantised to the stem's stride.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

from ocularseg.core.labels import NUM_CLASSES
from ocularseg.training.models.base import (
    ConvNormAct,
    DoubleConv,
    ModelConfigError,
    SegmentationModel,
    check_norm,
    check_positive,
)

UP_MODES: tuple[str, ...] = ("transpose", "bilinear")


class _Up(nn.Module):
    """Upsample ×2, concatenate the skip, double conv: ``(B, 2c, h, w) → (B, c, 2h, 2w)``."""

    def __init__(self, in_channels: int, out_channels: int, norm: str, up: str) -> None:
        super().__init__()
        if up == "transpose":
            self.up: nn.Module = nn.ConvTranspose2d(in_channels, out_channels, 2, stride=2)
        else:
            # Bilinear + 1×1 conv avoids the checkerboard artefacts of transposed convs.
            self.up = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                nn.Conv2d(in_channels, out_channels, 1),
            )
        self.conv = DoubleConv(2 * out_channels, out_channels, norm)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([skip, self.up(x)], dim=1))


class UNet(SegmentationModel):
    """U-Net: double-conv blocks, max-pool down, learned ×2 up, skip concatenation.

    Widths double at each level: ``base_channels * 2**i`` for level ``i`` in ``0..depth``
    (the bottleneck is level ``depth``) unless ``widths`` gives them explicitly. With the
    defaults (16, depth 4, stem stride 1) it has ~1.94 M parameters.

    Args:
        in_channels: Input channels: 3 (normalised RGB; the default) or 4 (RGB + the
            landmark-prior channel, which the bundled default model takes).
        num_classes: Output classes (5: background, sclera, iris, pupil, caruncle).
        base_channels: Width of the first level (ignored when ``widths`` is given).
        depth: Number of ×2 down-samplings inside the U (ignored when ``widths`` is given).
        norm: ``"batch"``, ``"group"`` or ``"none"``.
        up: ``"transpose"`` (2×2 transposed conv) or ``"bilinear"`` (bilinear + 1×1 conv).
        widths: Explicit channel widths per level, ``depth + 1`` of them.
        stem_stride: 1 (classic), 2 or 4: a strided 3×3 stem shrinks the input first and the
            logits are upsampled bilinearly back to the input size.
        refine: Channels of the full-resolution refinement branch (0 = none; only used
            with ``stem_stride`` > 1).
    """

    name = "unet"

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = NUM_CLASSES,
        base_channels: int = 16,
        depth: int = 4,
        norm: Literal["batch", "group", "none"] = "batch",
        up: Literal["transpose", "bilinear"] = "transpose",
        widths: Sequence[int] | None = None,
        stem_stride: int = 1,
        refine: int = 0,
    ) -> None:
        super().__init__()
        widths = _checked_widths(
            in_channels, num_classes, base_channels, depth, norm, up, widths, stem_stride, refine
        )
        depth = len(widths) - 1
        widths = list(widths)
        self._remember(locals())
        self.depth = depth
        self.stem_stride = stem_stride
        self.stem = _stem(in_channels, widths[0], norm, stem_stride)
        self.pool = nn.MaxPool2d(2)
        self.down = nn.ModuleList(DoubleConv(widths[i], widths[i + 1], norm) for i in range(depth))
        self.up = nn.ModuleList(
            _Up(widths[i + 1], widths[i], norm, up) for i in reversed(range(depth))
        )
        self.refine_input: nn.Module | None = None
        if stem_stride > 1 and refine > 0:
            self.refine_input = ConvNormAct(in_channels, refine, norm)
            self.refine_mix = ConvNormAct(widths[0] + refine, refine, norm)
            self.head = nn.Conv2d(refine, num_classes, 1)
        else:
            self.head = nn.Conv2d(widths[0], num_classes, 1)

    @property
    def stride(self) -> int:
        return self.stem_stride * 2**self.depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, num_classes, H, W)`` for input ``(B, in_channels, H, W)``.

        Raises:
            InputSizeError: (an ``InputError``) if H or W is not a multiple of the stride.
        """
        self._check_input(x)
        skips = [self.stem(x)]
        for block in self.down:
            skips.append(block(self.pool(skips[-1])))
        y = skips.pop()
        for block in self.up:
            y = block(y, skips.pop())
        if self.stem_stride == 1:
            return self.head(y)
        size = (int(x.shape[2]), int(x.shape[3]))
        if self.refine_input is None:
            return F.interpolate(self.head(y), size=size, mode="bilinear", align_corners=False)
        y = F.interpolate(y, size=size, mode="bilinear", align_corners=False)
        return self.head(self.refine_mix(torch.cat([y, self.refine_input(x)], dim=1)))


def _checked_widths(
    in_channels: int,
    num_classes: int,
    base_channels: int,
    depth: int,
    norm: str,
    up: str,
    widths: Sequence[int] | None,
    stem_stride: int,
    refine: int,
) -> list[int]:
    """Validate :class:`UNet`'s arguments; return the per-level widths (``depth + 1``)."""
    check_positive("in_channels", in_channels)
    check_positive("num_classes", num_classes)
    check_positive("base_channels", base_channels)
    check_positive("depth", depth)
    check_norm(norm)
    if up not in UP_MODES:
        raise ModelConfigError(f"up {up!r} is not one of {', '.join(UP_MODES)}")
    if stem_stride not in (1, 2, 4):
        raise ModelConfigError(f"stem_stride={stem_stride!r} must be 1, 2 or 4")
    check_positive("refine", refine, minimum=0)
    if widths is None:
        return [base_channels * 2**i for i in range(depth + 1)]
    checked = [check_positive("widths[i]", int(w)) for w in widths]
    if len(checked) < 2:
        raise ModelConfigError(f"widths needs at least 2 levels, got {checked}")
    return checked


def _stem(in_channels: int, width: int, norm: str, stem_stride: int) -> nn.Module:
    """The first level: a double conv, or a strided stem that shrinks the input first."""
    if stem_stride == 1:
        return DoubleConv(in_channels, width, norm)
    # Strided stem: the first conv (and, at stride 4, a second) halves the size, so the U's
    # first level runs on 1/stride² of the pixels.
    layers: list[nn.Module] = [ConvNormAct(in_channels, width, norm, stride=2)]
    if stem_stride == 4:
        layers.append(ConvNormAct(width, width, norm, stride=2))
    layers.append(ConvNormAct(width, width, norm))
    return nn.Sequential(*layers)
