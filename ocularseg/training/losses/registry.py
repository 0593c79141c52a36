"""Loss registry: name → factory, so a training config names its loss as a string.

Every factory returns a :class:`~ocularseg.training.losses.base.SegmentationLoss`, called
as ``loss(logits, target, *, epoch=0, maps=None)`` (see ``base``), and takes the fields of
one options model of :mod:`.options` as keywords. Compound names read
``pixel+extra[-schedule]``: ``"gradual"`` = ``α(e)·pixel + (1 − α(e))·extra`` with
``α(e) = max((100 − e)/100, 0.01)``; ``"equal"`` = ``pixel + extra``. The look-up and the
option check are :class:`ocularseg.core.registry.Registry`'s, shared with the models.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from ocularseg.core.registry import Registry
from ocularseg.training.losses.base import SegmentationLoss, WeightedSum
from ocularseg.training.losses.options import (
    CEOptions,
    DiceOptions,
    FocalOptions,
    LossConfigError,
    LossOptions,
    NoOptions,
    PixelPlusPPOptions,
    Schedule,
    TIUOptions,
)
from ocularseg.training.losses.partial import PartialCrossEntropyLoss, PartialTIULoss
from ocularseg.training.losses.pixel import CrossEntropyLoss, DiceLoss, FocalLoss
from ocularseg.training.losses.projected_pooling import SoftmaxProjectedPoolingLoss
from ocularseg.training.losses.region_wise import BoundaryLoss, RegionWiseLoss, ScheduledSum
from ocularseg.training.losses.tiu import TIULoss

OptionsT = TypeVar("OptionsT", bound=LossOptions)


@dataclass(frozen=True)
class LossFactory(Generic[OptionsT]):
    """Builds a loss from the fields of ``options`` given as keywords.

    Its signature is the options model's, so the registry lists and checks exactly those
    fields; values are validated by the model (:class:`LossConfigError` on a bad one).
    """

    options: type[OptionsT]
    make: Callable[[OptionsT], SegmentationLoss]

    @property
    def __signature__(self) -> inspect.Signature:
        return inspect.signature(self.options)

    def __call__(self, **values: object) -> SegmentationLoss:
        return self.make(self.options.parse(**values))


def _scheduled(
    pixel: type[CrossEntropyLoss] | type[DiceLoss],
    region: type[RegionWiseLoss] | type[BoundaryLoss],
    schedule: Schedule,
) -> LossFactory:
    # CE + map losses take the same class weights as plain CE, so a grid can weight the
    # rare caruncle alike in every CE-based cell; Dice + map losses take no options.
    if pixel is CrossEntropyLoss:
        return LossFactory(
            CEOptions, lambda o: ScheduledSum(CrossEntropyLoss(o), region(), schedule)
        )
    return LossFactory(NoOptions, lambda o: ScheduledSum(DiceLoss(), region(), schedule))


def _plus_pp(pixel: type[CrossEntropyLoss] | type[DiceLoss]) -> LossFactory:
    # The paper's L = L_topo + λ·L_dice; here λ scales the topology term instead, which is
    # the same objective up to an overall factor.
    def make(o: PixelPlusPPOptions) -> SegmentationLoss:
        term = SoftmaxProjectedPoolingLoss(kernels=o.kernels, start_channel=o.start_channel)
        return WeightedSum([(1.0, pixel()), (o.weight, term)])

    return LossFactory(PixelPlusPPOptions, make)


#: Registry name → factory. Options of ``build_loss`` are the fields of its options model.
LOSSES: Registry[SegmentationLoss] = Registry(
    "loss",
    {
        "ce": LossFactory(CEOptions, CrossEntropyLoss),
        "dice": LossFactory(DiceOptions, DiceLoss),
        "focal": LossFactory(FocalOptions, FocalLoss),
        "rw": LossFactory(NoOptions, lambda o: RegionWiseLoss()),
        "boundary": LossFactory(NoOptions, lambda o: BoundaryLoss()),
        "ce+rw-gradual": _scheduled(CrossEntropyLoss, RegionWiseLoss, "gradual"),
        "ce+rw-equal": _scheduled(CrossEntropyLoss, RegionWiseLoss, "equal"),
        "dice+rw-gradual": _scheduled(DiceLoss, RegionWiseLoss, "gradual"),
        "dice+rw-equal": _scheduled(DiceLoss, RegionWiseLoss, "equal"),
        "ce+boundary-gradual": _scheduled(CrossEntropyLoss, BoundaryLoss, "gradual"),
        "ce+boundary-equal": _scheduled(CrossEntropyLoss, BoundaryLoss, "equal"),
        "dice+boundary-gradual": _scheduled(DiceLoss, BoundaryLoss, "gradual"),
        "dice+boundary-equal": _scheduled(DiceLoss, BoundaryLoss, "equal"),
        "ce+pp": _plus_pp(CrossEntropyLoss),
        "dice+pp": _plus_pp(DiceLoss),
        "ce+tiu": LossFactory(TIUOptions, lambda o: TIULoss(o, pixel_loss="ce")),
        # Partial-label losses: mixed phantom (full) and real silver (set-valued) labels.
        "pce": LossFactory(CEOptions, PartialCrossEntropyLoss),
        "pce+tiu": LossFactory(TIUOptions, PartialTIULoss),
        "dice+tiu": LossFactory(TIUOptions, lambda o: TIULoss(o, pixel_loss="dice")),
    },
    LossConfigError,
    plural="losses",
)


def loss_options(name: str) -> list[str]:
    """The keyword options ``build_loss(name, ...)`` accepts."""
    return LOSSES.options(name)


def build_loss(name: str, **options: object) -> SegmentationLoss:
    """Build the loss registered as ``name``.

    Args:
        name: A key of :data:`LOSSES`, e.g. ``"ce"``, ``"dice+tiu"``, ``"ce+rw-gradual"``.
        **options: Fields of that loss's options model (see :func:`loss_options`), e.g.
            ``build_loss("ce+tiu", alpha=0.5, beta=2.0)``.

    Raises:
        LossConfigError: (a ConfigError) for an unknown name, option or option value; the
            message lists the valid names / options or names the field.
    """
    return LOSSES.build(name, **options)


__all__ = ["LOSSES", "LossConfigError", "LossFactory", "build_loss", "loss_options"]
