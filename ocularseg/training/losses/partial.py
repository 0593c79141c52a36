"""Losses for batches that mix full labels (phantoms) and partial, set-valued silver labels.

A silver mask of a real eye (``ocularseg.realdata``) says, per pixel, *which set of
classes* is right: background, "sclera or caruncle", "iris or pupil", or nothing (ignored);
see :data:`~ocularseg.core.labels.LABEL_SETS`. A full label is the one-class set.

Partial cross-entropy (the standard partial-label likelihood)::

    L = Σ_pixels w(t) · −log Σ_{c ∈ A(t)} p_c  /  Σ_pixels w(t)

over pixels whose set ``A(t)`` is not empty. On full labels it is exactly the (weighted)
cross-entropy. The network is free to split the probability inside a set, so on real eyes
it is told where the opening and the iris disc are, and the phantoms teach it the rest (the
pupil inside the disc, the caruncle at the inner corner). The weight of a set is the
smallest weight of its classes, so the caruncle's ×8 of the phantoms does not spill over to
every real "sclera or caruncle" pixel.

Partial TIU keeps the paper's three terms:

* pixel term: partial cross-entropy;
* topology term: on full-label samples as in :class:`~.tiu.TIULoss`; on silver samples on
  the two unions the teacher knows (``P_sclera + P_caruncle`` vs "opening not disc",
  ``P_iris + P_pupil`` vs "iris disc"), so both kinds of sample constrain the shapes;
* relation term: on every sample, against a reference in which a silver set stands for its
  first class (sclera, iris). Real eyes obey the same anatomy, so a pupil in the skin or the
  sclera, or iris outside the opening, is penalised on real faces too — where the network
  meets the domain shift the paper's claim is about.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

from ocularseg.core.labels import LABEL_SETS, NUM_CLASSES, Label, PartialLabel
from ocularseg.training.losses.base import Maps, SegmentationLoss, one_hot
from ocularseg.training.losses.options import CEOptions, LossConfigError, TIUOptions
from ocularseg.training.losses.tiu import TIUBase, relation_term, topology_term

#: Mask values are uint8.
_TABLE_SIZE = 256


def allowed_table(num_classes: int = NUM_CLASSES) -> torch.Tensor:
    """Bool ``(256, C)``: row ``v`` marks the classes a mask value ``v`` allows."""
    table = torch.zeros(_TABLE_SIZE, num_classes, dtype=torch.bool)
    for value, classes in LABEL_SETS.items():
        for c in classes:
            table[value, c] = True
    return table


def pseudo_full_table() -> torch.Tensor:
    """Long ``(256,)``: a value's stand-in class for the relation reference (ignored → 0)."""
    table = torch.zeros(_TABLE_SIZE, dtype=torch.long)
    for value, classes in LABEL_SETS.items():
        table[value] = classes[0] if classes else int(Label.BACKGROUND)
    return table


def check_partial_target(logits: torch.Tensor, target: torch.Tensor) -> None:
    """Shapes and values of a (possibly partial) target; raises ``ValueError``/``TypeError``."""
    if target.is_floating_point():
        raise TypeError(f"target must hold integer label values, got {target.dtype}")
    if logits.dim() != target.dim() + 1 or logits.shape[0] != target.shape[0]:
        raise ValueError(
            f"logits {tuple(logits.shape)} and target {tuple(target.shape)} do not match"
        )
    if logits.shape[2:] != target.shape[1:]:
        raise ValueError(f"logits {tuple(logits.shape)} and target {tuple(target.shape)} differ")
    if target.numel():
        values = torch.unique(target).tolist()
        bad = [v for v in values if v not in LABEL_SETS]
        if bad:
            raise ValueError(f"target holds values {bad}, not labels or partial labels")


