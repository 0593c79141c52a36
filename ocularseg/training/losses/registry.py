"""Loss registry: name → factory, so a training config names its loss as a string.

Every factory returns a :class:`~ocularseg.training.losses.base.SegmentationLoss`, called
as ``loss(logits, target, *, epoch=0, maps=None)`` (see ``base``). Compound names read
``pixel+extra[-schedule]``: ``"gradual"`` = ``α(e)·pixel + (1 − α(e))·extra`` with
``α(e) = max((100 − e)/100, 0.01)``; ``"equal"`` = ``pixel + extra``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence

from ocularseg.core.errors import ConfigError
from ocularseg.training.losses.base import SegmentationLoss, WeightedSum
from ocularseg.training.losses.partial import PartialCrossEntropyLoss, PartialTIULoss
from ocularseg.training.losses.pixel import CrossEntropyLoss, DiceLoss, FocalLoss
from ocularseg.training.losses.projected_pooling import (
    DEFAULT_PP_KERNELS,
    SoftmaxProjectedPoolingLoss,
)
from ocularseg.training.losses.region_wise import BoundaryLoss, RegionWiseLoss, ScheduledSum
from ocularseg.training.losses.tiu import DEFAULT_TIU_KERNELS, TIULoss, TopologyForm


def _ce(class_weights: Sequence[float] | None = None) -> SegmentationLoss:
    return CrossEntropyLoss(None if class_weights is None else tuple(class_weights))


def _pce(class_weights: Sequence[float] | None = None) -> SegmentationLoss:
    return PartialCrossEntropyLoss(class_weights)


def _pce_tiu(
    alpha: float = 1.0,
    beta: float = 10.0,
    gamma: float = 1.0,
    kernels: Sequence[int] = DEFAULT_TIU_KERNELS,
    topology_form: TopologyForm = "count",
    tau: float = 0.5,
    exclusion_kernel: int = 4,
    tolerance_px: int = 2,
    class_weights: Sequence[float] | None = None,
    warmup_epochs: int = 0,
) -> SegmentationLoss:
    return PartialTIULoss(
        alpha=alpha,
        beta=beta,
        gamma=gamma,
        kernels=tuple(kernels),
        topology_form=topology_form,
        tau=tau,
        exclusion_kernel=exclusion_kernel,
        tolerance_px=tolerance_px,
        class_weights=class_weights,
        warmup_epochs=warmup_epochs,
    )


def _dice(
    include_background: bool = True, eps: float = 1e-6, batch_dice: bool = False
) -> SegmentationLoss:
    return DiceLoss(include_background=include_background, eps=eps, batch_dice=batch_dice)


def _focal(gamma: float = 2.0, alpha: float = 1.0) -> SegmentationLoss:
    return FocalLoss(gamma=gamma, alpha=alpha)


class LossConfigError(ConfigError, ValueError):
    """An unknown loss name or option (a config error for the CLI, a ValueError for Python)."""


#: Default weight of the relation term. L_rel is an image fraction (a 10 px pupil blob in the
#: sclera gives about 5e-3), so with weight 1 it would be invisible next to CE; 10 brings a
#: single anatomical violation to the size of a late-training CE value.
DEFAULT_TIU_BETA = 10.0


def _tiu_factory(pixel_loss: str) -> Callable[..., SegmentationLoss]:
    def factory(
        alpha: float = 1.0,
        beta: float = DEFAULT_TIU_BETA,
        gamma: float = 1.0,
        kernels: Sequence[int] = DEFAULT_TIU_KERNELS,
        topology_form: TopologyForm = "count",
        tau: float = 0.5,
        exclusion_kernel: int = 4,
        tolerance_px: int = 2,
        class_weights: Sequence[float] | None = None,
        warmup_epochs: int = 0,
    ) -> SegmentationLoss:
        return TIULoss(
            alpha=alpha,
            beta=beta,
            gamma=gamma,
            kernels=kernels,
            pixel_loss=pixel_loss,
            topology_form=topology_form,
            tau=tau,
            exclusion_kernel=exclusion_kernel,
            tolerance_px=tolerance_px,
            class_weights=None if class_weights is None else tuple(class_weights),
            warmup_epochs=warmup_epochs,
        )

    return factory


def _scheduled_factory(
    pixel: Callable[[], SegmentationLoss],
    region: Callable[[], SegmentationLoss],
    schedule: str,
) -> Callable[..., SegmentationLoss]:
    def factory() -> SegmentationLoss:
        return ScheduledSum(pixel(), region(), schedule)  # type: ignore[arg-type]

    return factory


def _scheduled_ce_factory(
    region: Callable[[], SegmentationLoss], schedule: str
) -> Callable[..., SegmentationLoss]:
    # CE + map losses take the same class weights as plain CE, so a grid can weight the
    # rare caruncle alike in every CE-based cell.
    def factory(class_weights: Sequence[float] | None = None) -> SegmentationLoss:
        return ScheduledSum(_ce(class_weights), region(), schedule)  # type: ignore[arg-type]

    return factory


def _pp_factory(pixel: Callable[[], SegmentationLoss]) -> Callable[..., SegmentationLoss]:
    def factory(
        weight: float = 1.0,
        kernels: Sequence[int] = DEFAULT_PP_KERNELS,
        start_channel: int = 1,
    ) -> SegmentationLoss:
        # The paper's L = L_topo + λ·L_dice; here λ scales the topology term instead,
        # which is the same objective up to an overall factor.
        return WeightedSum(
            [(1.0, pixel()), (weight, SoftmaxProjectedPoolingLoss(kernels, start_channel))]
        )

    return factory


def _rw() -> SegmentationLoss:
    return RegionWiseLoss()


def _boundary() -> SegmentationLoss:
    return BoundaryLoss()


#: Registry name → factory. Options of ``build_loss`` are the factory's keyword arguments.
LOSSES: dict[str, Callable[..., SegmentationLoss]] = {
    "ce": _ce,
    "dice": _dice,
    "focal": _focal,
    "rw": _rw,
    "boundary": _boundary,
    "ce+rw-gradual": _scheduled_ce_factory(RegionWiseLoss, "gradual"),
    "ce+rw-equal": _scheduled_ce_factory(RegionWiseLoss, "equal"),
    "dice+rw-gradual": _scheduled_factory(DiceLoss, RegionWiseLoss, "gradual"),
    "dice+rw-equal": _scheduled_factory(DiceLoss, RegionWiseLoss, "equal"),
    "ce+boundary-gradual": _scheduled_ce_factory(BoundaryLoss, "gradual"),
    "ce+boundary-equal": _scheduled_ce_factory(BoundaryLoss, "equal"),
    "dice+boundary-gradual": _scheduled_factory(DiceLoss, BoundaryLoss, "gradual"),
    "dice+boundary-equal": _scheduled_factory(DiceLoss, BoundaryLoss, "equal"),
    "ce+pp": _pp_factory(CrossEntropyLoss),
    "dice+pp": _pp_factory(DiceLoss),
    "ce+tiu": _tiu_factory("ce"),
    # Partial-label losses: mixed phantom (full) and real silver (set-valued) labels.
    "pce": _pce,
    "pce+tiu": _pce_tiu,
    "dice+tiu": _tiu_factory("dice"),
}


def loss_options(name: str) -> list[str]:
    """The keyword options ``build_loss(name, ...)`` accepts."""
    return list(inspect.signature(_lookup(name)).parameters)


def _lookup(name: str) -> Callable[..., SegmentationLoss]:
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        raise LossConfigError(f"unknown loss {name!r}; valid losses: {', '.join(LOSSES)}") from None


def build_loss(name: str, **options: object) -> SegmentationLoss:
    """Build the loss registered as ``name``.

    Args:
        name: A key of :data:`LOSSES`, e.g. ``"ce"``, ``"dice+tiu"``, ``"ce+rw-gradual"``.
        **options: Keyword options of that loss (see :func:`loss_options`), e.g.
            ``build_loss("ce+tiu", alpha=0.5, beta=2.0)``.

    Raises:
        LossConfigError: (a ValueError) for an unknown name or option; the message lists
            the valid ones.
    """
    factory = _lookup(name)
    valid = list(inspect.signature(factory).parameters)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise LossConfigError(
            f"unknown option(s) {', '.join(unknown)} for loss {name!r}; "
            f"valid options: {', '.join(valid) if valid else '(none)'}"
        )
    return factory(**options)
