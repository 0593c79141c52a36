"""FCN-8s (Long, Shelhamer & Darrell, 2015) on a small VGG-like encoder of our own.

Class scores are predicted at strides 32, 16 and 8, fused coarse-to-fine by learned
transposed convolutions, and the stride-8 fusion is upsampled ×8 to the input size.
Convolutions use same padding, so every upsampling is an exact ×2 / ×8 and no cropping
offsets (as in the Caffe original) are needed.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from ocularseg.core.labels import NUM_CLASSES
from ocularseg.training.models.base import (
    ConvNormAct,
    ModelConfigError,
    SegmentationModel,
    check_norm,
    check_positive,
    make_norm,
)

#: Convolutions per encoder stage (as in VGG-16) and stage width in units of base_channels.
_STAGE_CONVS: tuple[int, ...] = (2, 2, 3, 3, 3)
_STAGE_WIDTH: tuple[int, ...] = (1, 2, 4, 8, 8)


def _bilinear_kernel(channels: int, kernel_size: int) -> torch.Tensor:
    """Transposed-conv weight ``(C, C, k, k)`` that performs bilinear upsampling per channel.

    FCN initialises its learned upsampling as bilinear interpolation so training starts from
    a sensible coarse-to-fine fusion.
    """
    factor = (kernel_size + 1) // 2
    centre = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    og = torch.arange(kernel_size, dtype=torch.float32)
    filt_1d = 1 - (og - centre).abs() / factor
    filt = filt_1d[:, None] * filt_1d[None, :]
    weight = torch.zeros(channels, channels, kernel_size, kernel_size)
    weight[range(channels), range(channels)] = filt
    return weight


def _upsample(channels: int, factor: int) -> nn.ConvTranspose2d:
    """Learned ×``factor`` upsampling whose output is exactly ``factor`` × the input size."""
    # out = (in - 1) * s - 2p + k = s * in when k = 2s and p = s / 2.
    layer = nn.ConvTranspose2d(
        channels, channels, 2 * factor, stride=factor, padding=factor // 2, bias=False
    )
    with torch.no_grad():
        layer.weight.copy_(_bilinear_kernel(channels, 2 * factor))
    return layer


def _check_arguments(
    in_channels: int,
    num_classes: int,
    base_channels: int,
    head_channels: int | None,
    norm: str,
    dropout: float,
) -> None:
    """Raise ``ModelConfigError`` for an invalid :class:`FCN` argument."""
    check_positive("in_channels", in_channels)
    check_positive("num_classes", num_classes)
    check_positive("base_channels", base_channels)
    if head_channels is not None:
        check_positive("head_channels", head_channels)
    check_norm(norm)
    if not 0.0 <= float(dropout) < 1.0:
        raise ModelConfigError(f"dropout={dropout!r} must be in [0, 1)")


def _encoder(in_channels: int, base_channels: int, norm: str) -> tuple[nn.ModuleList, int]:
    """The five VGG-like stages (each ends in a ×2 max-pool) and their output width."""
    stages: list[nn.Module] = []
    channels = in_channels
    for n_convs, width_units in zip(_STAGE_CONVS, _STAGE_WIDTH, strict=True):
        width = base_channels * width_units
        layers: list[nn.Module] = []
        for _ in range(n_convs):
            layers.append(ConvNormAct(channels, width, norm))
            channels = width
        layers.append(nn.MaxPool2d(2))
        stages.append(nn.Sequential(*layers))
    return nn.ModuleList(stages), channels


def _fc_head(channels: int, head: int, norm: str, dropout: float) -> nn.Sequential:
    """The "fully connected" fc6/fc7 head: a 3×3 and a 1×1 conv, norm, ReLU, dropout."""
    return nn.Sequential(
        nn.Conv2d(channels, head, 3, padding=1, bias=norm == "none"),
        make_norm(norm, head),
        nn.ReLU(inplace=True),
        nn.Dropout2d(dropout),
        nn.Conv2d(head, head, 1, bias=norm == "none"),
        make_norm(norm, head),
        nn.ReLU(inplace=True),
        nn.Dropout2d(dropout),
    )


class FCN(SegmentationModel):
    """FCN-8s: VGG-like encoder (5 stages, stride 32), score fusion at strides 32/16/8.

    Stage widths are ``base_channels * (1, 2, 4, 8, 8)`` with (2, 2, 3, 3, 3) convolutions;
    the "fully connected" head is a 3×3 conv to ``head_channels`` and a 1×1 conv (the
    original's 7×7 / 4096-wide fc6 is far too heavy for 480×320 crops on CPU).

    Args:
        in_channels: Input channels: 3 (normalised RGB; the default) or 4 (RGB + the
            landmark-prior channel, which the bundled default model takes).
        num_classes: Output classes.
        base_channels: Width of the first stage.
        head_channels: Width of the fc6/fc7 head; ``None`` means ``16 * base_channels``.
        norm: ``"batch"``, ``"group"`` or ``"none"``.
        dropout: Channel dropout probability in the head (training only).
    """

    name = "fcn"

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = NUM_CLASSES,
        base_channels: int = 16,
        head_channels: int | None = None,
        norm: Literal["batch", "group", "none"] = "batch",
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        _check_arguments(in_channels, num_classes, base_channels, head_channels, norm, dropout)
        dropout = float(dropout)
        self._remember(locals())
        head = head_channels if head_channels is not None else 16 * base_channels
        self.stages, channels = _encoder(in_channels, base_channels, norm)
        self.fc = _fc_head(channels, head, norm, dropout)
        self.score_fr = nn.Conv2d(head, num_classes, 1)
        self.score_pool4 = nn.Conv2d(base_channels * _STAGE_WIDTH[3], num_classes, 1)
        self.score_pool3 = nn.Conv2d(base_channels * _STAGE_WIDTH[2], num_classes, 1)
        # FCN-8s zero-initialises the finer score layers so training starts as FCN-32s and
        # the skips learn only the refinement.
        for layer in (self.score_pool4, self.score_pool3):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        self.up2_fr = _upsample(num_classes, 2)
        self.up2_pool4 = _upsample(num_classes, 2)
        self.up8 = _upsample(num_classes, 8)

    @property
    def stride(self) -> int:
        return 2 ** len(_STAGE_CONVS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, num_classes, H, W)`` for input ``(B, in_channels, H, W)``.

        Raises:
            InputSizeError: (an ``InputError``) if H or W is not a multiple of 32.
        """
        self._check_input(x)
        feats = []
        y = x
        for stage in self.stages:
            y = stage(y)
            feats.append(y)
        pool3, pool4 = feats[2], feats[3]  # strides 8 and 16
        score = self.up2_fr(self.score_fr(self.fc(y)))  # stride 32 → 16
        score = self.up2_pool4(score + self.score_pool4(pool4))  # 16 → 8
        return self.up8(score + self.score_pool3(pool3))  # 8 → 1