class PartialCrossEntropyLoss(SegmentationLoss):
    """``−log Σ_{c∈A(t)} p_c``, weighted mean over labelled pixels (module docstring).

    Options: :class:`~.options.CEOptions`; ``class_weights`` needs one weight per class
    ``(C,)``, and a set weighs its smallest.

    Shapes: logits ``(B, C, H, W)``, target ``(B, H, W)`` of mask values. Returns a scalar
    (0 when every pixel is ignored).
    """

    def __init__(self, options: CEOptions | None = None, **values: Any) -> None:
        super().__init__()
        self.options = CEOptions.parse(options, **values)
        weights = torch.ones(NUM_CLASSES)
        if self.options.class_weights is not None:
            weights = torch.as_tensor(self.options.class_weights, dtype=torch.float32)
            if weights.shape != (NUM_CLASSES,):
                raise LossConfigError(
                    f"class_weights must be {NUM_CLASSES} non-negative numbers, "
                    f"got {self.options.class_weights}"
                )
        value_weight = torch.zeros(_TABLE_SIZE)
        for value, classes in LABEL_SETS.items():
            value_weight[value] = min(float(weights[c]) for c in classes) if classes else 0.0
        self.register_buffer("allowed", allowed_table(), persistent=False)
        self.register_buffer("value_weight", value_weight, persistent=False)

    def check(self, logits: Tensor, target: Tensor) -> None:
        check_partial_target(logits, target)

    def compute(self, logits: Tensor, target: Tensor, epoch: int, maps: Maps | None) -> Tensor:
        index = target.long()
        weight = self.value_weight.to(logits.dtype)[index]
        labelled = weight > 0
        # Ignored pixels allow every class (log 1 = 0) so no -inf reaches the gradient.
        allowed = (self.allowed[index] | ~labelled[..., None]).movedim(-1, 1)  # (B, C, H, W)
        log_probs = F.log_softmax(logits, dim=1)
        log_set = torch.logsumexp(log_probs.masked_fill(~allowed, float("-inf")), dim=1)
        total = weight.sum()
        if not total > 0:
            return logits.sum() * 0.0
        return -(log_set * weight).sum() / total


class PartialTIULoss(TIUBase):
    """TIU for mixed full / silver batches: ``γ·L_pce + α·L_topo + β·L_rel``.

    Options as :class:`~.tiu.TIULoss` (:class:`~.options.TIUOptions`, or its fields as
    keywords); the pixel term is the partial cross-entropy with ``class_weights``.
    """

    def __init__(self, options: TIUOptions | None = None, **values: Any) -> None:
        super().__init__(options, values)
        self.pixel = PartialCrossEntropyLoss(self.options.pixel_options())
        self.register_buffer("pseudo", pseudo_full_table(), persistent=False)

    def components(
        self, logits: Tensor, target: Tensor, *, epoch: int = 0, maps: Maps | None = None
    ) -> dict[str, Tensor]:
        """Unweighted ``{"pixel", "topology", "relation"}`` scalars."""
        pixel = self.pixel(logits, target)
        probs = torch.softmax(logits, dim=1)
        truth = one_hot(self.pseudo[target.long()], NUM_CLASSES, probs.dtype)
        full = (target < NUM_CLASSES).flatten(1).all(dim=1)
        parts = []
        if full.any():
            parts.append(
                topology_term(probs[full], truth[full], self.kernels, self.topology_form)
                * full.sum()
            )
        silver = ~full
        if silver.any():
            merged, merged_truth = _silver_unions(probs[silver], target[silver])
            parts.append(
                topology_term(merged, merged_truth, self.kernels, self.topology_form, 0)
                * silver.sum()
            )
        topology = torch.stack(parts).sum() / target.shape[0]
        relation = relation_term(probs, truth, self.tau, self.exclusion_kernel, self.tolerance_px)
        return {"pixel": pixel, "topology": topology, "relation": relation}


def _silver_unions(p: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
    """``(B, 2, H, W)`` probabilities and reference of the two unions a silver label knows."""
    merged = torch.stack(
        [
            p[:, int(Label.SCLERA)] + p[:, int(Label.CARUNCLE)],
            p[:, int(Label.IRIS)] + p[:, int(Label.PUPIL)],
        ],
        dim=1,
    )
    merged_truth = torch.stack(
        [
            (t == PartialLabel.OPENING_NOT_DISC) | (t == Label.SCLERA) | (t == Label.CARUNCLE),
            (t == PartialLabel.IRIS_DISC) | (t == Label.IRIS) | (t == Label.PUPIL),
        ],
        dim=1,
    ).to(p.dtype)
    return merged, merged_truth
