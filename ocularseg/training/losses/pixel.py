"""Pixel-level baselines: cross-entropy, soft Dice and focal loss (all take logits).

Definitions follow ``docs/losses.md``; each applies softmax over the class axis itself. Each
takes its options model of :mod:`.options` (or that model's fields as keywords).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

from ocularseg.training.losses.base import Maps, SegmentationLoss, one_hot
from ocularseg.training.losses.options import (
    CEOptions,
    DiceOptions,
    FocalOptions,
    LossConfigError,
)


class CrossEntropyLoss(SegmentationLoss):
    """Cross-entropy ``mean over B·pixels of −Σ_c Y_c log p_c``, ``p = softmax(logits)``.

    Computed with ``log_softmax`` (stable for confident networks). The reference code of
    the region-wise paper uses ``log(p + 1e-15)``; the two agree unless a true-class
    probability is vanishingly small.

    With ``class_weights`` (:class:`~.options.CEOptions`) the mean is weighted
    (``Σ w_y · CE / Σ w_y`` over pixels, as ``torch.nn.functional.cross_entropy``).

    Shapes: logits ``(B, C, *S)``, target ``(B, *S)`` int. Returns a scalar.
    """

    def __init__(self, options: CEOptions | None = None, **values: Any) -> None:
        super().__init__()
        self.options = CEOptions.parse(options, **values)
        weights = self.options.class_weights
        if weights is not None:
            self.register_buffer("class_weights", torch.as_tensor(weights, dtype=torch.float32))
        else:
            self.class_weights = None

    def compute(self, logits: Tensor, target: Tensor, epoch: int, maps: Maps | None) -> Tensor:
        weight = None
        if self.class_weights is not None:
            if self.class_weights.numel() != logits.shape[1]:
                raise LossConfigError(
                    f"{self.class_weights.numel()} class weights for {logits.shape[1]} classes"
                )
            weight = self.class_weights.to(device=logits.device, dtype=logits.dtype)
        return F.cross_entropy(logits, target.long(), weight=weight, reduction="mean")


class DiceLoss(SegmentationLoss):
    """Soft Dice ``1 − mean_{b,c} 2 Σ(p·Y) / (Σp + ΣY + eps)`` from softmax probabilities.

    Sums run over the spatial axes of each sample (per-sample Dice, as in the region-wise
    paper's code); with ``batch_dice`` they also run over the batch, so a class absent
    from one image does not count as a Dice of 0 for that image. The mean runs over the
    batch (unless ``batch_dice``) and the included classes (``include_background``).
    Options: :class:`~.options.DiceOptions`.

    Shapes: logits ``(B, C, *S)``, target ``(B, *S)`` int. Returns a scalar in [0, 1].
    """

    def __init__(self, options: DiceOptions | None = None, **values: Any) -> None:
        super().__init__()
        self.options = DiceOptions.parse(options, **values)
        self.include_background = self.options.include_background
        self.eps = self.options.eps
        self.batch_dice = self.options.batch_dice

    def compute(self, logits: Tensor, target: Tensor, epoch: int, maps: Maps | None) -> Tensor:
        probs = torch.softmax(logits, dim=1)
        truth = one_hot(target, logits.shape[1], probs.dtype)
        if not self.include_background:
            probs, truth = probs[:, 1:], truth[:, 1:]
        axes = tuple(range(2, probs.dim()))
        if self.batch_dice:
            axes = (0, *axes)
        numerator = 2 * torch.sum(probs * truth, dim=axes)
        denominator = torch.sum(probs + truth, dim=axes)
        return 1 - torch.mean(numerator / (denominator + self.eps))


class FocalLoss(SegmentationLoss):
    """Focal loss ``mean over B·pixels of −α Σ_c Y_c (1 − p_c)^γ log p_c``.

    Options: :class:`~.options.FocalOptions` (γ = 2 as in the region-wise paper's code).

    Shapes: logits ``(B, C, *S)``, target ``(B, *S)`` int. Returns a scalar.
    """

    def __init__(self, options: FocalOptions | None = None, **values: Any) -> None:
        super().__init__()
        self.options = FocalOptions.parse(options, **values)
        self.gamma = self.options.gamma
        self.alpha = self.options.alpha

    def compute(self, logits: Tensor, target: Tensor, epoch: int, maps: Maps | None) -> Tensor:
        # Only the true class contributes, so gather it instead of building the one-hot.
        log_p = torch.log_softmax(logits, dim=1).gather(1, target.long().unsqueeze(1))
        weight = (1 - log_p.exp()).pow(self.gamma)
        return -self.alpha * torch.mean(weight * log_p)
