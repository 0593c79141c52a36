"""Pixel-level baselines: cross-entropy, soft Dice and focal loss (all take logits).

Definitions follow ``LOSSES.md``; each applies softmax over the class axis itself.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from ocularseg.training.losses.base import (
    Maps,
    SegmentationLoss,
    check_logits_target,
    one_hot,
)


class CrossEntropyLoss(SegmentationLoss):
    """Cross-entropy ``mean over B·pixels of −Σ_c Y_c log p_c``, ``p = softmax(logits)``.

    Computed with ``log_softmax`` (stable for confident networks). The reference code of
    the region-wise paper uses ``log(p + 1e-15)``; the two agree to ~1e-15 relative unless
    a true-class probability is below ~1e-12.

    Args:
        class_weights: optional per-class weights ``(C,)``; the mean is then weighted
            (``Σ w_y · CE / Σ w_y`` over pixels, as ``torch.nn.functional.cross_entropy``).
            Rare classes such as the caruncle (≈1 % of the eye opening) are otherwise
            learned last or not at all.

    Shapes: logits ``(B, C, *S)``, target ``(B, *S)`` int. Returns a scalar.
    """

    def __init__(self, class_weights: tuple[float, ...] | None = None) -> None:
        super().__init__()
        if class_weights is not None:
            weights = torch.as_tensor(class_weights, dtype=torch.float32)
            if weights.ndim != 1 or (weights < 0).any() or not weights.sum() > 0:
                raise ValueError(f"class_weights must be non-negative numbers, got {class_weights}")
            self.register_buffer("class_weights", weights)
        else:
            self.class_weights = None

    def forward(
        self,
        logits: torch.Tensor,
        target: torch.Tensor,
        *,
        epoch: int = 0,
        maps: Maps | None = None,
    ) -> torch.Tensor:
        check_logits_target(logits, target)
        weight = None
        if self.class_weights is not None:
            if self.class_weights.numel() != logits.shape[1]:
                raise ValueError(
                    f"{self.class_weights.numel()} class weights for {logits.shape[1]} classes"
                )
            weight = self.class_weights.to(device=logits.device, dtype=logits.dtype)
        return F.cross_entropy(logits, target.long(), weight=weight, reduction="mean")


class DiceLoss(SegmentationLoss):
    """Soft Dice ``1 − mean_{b,c} 2 Σ(p·Y) / (Σp + ΣY + eps)`` from softmax probabilities.

    Sums run over the spatial axes of each sample (per-sample Dice, as in the region-wise
    paper's code); with ``batch_dice`` they also run over the batch, so a class absent
    from one image does not count as a Dice of 0 for that image. The mean runs over the
    batch (unless ``batch_dice``) and the included classes.

    Args:
        include_background: Whether class 0 takes part in the mean over classes.
        eps: Added to the denominator; ``1e-6`` as in the reference code.
        batch_dice: Pool the sums over the batch before dividing.

    Shapes: logits ``(B, C, *S)``, target ``(B, *S)`` int. Returns a scalar in [0, 1].
    """

    def __init__(
        self, include_background: bool = True, eps: float = 1e-6, batch_dice: bool = False
    ) -> None:
        super().__init__()
        if not isinstance(include_background, bool):
            raise TypeError(f"include_background must be a bool, got {include_background!r}")
        if not eps >= 0:
            raise ValueError(f"eps must be ≥ 0, got {eps}")
        self.include_background = include_background
        self.eps = float(eps)
        self.batch_dice = bool(batch_dice)

    def forward(
        self,
        logits: torch.Tensor,
        target: torch.Tensor,
        *,
        epoch: int = 0,
        maps: Maps | None = None,
    ) -> torch.Tensor:
        check_logits_target(logits, target)
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

    Args:
        gamma: Focusing exponent γ ≥ 0 (2 in the region-wise paper's code).
        alpha: Overall weight α > 0.

    Shapes: logits ``(B, C, *S)``, target ``(B, *S)`` int. Returns a scalar.
    """

    def __init__(self, gamma: float = 2.0, alpha: float = 1.0) -> None:
        super().__init__()
        if not gamma >= 0:
            raise ValueError(f"gamma must be ≥ 0, got {gamma}")
        if not alpha > 0:
            raise ValueError(f"alpha must be > 0, got {alpha}")
        self.gamma = float(gamma)
        self.alpha = float(alpha)

    def forward(
        self,
        logits: torch.Tensor,
        target: torch.Tensor,
        *,
        epoch: int = 0,
        maps: Maps | None = None,
    ) -> torch.Tensor:
        check_logits_target(logits, target)
        # Only the true class contributes, so gather it instead of building the one-hot.
        log_p = torch.log_softmax(logits, dim=1).gather(1, target.long().unsqueeze(1))
        weight = (1 - log_p.exp()).pow(self.gamma)
        return -self.alpha * torch.mean(weight * log_p)
