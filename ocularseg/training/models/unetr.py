"""2-D UNETR (Hatamizadeh et al., 2022): a ViT encoder with a convolutional U-Net decoder.

The image is cut into ``patch_size``² patches (16×16 px: a 30×20 token grid for a 480×320
crop) and encoded by pre-norm transformer blocks. Token maps from four evenly spaced
blocks are reshaped to ``(B, hidden, H/16, W/16)`` and brought to strides 8, 4 and 2 by
stacks of ×2 deconvolution blocks, then fused by a decoder with the full-resolution
convolutional features of the input, as in the paper (which uses blocks 3, 6, 9, 12 of 12).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from ocularseg.core.labels import NUM_CLASSES
from ocularseg.training.models.base import (
    CROP_SIZE_HW,
    DoubleConv,
    ModelConfigError,
    SegmentationModel,
    check_norm,
    check_positive,
    make_norm,
)


class _Attention(nn.Module):
    """Multi-head self-attention on ``(B, N, D)`` tokens.

    Written with ``scaled_dot_product_attention`` rather than ``nn.MultiheadAttention``,
    whose inference fast path takes a different kernel from training and is harder to export.
    """

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, d // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, heads, N, d_head)
        y = F.scaled_dot_product_attention(q, k, v)
        return self.proj(y.transpose(1, 2).reshape(b, n, d))


class _Block(nn.Module):
    """Pre-norm transformer block: ``x + attn(ln(x))``, then ``x + mlp(ln(x))``."""

    def __init__(self, dim: int, num_heads: int, mlp_dim: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = _Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, mlp_dim),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(mlp_dim, dim),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class _Deconv(nn.Sequential):
    """×2 transposed conv then 3×3 conv-norm-ReLU: ``(B, c_in, h, w) → (B, c_out, 2h, 2w)``."""

    def __init__(self, in_channels: int, out_channels: int, norm: str) -> None:
        super().__init__(
            nn.ConvTranspose2d(in_channels, out_channels, 2, stride=2, bias=False),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=norm == "none"),
            make_norm(norm, out_channels),
            nn.ReLU(inplace=True),
        )


class _UpFuse(nn.Module):
    """×2 transposed conv, concatenate the skip, double conv (the UNETR decoder block)."""

    def __init__(self, in_channels: int, out_channels: int, norm: str) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, out_channels, 2, stride=2)
        self.conv = DoubleConv(2 * out_channels, out_channels, norm)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([self.up(x), skip], dim=1))


def skip_layer_indices(num_layers: int) -> tuple[int, int, int, int]:
    """1-based transformer blocks whose outputs feed the decoder: evenly spaced, last included.

    ``12 → (3, 6, 9, 12)`` as in the paper, ``8 → (2, 4, 6, 8)``, ``4 → (1, 2, 3, 4)``.
    """
    return tuple(math.ceil(num_layers * k / 4) for k in range(1, 5))  # type: ignore[return-value]


def _checked_arguments(arguments: dict[str, Any]) -> tuple[int, int]:
    """Raise ``ModelConfigError`` for an invalid :class:`UNETR` argument; return ``img_size``.

    Args:
        arguments: The constructor's ``locals()``.
    """
    for name in ("in_channels", "num_classes", "hidden_size", "num_heads", "mlp_ratio"):
        check_positive(name, arguments[name])
    check_positive("feature_size", arguments["feature_size"])
    check_positive("num_layers", arguments["num_layers"], minimum=4)
    check_norm(arguments["norm"])
    patch_size, hidden_size, num_heads = (
        arguments["patch_size"],
        arguments["hidden_size"],
        arguments["num_heads"],
    )
    if patch_size != 16:
        # The decoder's number of ×2 stages (3, 2, 1 for the skips) is tied to 16.
        raise ModelConfigError(f"patch_size={patch_size!r} is not supported; use 16")
    if hidden_size % num_heads:
        raise ModelConfigError(
            f"hidden_size={hidden_size} is not divisible by num_heads={num_heads}"
        )
    img_size = tuple(int(s) for s in arguments["img_size"])
    if len(img_size) != 2 or any(s <= 0 or s % patch_size for s in img_size):
        raise ModelConfigError(
            f"img_size={img_size!r} must be (height, width) in pixels, "
            f"both positive multiples of patch_size={patch_size}"
        )
    if not 0.0 <= float(arguments["dropout"]) < 1.0:
        raise ModelConfigError(f"dropout={arguments['dropout']!r} must be in [0, 1)")
    return img_size  # type: ignore[return-value]


class UNETR(SegmentationModel):
    """2-D UNETR for ``(B, in_channels, H, W)`` images with H, W multiples of 16.

    The learnable positional embedding is sized for ``img_size`` (the 480×320 crop by
    default). Inputs of another size (still multiples of ``patch_size``) are accepted: the
    embedding is bilinearly resampled to their token grid, which works but is not what the
    model was trained on, so keep to ``img_size`` for real use.

    Args:
        in_channels: Input channels: 3 (normalised RGB; the default) or 4 (RGB + the
            landmark-prior channel, which the bundled default model takes).
        num_classes: Output classes.
        img_size: ``(height, width)`` in pixels the positional embedding is sized for.
        patch_size: Patch side in pixels; must be 16 (four ×2 stages in the decoder).
        hidden_size: Token width ``D``.
        num_layers: Transformer blocks (≥ 4; four evenly spaced ones feed the decoder).
        num_heads: Attention heads; must divide ``hidden_size``.
        mlp_ratio: MLP width as a multiple of ``hidden_size``.
        feature_size: Decoder width at full resolution ``F``; strides 2/4/8 use 2F/4F/8F.
        norm: Decoder normalisation: ``"batch"``, ``"group"`` or ``"none"``.
        dropout: Dropout in the transformer MLPs and on the embedded tokens.
    """

    name = "unetr"

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = NUM_CLASSES,
        img_size: Sequence[int] = CROP_SIZE_HW,
        patch_size: int = 16,
        hidden_size: int = 192,
        num_layers: int = 8,
        num_heads: int = 3,
        mlp_ratio: int = 4,
        feature_size: int = 16,
        norm: Literal["batch", "group", "none"] = "batch",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        img_size = _checked_arguments(locals())
        dropout = float(dropout)
        self._remember(locals())
        self.patch_size = patch_size
        self.grid_hw = (img_size[0] // patch_size, img_size[1] // patch_size)
        self.skip_layers = skip_layer_indices(num_layers)

        self.patch_embed = nn.Conv2d(in_channels, hidden_size, patch_size, stride=patch_size)
        self.pos_embed = nn.Parameter(torch.zeros(1, hidden_size, *self.grid_hw))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self.embed_dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            _Block(hidden_size, num_heads, mlp_ratio * hidden_size, dropout)
            for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(hidden_size)
        self._build_decoder(in_channels, hidden_size, feature_size, norm)
        self.head = nn.Conv2d(feature_size, num_classes, 1)

    def _build_decoder(self, in_channels: int, hidden: int, f: int, norm: str) -> None:
        """Skip paths ``enc1``–``enc4`` and decoder blocks ``dec4``–``dec1`` (width ``f``)."""
        self.enc1 = DoubleConv(in_channels, f, norm)  # input, stride 1
        self.enc2 = nn.Sequential(  # z_a, stride 16 → 2
            _Deconv(hidden, 2 * f, norm),
            _Deconv(2 * f, 2 * f, norm),
            _Deconv(2 * f, 2 * f, norm),
        )
        self.enc3 = nn.Sequential(  # z_b, stride 16 → 4
            _Deconv(hidden, 4 * f, norm), _Deconv(4 * f, 4 * f, norm)
        )
        self.enc4 = _Deconv(hidden, 8 * f, norm)  # z_c, stride 16 → 8
        self.dec4 = _UpFuse(hidden, 8 * f, norm)  # z_d: 16 → 8, fused with enc4
        self.dec3 = _UpFuse(8 * f, 4 * f, norm)  # 8 → 4
        self.dec2 = _UpFuse(4 * f, 2 * f, norm)  # 4 → 2
        self.dec1 = _UpFuse(2 * f, f, norm)  # 2 → 1

    @property
    def stride(self) -> int:
        return self.patch_size

    def _pos_embed_for(self, grid_h: int, grid_w: int) -> torch.Tensor:
        """Positional embedding ``(1, D, grid_h, grid_w)``, resampled if the grid differs."""
        if (grid_h, grid_w) == self.grid_hw:
            return self.pos_embed
        return F.interpolate(
            self.pos_embed, size=(grid_h, grid_w), mode="bilinear", align_corners=False
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, num_classes, H, W)`` for input ``(B, in_channels, H, W)``.

        Raises:
            InputSizeError: (an ``InputError``) if H or W is not a multiple of 16.
        """
        self._check_input(x)
        grid_h, grid_w = x.shape[2] // self.patch_size, x.shape[3] // self.patch_size
        tokens = self.patch_embed(x) + self._pos_embed_for(grid_h, grid_w)  # (B, D, gh, gw)
        tokens = self.embed_dropout(tokens.flatten(2).transpose(1, 2))  # (B, N, D)

        def to_map(t: torch.Tensor) -> torch.Tensor:
            return t.transpose(1, 2).reshape(t.shape[0], t.shape[2], grid_h, grid_w)

        hidden: list[torch.Tensor] = []
        for i, block in enumerate(self.blocks, start=1):
            tokens = block(tokens)
            if i in self.skip_layers[:3]:
                hidden.append(to_map(tokens))
        z_d = to_map(self.norm(tokens))

        y = self.dec4(z_d, self.enc4(hidden[2]))
        y = self.dec3(y, self.enc3(hidden[1]))
        y = self.dec2(y, self.enc2(hidden[0]))
        y = self.dec1(y, self.enc1(x))
        return self.head(y)
