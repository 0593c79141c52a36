"""U-Net (Ronneberger et al., 2015) with same-padding convolutions.

Same padding keeps the output at the input resolution, so no cropping of skips is needed;
the price is that H and W must be multiples of ``2**depth``.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from ocularseg.core.labels import NUM_CLASSES
from ocularseg.training.models.base import (
    DoubleConv,
    ModelConfigError,
    SegmentationModel,
    check_input,
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
    (the bottleneck is level ``depth``). With the defaults (16, depth 4) it has ~1.94 M
    parameters.

    Args:
        in_channels: Input channels (3 for RGB).
        num_classes: Output classes (5: background, sclera, iris, pupil, caruncle).
        base_channels: Width of the first level.
        depth: Number of ×2 down-samplings; the total stride is ``2**depth``.
        norm: ``"batch"``, ``"group"`` or ``"none"``.
        up: ``"transpose"`` (2×2 transposed conv) or ``"bilinear"`` (bilinear + 1×1 conv).
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
    ) -> None:
        super().__init__()
        check_positive("in_channels", in_channels)
        check_positive("num_classes", num_classes)
        check_positive("base_channels", base_channels)
        check_positive("depth", depth)
        check_norm(norm)
        if up not in UP_MODES:
            raise ModelConfigError(f"up {up!r} is not one of {', '.join(UP_MODES)}")
        self._remember(
            in_channels=in_channels,
            num_classes=num_classes,
            base_channels=base_channels,
            depth=depth,
            norm=norm,
            up=up,
        )
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.depth = depth

        widths = [base_channels * 2**i for i in range(depth + 1)]
        self.stem = DoubleConv(in_channels, widths[0], norm)
        self.pool = nn.MaxPool2d(2)
        self.down = nn.ModuleList(DoubleConv(widths[i], widths[i + 1], norm) for i in range(depth))
        self.up = nn.ModuleList(
            _Up(widths[i + 1], widths[i], norm, up) for i in reversed(range(depth))
        )
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    @property
    def stride(self) -> int:
        return 2**self.depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, num_classes, H, W)`` for input ``(B, in_channels, H, W)``.

        Raises:
            InputSizeError: (a ``ValueError``) if H or W is not a multiple of ``2**depth``.
        """
        check_input(x, self.in_channels, self.stride, "UNet")
        skips = [self.stem(x)]
        for block in self.down:
            skips.append(block(self.pool(skips[-1])))
        y = skips.pop()
        for block in self.up:
            y = block(y, skips.pop())
        return self.head(y)
