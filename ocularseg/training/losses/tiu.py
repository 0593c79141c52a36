"""TIU loss: pixel loss + multi-scale topology term + anatomical relation term.

``L = γ·L_pixel + α·L_topo + β·L_rel`` (the OMG ocular paper), with ``L_pixel`` the
cross-entropy or soft Dice of :mod:`.pixel`. Inputs are logits ``(B, 5, H, W)`` over the
ocular classes of :class:`~ocularseg.core.labels.Label` and integer targets ``(B, H, W)``.
Below, ``P`` = softmax probabilities, ``G`` = one-hot reference, and ``MP_k`` = max-pool
with kernel = stride = ``k``, no padding (trailing rows/columns that do not fill a cell
are dropped).

Topology term (foreground classes 1–4, kernels ``K``, default 2, 4, 8, 16):

* ``"location"``: ``mean_k mean_{b,c,cells} |MP_k(P_c) − MP_k(G_c)|``. It compares each
  cell, so a structure in the wrong place costs as much as a missing one.
* ``"count"`` (default): ``mean_k mean_{b,c} |Σ_cells MP_k(P_c) − Σ_cells MP_k(G_c)| /
  n_cells(k)``, the projected-pooling count difference divided by the number of cells
  so both forms lie in [0, 1]. It ignores location (the pixel loss sees that).

  The default comes from a small experiment on drawn 480×320 eyes (normal, ptosis,
  lateral gaze; predictions = 8·one-hot), kept as ``test_count_form_separates_topology``:
  the term should grow for topological errors (a pupil or iris blob in the skin, a hole
  in the iris, a missing pupil) more than for harmless 1-px boundary errors (shifts,
  1-px dilation or erosion, a pupil moved by 8 px). The count form separated the two
  better in every eye tested (numbers: ``docs/experiments.md``, "TIU topology form"); the
  location form mostly re-measures boundary placement the pixel loss already penalises.

Relation term. Literal per-pixel ReLU constraints are wrong on softmax output
(``P_pupil + P_sclera ≤ 1`` always holds; ``ReLU(P_pupil − P_iris)`` is large for a
perfect prediction), so each relation is written as a *violation map* ``V(P) ∈ [0, 1]``
built from two gates ``on(x) = clamp((x − τ)/(1 − τ), 0, 1)`` and
``off(x) = clamp((τ − x)/τ, 0, 1)`` with ``τ = 0.5`` (so confident, correct predictions
give exactly 0 and a violation needs the offending class to be the likely one), and
row-wise enclosure ``both(X) = min(cummax_→(X), cummax_←(X))``: ``X`` is present both
to the left and to the right of the pixel in its row (the pixel included). Rows, not
discs, because the upper lid covers the top of the iris (and in ptosis of the pupil)
while every visible row still has the iris on both sides of the pupil.

Pixel violations (maps ``(B, H, W)``), ``I, U, S, K`` = iris, pupil, sclera, caruncle:

1. ``pupil_not_in_iris = on(U) · off(both(I))`` — a pupil pixel without iris on both
   sides of its row: pupil in the skin or the sclera, pupil bursting through the iris.
2. ``non_iris_inside_iris = on(1 − I − U) · on(both(I))`` — sclera, skin or caruncle
   with iris on both sides of its row: anything inside the iris but the pupil.
3. ``iris_outside_sclera = on(I) · off(both(S + K))`` — iris without sclera (or
   caruncle, which the iris meets in adduction) on both sides of its row: an iris blob in
   the skin, above, below or beside the opening.

Cell violations (maps ``(B, H/k_e, W/k_e)``, ``k_e`` = ``exclusion_kernel``, default 4):

4. ``pupil_sclera_contact = ReLU(on(MP(U)) + on(MP(S)) − 1)``;
5. ``pupil_caruncle_contact = ReLU(on(MP(U)) + on(MP(K)) − 1)`` — pupil and sclera /
   caruncle in one ``k_e × k_e`` cell, i.e. touching; pixel-wise this could never fire.
   The gates keep a faint pupil probability in a confident sclera cell from counting.
   Pupil against background is *not* excluded: the lid covers the pupil in ptosis.

A valid eye can still produce violations by these rules (the narrow top rows of a ptotic
opening hold only iris, or only pupil; in side gaze the iris touches the corner), so only
violations *beyond the reference* count: ``excess = ReLU(V(P) − dilate_r(V(G)))``,
``dilate_r`` = max-filter of radius ``tolerance_px`` (cells: ``ceil(r / k_e)``), so a
prediction whose border sits a pixel or two off the reference's is not punished twice.
``L_rel`` is the sum over the five maps of the mean excess over the batch and the map
(a fraction of the image, so comparable with the pixel losses).

On drawn 480×320 eyes (``tests/training/test_tiu.py``), valid references — open eye,
ptosis with the lid on the iris or across the pupil, lateral gaze with the iris at the
corner, medial gaze with the iris on the caruncle — give exactly 0 for ``G`` itself, for
8·one-hot logits and for the eye drawn 1 px off, and a negligible value for blurred, noisy
soft predictions (horizontal lid edges flicker along a row); a misplaced blob (pupil in
the skin or sclera, sclera or skin inside the iris, iris in the skin) gives a clearly
positive value (the test's bounds; measured values: ``docs/experiments.md``, "TIU
relation term").

Cost (``benchmarks/bench_tiu_overhead.py``; measured: ``docs/experiments.md``, "TIU
overhead"): a few percent of a default U-Net CPU step. Full-resolution max-pooling is most
of it; the pyramid is pooled hierarchically (``MP_ab = MP_b ∘ MP_a``) and shared with the
contact relations.

Options: :class:`~.options.TIUOptions`, one model for :class:`TIULoss` and
:class:`~.partial.PartialTIULoss`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

from ocularseg.core.labels import NUM_CLASSES, Label
from ocularseg.training.losses.base import (
    Maps,
    SegmentationLoss,
    check_logits_target,
    one_hot,
)
from ocularseg.training.losses.options import (
    DEFAULT_START_CHANNEL,
    DEFAULT_TIU_KERNELS,
    TOPOLOGY_FORMS,
    LossConfigError,
    TIUOptions,
    TopologyForm,
    checked_kernels,
)
from ocularseg.training.losses.pixel import CrossEntropyLoss, DiceLoss

PIXEL_LOSSES: tuple[str, ...] = ("ce", "dice")

#: Names of the violation maps of :func:`relation_violations`, pixel maps first.
PIXEL_RELATIONS: tuple[str, ...] = (
    "pupil_not_in_iris",
    "non_iris_inside_iris",
    "iris_outside_sclera",
)
CELL_RELATIONS: tuple[str, ...] = ("pupil_sclera_contact", "pupil_caruncle_contact")

#: Defaults of the functional forms: the options model's, so each is written once.
_TAU: float = TIUOptions.model_fields["tau"].default
_EXCLUSION_KERNEL: int = TIUOptions.model_fields["exclusion_kernel"].default
_TOLERANCE_PX: int = TIUOptions.model_fields["tolerance_px"].default


def _check_probs(probs: torch.Tensor, name: str) -> None:
    if not isinstance(probs, torch.Tensor):
        raise TypeError(f"{name} must be a torch tensor")
    if not probs.is_floating_point():
        raise TypeError(f"{name} must be floating point, got {probs.dtype}")
    if probs.dim() != 4:
        raise ValueError(f"{name} must be (B, C, H, W), got shape {tuple(probs.shape)}")


def _check_pair(probs: Tensor, truth: Tensor) -> None:
    _check_probs(probs, "probs")
    if probs.shape != truth.shape:
        raise ValueError(f"probs {tuple(probs.shape)} and truth {tuple(truth.shape)} differ")


def _pyramid(x: torch.Tensor, kernels: tuple[int, ...]) -> list[torch.Tensor]:
    """``[MP_k(x) for k in kernels]``, each pooled from the previous level when possible.

    ``MP_ab = MP_b ∘ MP_a`` exactly (same cells, and ``⌊⌊H/a⌋/b⌋ = ⌊H/ab⌋`` drops the same
    trailing rows), so pooling 2, 4, 8, 16 costs little more than pooling by 2 once.
    """
    done: dict[int, torch.Tensor] = {}
    for k in sorted(set(kernels)):
        base = max((j for j in done if k % j == 0), default=None)
        if base is None:
            done[k] = F.max_pool2d(x, k, stride=k)
        else:
            step = k // base
            done[k] = done[base] if step == 1 else F.max_pool2d(done[base], step, stride=step)
    return [done[k] for k in kernels]


def topology_term(
    probs: torch.Tensor,
    truth: torch.Tensor,
    kernels: Sequence[int] = DEFAULT_TIU_KERNELS,
    form: TopologyForm = TIUOptions.model_fields["topology_form"].default,
    start_channel: int = DEFAULT_START_CHANNEL,
) -> torch.Tensor:
    """Multi-scale max-pool topology term (see the module docstring for both forms).

    Args:
        probs: Probabilities ``(B, C, H, W)``.
        truth: One-hot reference, same shape.
        kernels: Pool sizes (stride = kernel); each must fit in H and W.
        form: ``"location"`` or ``"count"``.
        start_channel: First class compared (1 skips the background).

    Returns:
        Scalar in [0, 1]: mean over kernels of the per-kernel mean.
    """
    _check_pair(probs, truth)
    if form not in TOPOLOGY_FORMS:
        raise LossConfigError(f"topology form {form!r} is not one of {', '.join(TOPOLOGY_FORMS)}")
    if not 0 <= start_channel < probs.shape[1]:
        raise LossConfigError(f"start_channel={start_channel} out of range for C={probs.shape[1]}")
    kernels = checked_kernels(kernels, probs.shape[2:])
    pred, ref = probs[:, start_channel:], truth[:, start_channel:].to(probs.dtype)
    with torch.no_grad():
        ref_pyramid = _pyramid(ref, kernels)
    return _topology_from_pyramids(_pyramid(pred, kernels), ref_pyramid, form)


def _topology_from_pyramids(
    pred_pyramid: Sequence[torch.Tensor], ref_pyramid: Sequence[torch.Tensor], form: str
) -> torch.Tensor:
    terms = []
    for pooled_pred, pooled_ref in zip(pred_pyramid, ref_pyramid, strict=True):
        if form == "location":
            terms.append(torch.mean(torch.abs(pooled_pred - pooled_ref)))
        else:
            cells = pooled_pred.shape[-1] * pooled_pred.shape[-2]
            diff = pooled_pred.sum((-2, -1)) - pooled_ref.sum((-2, -1))
            terms.append(torch.mean(torch.abs(diff)) / cells)
    return torch.stack(terms).mean()


def _on(x: torch.Tensor, tau: float) -> torch.Tensor:
    """1 where ``x ≥ 1``, 0 where ``x ≤ tau``, linear between."""
    return ((x - tau) / (1 - tau)).clamp(0, 1)


def _off(x: torch.Tensor, tau: float) -> torch.Tensor:
    """1 where ``x = 0``, 0 where ``x ≥ tau``, linear between."""
    return ((tau - x) / tau).clamp(0, 1)


def _both_sides(x: torch.Tensor) -> torch.Tensor:
    """``min(cummax from the left, cummax from the right)`` along the last axis."""
    left = torch.cummax(x, dim=-1).values
    right = torch.cummax(x.flip(-1), dim=-1).values.flip(-1)
    return torch.minimum(left, right)


def _check_relation_args(probs: torch.Tensor, tau: float, exclusion_kernel: int) -> None:
    _check_probs(probs, "probs")
    if probs.shape[1] != NUM_CLASSES:
        raise LossConfigError(
            f"the relation term needs the {NUM_CLASSES} ocular classes, got C={probs.shape[1]}"
        )
    TIUOptions.parse(tau=tau, exclusion_kernel=exclusion_kernel)
    checked_kernels((exclusion_kernel,), probs.shape[2:])


def relation_violations(
    probs: torch.Tensor, tau: float = _TAU, exclusion_kernel: int = _EXCLUSION_KERNEL
) -> dict[str, torch.Tensor]:
    """Violation maps of the anatomical relations (module docstring, items 1–5).

    Args:
        probs: Probabilities (or one-hot) ``(B, 5, H, W)`` over :class:`Label`.
        tau: Gate threshold in (0, 1).
        exclusion_kernel: Cell size of the contact maps, in pixels.

    Returns:
        ``{name: map}``: pixel maps ``(B, H, W)`` for :data:`PIXEL_RELATIONS` and cell maps
        ``(B, H // k, W // k)`` for :data:`CELL_RELATIONS`, all in [0, 1].
    """
    _check_relation_args(probs, tau, exclusion_kernel)
    pooled = F.max_pool2d(probs[:, 1:], exclusion_kernel, stride=exclusion_kernel)
    return _violations(probs, pooled, tau)


def _violations(
    probs: torch.Tensor, pooled_foreground: torch.Tensor, tau: float
) -> dict[str, torch.Tensor]:
    """:func:`relation_violations` given ``MP_ke(probs[:, 1:])`` (shared with the topology)."""
    iris = probs[:, Label.IRIS]
    pupil = probs[:, Label.PUPIL]
    iris_both = _both_sides(iris)
    flank_both = _both_sides(probs[:, Label.SCLERA] + probs[:, Label.CARUNCLE])
    # Gating after pooling: without it a faint 1 % pupil probability anywhere in a
    # confidently sclera cell would already count as contact.
    pooled_on = _on(pooled_foreground, tau)
    pooled_pupil = pooled_on[:, Label.PUPIL - 1]
    return {
        "pupil_not_in_iris": _on(pupil, tau) * _off(iris_both, tau),
        "non_iris_inside_iris": _on(1 - iris - pupil, tau) * _on(iris_both, tau),
        "iris_outside_sclera": _on(iris, tau) * _off(flank_both, tau),
        "pupil_sclera_contact": F.relu(pooled_pupil + pooled_on[:, Label.SCLERA - 1] - 1),
        "pupil_caruncle_contact": F.relu(pooled_pupil + pooled_on[:, Label.CARUNCLE - 1] - 1),
    }


def _dilate(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Max-filter of a ``(B, h, w)`` map with a square window of the given radius."""
    if radius <= 0 or not bool(x.any()):
        return x
    # A square max-filter is separable: one row pass and one column pass.
    size = 2 * radius + 1
    rows = F.max_pool2d(x[:, None], (1, size), stride=1, padding=(0, radius))
    return F.max_pool2d(rows, (size, 1), stride=1, padding=(radius, 0))[:, 0]


def relation_excess(
    probs: torch.Tensor,
    truth: torch.Tensor,
    tau: float = _TAU,
    exclusion_kernel: int = _EXCLUSION_KERNEL,
    tolerance_px: int = _TOLERANCE_PX,
) -> dict[str, torch.Tensor]:
    """Per-relation mean excess ``ReLU(V(P) − dilate(V(G)))`` (scalars, keyed by name).

    Args:
        probs: Probabilities ``(B, 5, H, W)``.
        truth: One-hot reference, same shape.
        tau: Gate threshold.
        exclusion_kernel: Cell size of the contact maps, in pixels.
        tolerance_px: Radius, in pixels, around a violation of the reference within
            which the prediction's violation is excused.

    Returns:
        ``{name: scalar}``, each the mean over the batch and the map.
    """
    _check_pair(probs, truth)
    TIUOptions.parse(tolerance_px=tolerance_px)
    _check_relation_args(probs, tau, exclusion_kernel)
    truth = truth.to(probs.dtype)
    k = exclusion_kernel
    with torch.no_grad():
        pooled_truth = F.max_pool2d(truth[:, 1:], k, stride=k)
    pooled_probs = F.max_pool2d(probs[:, 1:], k, stride=k)
    return _excess(probs, truth, pooled_probs, pooled_truth, tau, k, tolerance_px)


def _excess(
    probs: torch.Tensor,
    truth: torch.Tensor,
    pooled_probs: torch.Tensor,
    pooled_truth: torch.Tensor,
    tau: float,
    exclusion_kernel: int,
    tolerance_px: int,
) -> dict[str, torch.Tensor]:
    predicted = _violations(probs, pooled_probs, tau)
    with torch.no_grad():
        reference = _violations(truth, pooled_truth, tau)
    cell_radius = math.ceil(tolerance_px / exclusion_kernel)
    out = {}
    for name, violation in predicted.items():
        radius = tolerance_px if name in PIXEL_RELATIONS else cell_radius
        out[name] = torch.mean(F.relu(violation - _dilate(reference[name], radius)))
    return out


def relation_term(
    probs: torch.Tensor,
    truth: torch.Tensor,
    tau: float = _TAU,
    exclusion_kernel: int = _EXCLUSION_KERNEL,
    tolerance_px: int = _TOLERANCE_PX,
) -> torch.Tensor:
    """``L_rel``: the sum of :func:`relation_excess` over the five relations (a scalar)."""
    excess = relation_excess(probs, truth, tau, exclusion_kernel, tolerance_px)
    return torch.stack(list(excess.values())).sum()


class TIUBase(SegmentationLoss):
    """``γ·L_pixel + α·L_topo + β·L_rel`` from :meth:`components`, with the warm-up.

    Holds the validated :class:`~.options.TIUOptions` and their fields as attributes;
    subclasses set ``self.pixel`` and implement :meth:`components`. For epochs (0-based)
    below ``warmup_epochs`` the loss is ``γ·L_pixel`` alone: in short runs from scratch the
    terms kept the UNet from ever learning the pupil (docs/experiments.md, "TIU
    ablation"); they are meant to refine structures the pixel loss has found.
    """

    pixel: SegmentationLoss

    def __init__(self, options: TIUOptions | None, values: dict[str, Any]) -> None:
        super().__init__()
        self.options = TIUOptions.parse(options, **values)
        o = self.options
        self.alpha, self.beta, self.gamma = o.alpha, o.beta, o.gamma
        self.kernels = o.kernels
        self.topology_form = o.topology_form
        self.tau, self.exclusion_kernel, self.tolerance_px = (
            o.tau,
            o.exclusion_kernel,
            o.tolerance_px,
        )
        self.warmup_epochs = o.warmup_epochs

    def components(
        self, logits: Tensor, target: Tensor, *, epoch: int = 0, maps: Maps | None = None
    ) -> dict[str, Tensor]:
        """Unweighted ``{"pixel", "topology", "relation"}`` scalars (for logging)."""
        raise NotImplementedError

    def check(self, logits: Tensor, target: Tensor) -> None:
        """The pixel loss and :meth:`components` check their inputs."""

    def compute(self, logits: Tensor, target: Tensor, epoch: int, maps: Maps | None) -> Tensor:
        if epoch < self.warmup_epochs:
            return self.gamma * self.pixel(logits, target, epoch=epoch, maps=maps)
        parts = self.components(logits, target, epoch=epoch, maps=maps)
        return (
            self.gamma * parts["pixel"]
            + self.alpha * parts["topology"]
            + self.beta * parts["relation"]
        )


def _pixel_loss(pixel_loss: str | SegmentationLoss, options: TIUOptions) -> SegmentationLoss:
    """The TIU pixel term named by ``pixel_loss`` (or given as a loss)."""
    if options.class_weights is not None and pixel_loss != "ce":
        raise LossConfigError("class_weights apply to pixel_loss='ce' only")
    if isinstance(pixel_loss, SegmentationLoss):
        return pixel_loss
    if pixel_loss == "ce":
        return CrossEntropyLoss(options.pixel_options())
    if pixel_loss == "dice":
        return DiceLoss(include_background=True)
    raise LossConfigError(
        f"pixel_loss {pixel_loss!r} is not one of {', '.join(PIXEL_LOSSES)} or a SegmentationLoss"
    )


class TIULoss(TIUBase):
    """``γ·L_pixel + α·L_topo + β·L_rel`` on logits ``(B, 5, H, W)`` (module docstring).

    Args:
        options: :class:`~.options.TIUOptions` (weights, kernels, topology form, gates,
            tolerance, CE class weights, warm-up); defaults where not given.
        pixel_loss: ``"ce"`` or ``"dice"`` (soft Dice with background), or any
            :class:`SegmentationLoss`.
        **values: Fields of :class:`~.options.TIUOptions`, on top of ``options``.

    Raises:
        LossConfigError: an option is unknown or invalid, or ``class_weights`` is given
            with a pixel loss other than ``"ce"``.
    """

    def __init__(
        self,
        options: TIUOptions | None = None,
        pixel_loss: str | SegmentationLoss = "ce",
        **values: Any,
    ) -> None:
        super().__init__(options, values)
        self.pixel = _pixel_loss(pixel_loss, self.options)

    def components(
        self, logits: Tensor, target: Tensor, *, epoch: int = 0, maps: Maps | None = None
    ) -> dict[str, Tensor]:
        """Unweighted ``{"pixel", "topology", "relation"}`` scalars (for logging)."""
        check_logits_target(logits, target)
        if logits.dim() != 4 or logits.shape[1] != NUM_CLASSES:
            raise LossConfigError(
                f"TIULoss needs logits (B, {NUM_CLASSES}, H, W), got {tuple(logits.shape)}"
            )
        checked_kernels((*self.kernels, self.exclusion_kernel), logits.shape[2:])
        probs = torch.softmax(logits, dim=1)
        truth = one_hot(target, NUM_CLASSES, probs.dtype)
        # One max-pool pyramid of the foreground serves the topology term and the contact
        # relations (full-resolution pooling is the expensive part).
        levels = (*self.kernels, self.exclusion_kernel)
        pred_pyramid = _pyramid(probs[:, 1:], levels)
        with torch.no_grad():
            ref_pyramid = _pyramid(truth[:, 1:], levels)
        n = len(self.kernels)
        topology = _topology_from_pyramids(pred_pyramid[:n], ref_pyramid[:n], self.topology_form)
        excess = _excess(
            probs,
            truth,
            pred_pyramid[n],
            ref_pyramid[n],
            self.tau,
            self.exclusion_kernel,
            self.tolerance_px,
        )
        return {
            "pixel": self.pixel(logits, target, epoch=epoch, maps=maps),
            "topology": topology,
            "relation": torch.stack(list(excess.values())).sum(),
        }
