"""The calling convention every segmentation loss follows, and shared input checks.

The trainer calls every loss the same way::

    loss = criterion(logits, target, epoch=epoch, maps=maps)

* ``logits``: float tensor ``(B, C, *S)`` of raw network outputs (``S`` = ``(H, W)`` for eye
  crops); each loss applies softmax itself.
* ``target``: integer tensor ``(B, *S)`` of class ids in ``[0, C)``.
* ``epoch``: the 0-based epoch, used only by scheduled losses (see
  :func:`~ocularseg.training.losses.region_wise.alpha_schedule`); others ignore it.
* ``maps``: optional precomputed per-sample maps keyed by name (``"rrw"``, ``"boundary"``),
  each ``(B, C, *S)``. A loss lists the keys it uses in ``required_maps``; when a key is
  missing it computes the map from ``target`` on the CPU (correct, but slower than letting
  the dataset cache it).

The return value is a scalar tensor. Unless a loss says otherwise it is a mean over the
batch, so its size does not depend on the batch size.

Errors: a bad option (a name, a weight, a kernel that does not fit the image, a class count
the loss cannot use) is a :class:`~.options.LossConfigError`, rendered by the CLI in one
line. Tensors of the wrong dtype, rank or shape, or class ids outside ``[0, C)``, are
``TypeError`` / ``ValueError``: they come from code (the trainer, the dataset), not from a
config, like PyTorch's own errors for such calls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import torch
from torch import Tensor, nn

from ocularseg.training.losses.options import LossConfigError

#: Key of the rectified region-wise map in ``maps`` (see ``region_wise.rrw_map``).
MAP_RRW = "rrw"
#: Key of the boundary-loss distance map in ``maps`` (see ``region_wise.boundary_map``).
MAP_BOUNDARY = "boundary"

Maps = Mapping[str, torch.Tensor]


class SegmentationLoss(nn.Module):
    """Base class of the losses the trainer calls (see the module docstring).

    :meth:`forward` is written once, here: it runs :meth:`check` on the inputs and returns
    :meth:`compute`. Subclasses implement ``compute`` and, where their inputs differ from
    logits + class ids (partial labels) or their parts check them, override ``check``.
    """

    #: Keys of ``maps`` this loss reads; the dataset may precompute them.
    required_maps: ClassVar[tuple[str, ...]] = ()

    def forward(
        self,
        logits: torch.Tensor,
        target: torch.Tensor,
        *,
        epoch: int = 0,
        maps: Maps | None = None,
    ) -> torch.Tensor:
        """The loss of ``logits`` ``(B, C, *S)`` against ``target`` ``(B, *S)`` (a scalar)."""
        self.check(logits, target)
        return self.compute(logits, target, epoch, maps)

    def check(self, logits: Tensor, target: Tensor) -> None:
        """Raise ``TypeError``/``ValueError`` for inputs the loss cannot take."""
        check_logits_target(logits, target)

    def compute(self, logits: Tensor, target: Tensor, epoch: int, maps: Maps | None) -> Tensor:
        """The loss value, inputs already checked (see :meth:`forward`)."""
        raise NotImplementedError


class WeightedSum(SegmentationLoss):
    """``Σ_i w_i · L_i`` of segmentation losses, all called with the same arguments.

    Args:
        terms: ``(weight, loss)`` pairs; weights are plain floats.
    """

    def __init__(self, terms: Sequence[tuple[float, SegmentationLoss]]) -> None:
        super().__init__()
        if not terms:
            raise LossConfigError("WeightedSum needs at least one (weight, loss) term")
        for weight, loss in terms:
            if not isinstance(loss, SegmentationLoss):
                raise TypeError(f"term {loss!r} is not a SegmentationLoss")
            if not isinstance(weight, (int, float)) or isinstance(weight, bool):
                raise TypeError(f"weight {weight!r} must be a number")
        self.weights = [float(w) for w, _ in terms]
        self.terms = nn.ModuleList([loss for _, loss in terms])

    @property
    def required_maps(self) -> tuple[str, ...]:  # type: ignore[override]
        keys: list[str] = []
        for term in self.terms:
            keys.extend(k for k in term.required_maps if k not in keys)
        return tuple(keys)

    def check(self, logits: Tensor, target: Tensor) -> None:
        """The terms check their inputs."""

    def compute(self, logits: Tensor, target: Tensor, epoch: int, maps: Maps | None) -> Tensor:
        total = logits.new_zeros(())
        for weight, term in zip(self.weights, self.terms, strict=True):
            total = total + weight * term(logits, target, epoch=epoch, maps=maps)
        return total


def check_logits_target(logits: torch.Tensor, target: torch.Tensor) -> None:
    """Raise ``TypeError``/``ValueError`` unless ``logits`` (B, C, *S) fits ``target`` (B, *S).

    Checks dtypes, ranks, shapes and that every class id lies in ``[0, C)``.
    """
    if not isinstance(logits, torch.Tensor) or not isinstance(target, torch.Tensor):
        raise TypeError("logits and target must be torch tensors")
    if not logits.is_floating_point():
        raise TypeError(f"logits must be a floating-point tensor, got {logits.dtype}")
    if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
        raise TypeError(f"target must hold integer class ids, got {target.dtype}")
    if logits.dim() < 3:
        raise ValueError(
            f"logits must be (B, C, *S) with at least one spatial axis, got {tuple(logits.shape)}"
        )
    expected = (logits.shape[0], *logits.shape[2:])
    if tuple(target.shape) != expected:
        raise ValueError(
            f"target shape {tuple(target.shape)} does not match logits {tuple(logits.shape)}; "
            f"expected {expected} (class ids, no channel axis)"
        )
    num_classes = logits.shape[1]
    if num_classes < 2:
        raise ValueError(f"need at least 2 classes (softmax over C), got C={num_classes}")
    if target.numel():
        low, high = int(target.min()), int(target.max())
        if low < 0 or high >= num_classes:
            raise ValueError(f"target class ids span [{low}, {high}], outside [0, {num_classes})")


def one_hot(target: torch.Tensor, num_classes: int, dtype: torch.dtype) -> torch.Tensor:
    """``(B, *S)`` class ids → ``(B, C, *S)`` one-hot of ``dtype``."""
    # Scatter into a float tensor: F.one_hot would build an int64 (B, *S, C) copy first.
    out = torch.zeros(
        (target.shape[0], num_classes, *target.shape[1:]), dtype=dtype, device=target.device
    )
    return out.scatter_(1, target.long().unsqueeze(1), 1)
