"""Projected pooling loss (Fu et al., SPIE Medical Imaging 2023 / JMI 2024).

A soft topology term: max-pooling with several kernel sizes counts how many cells of
each scale a structure occupies; the loss is the mean absolute difference of those
counts between prediction and reference. Exactly as ``docs/losses.md``:

1. Planes. 3-D ``(B, C, X, Y, Z)``: plane 0 = max over Z, plane 1 = max over X,
   plane 2 = max over Y. 2-D ``(B, C, H, W)``: the image itself.
2. For each kernel ``k`` (stride ``k``, no padding, trailing rows/columns dropped):
   ``T_k,p[b, c] = Σ_ij MaxPool_k(plane_p)[b, c, i, j]``.
3. ``L = mean over k, planes, channels c ≥ start_channel and batch of
   |T_k,p(P)[b, c] − T_k,p(G)[b, c]|``.

The pooling and the projections use PyTorch's max-pool kernels, as the published code
does, so gradients at ties go to the same single element (the first maximum).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

from ocularseg.training.losses.base import Maps, SegmentationLoss, one_hot
from ocularseg.training.losses.options import (
    DEFAULT_PP_KERNELS,
    DEFAULT_START_CHANNEL,
    LossConfigError,
    ProjectedPoolingOptions,
    checked_kernels,
)


def _planes(tensor: torch.Tensor) -> list[torch.Tensor]:
    """The 2-D planes of ``tensor``: itself for 4-D, three max projections for 5-D."""
    if tensor.dim() == 4:
        return [tensor]
    x, y, z = tensor.shape[2:]
    # max_pool3d with a full-axis window is the projection the published code uses; it
    # breaks ties like the 2-D pooling (first maximum), unlike torch.amax, which splits
    # the gradient among ties.
    return [
        F.max_pool3d(tensor, (1, 1, z), stride=1).squeeze(4),
        F.max_pool3d(tensor, (x, 1, 1), stride=1).squeeze(2),
        F.max_pool3d(tensor, (1, y, 1), stride=1).squeeze(3),
    ]


def _check_pair(input: Tensor, target: Tensor) -> None:
    """Raise ``TypeError``/``ValueError`` unless ``input`` and ``target`` are one 4-/5-D shape."""
    if not isinstance(input, torch.Tensor) or not isinstance(target, torch.Tensor):
        raise TypeError("input and target must be torch tensors")
    if not input.is_floating_point():
        raise TypeError(
            f"input must be a floating-point tensor of probabilities, got {input.dtype}"
        )
    if input.dim() not in (4, 5):
        raise ValueError(
            f"input must be (B, C, H, W) or (B, C, X, Y, Z), got shape {tuple(input.shape)}"
        )
    if input.shape != target.shape:
        raise ValueError(
            f"input {tuple(input.shape)} and target {tuple(target.shape)} must have the same "
            "shape (pass the target one-hot)"
        )


def _checked_start(input: Tensor, start_channel: int) -> int:
    """``start_channel`` if it leaves at least one channel of ``input`` to compare."""
    if isinstance(start_channel, bool) or not isinstance(start_channel, int):
        raise LossConfigError(f"start_channel must be an int, got {start_channel!r}")
    if not 0 <= start_channel < input.shape[1]:
        raise LossConfigError(
            f"start_channel={start_channel} leaves no channel of {input.shape[1]} to compare"
        )
    return start_channel


def projected_pooling_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    kernels: Sequence[int] = DEFAULT_PP_KERNELS,
    start_channel: int = DEFAULT_START_CHANNEL,
) -> torch.Tensor:
    """Projected pooling loss between probabilities and a one-hot reference.

    No softmax is applied: the caller normalises ``input`` (softmax, sigmoid, or even a
    binary map) and passes ``target`` as one-hot (or binary, for a single channel).

    Args:
        input: Probabilities ``(B, C, H, W)`` or ``(B, C, X, Y, Z)``.
        target: Reference of the same shape (one-hot, float).
        kernels: Max-pool kernel sizes; stride = kernel.
        start_channel: First channel that takes part (1 skips the background).

    Returns:
        Scalar: the mean over kernels, planes, channels ``≥ start_channel`` and batch of
        ``|T(input) − T(target)|`` (a count of pooled cells, not normalised).

    Raises:
        TypeError: for non-tensors or non-floating ``input``.
        ValueError: for mismatched shapes or a rank other than 4 or 5.
        LossConfigError: for bad kernels, an empty channel range, or a spatial axis
            smaller than the largest kernel.
    """
    _check_pair(input, target)
    first = _checked_start(input, start_channel)
    kernels = checked_kernels(kernels, input.shape[2:])
    target = target.to(input.dtype)
    in_planes, tg_planes = _planes(input), _planes(target)
    per_kernel = []
    for k in kernels:
        per_plane = []
        for pred_plane, ref_plane in zip(in_planes, tg_planes, strict=True):
            pred_count = F.max_pool2d(pred_plane[:, first:], k, stride=k).sum((-2, -1))
            ref_count = F.max_pool2d(ref_plane[:, first:], k, stride=k).sum((-2, -1))
            # (C', B) order, as the published code stacks its per-channel differences.
            per_plane.append(torch.abs(pred_count - ref_count).t().mean())
        per_kernel.append(torch.stack(per_plane).mean())
    return torch.stack(per_kernel).mean()


def _parsed(
    options: ProjectedPoolingOptions | None, values: dict[str, Any]
) -> tuple[ProjectedPoolingOptions, tuple[int, ...], int]:
    """The validated options (``values`` on top of ``options``), their kernels and start."""
    parsed = ProjectedPoolingOptions.parse(options, **values)
    return parsed, parsed.kernels, parsed.start_channel


class ProjectedPoolingLoss(torch.nn.Module):
    """Module form of :func:`projected_pooling_loss` (probabilities and one-hot in).

    Options: :class:`~.options.ProjectedPoolingOptions` (or its fields as keywords).
    """

    def __init__(self, options: ProjectedPoolingOptions | None = None, **values: Any) -> None:
        super().__init__()
        self.options, self.kernels, self.start_channel = _parsed(options, values)

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """See :func:`projected_pooling_loss`."""
        return projected_pooling_loss(input, target, self.kernels, self.start_channel)


class SoftmaxProjectedPoolingLoss(SegmentationLoss):
    """Projected pooling on ``softmax(logits)`` against the one-hot of ``target``.

    The trainer-facing form (logits and integer ids in; see ``base``). The paper adds it
    to a pixel loss: ``L = L_topo + λ·L_dice`` (see the registry's ``"dice+pp"``).
    Options: :class:`~.options.ProjectedPoolingOptions` (or its fields as keywords).
    """

    def __init__(self, options: ProjectedPoolingOptions | None = None, **values: Any) -> None:
        super().__init__()
        self.options, self.kernels, self.start_channel = _parsed(options, values)

    def compute(self, logits: Tensor, target: Tensor, epoch: int, maps: Maps | None) -> Tensor:
        probs = torch.softmax(logits, dim=1)
        truth = one_hot(target, logits.shape[1], probs.dtype)
        return projected_pooling_loss(probs, truth, self.kernels, self.start_channel)
