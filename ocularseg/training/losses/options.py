"""The options of every loss: one frozen pydantic model per loss, one default per option.

A training config names a loss and gives its options as a mapping (``loss.options``); the
registry validates that mapping into the loss's options model, so a misspelt key or a bad
value is a :class:`LossConfigError` that names the field. The loss classes take the same
model (or its fields as keywords), so each option and its default is written only here.

Numbers are strict: a bool or a string is not a number here, and an integer option does
not take ``1.5``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from ocularseg.core.errors import ConfigError
from ocularseg.io.config_files import validate_config

TopologyForm = Literal["location", "count"]
TOPOLOGY_FORMS: tuple[str, ...] = ("location", "count")
#: How a pixel loss and a map loss combine (``region_wise.ScheduledSum``).
Schedule = Literal["gradual", "equal"]
SCHEDULES: tuple[str, ...] = ("gradual", "equal")

#: Kernels of the projected pooling loss (Fu et al.).
DEFAULT_PP_KERNELS: tuple[int, ...] = (4, 5, 8, 10, 20)
#: Kernels of the TIU topology term (suit 480×320 crops).
DEFAULT_TIU_KERNELS: tuple[int, ...] = (2, 4, 8, 16)
#: First class a topology term compares (1 skips the background).
DEFAULT_START_CHANNEL = 1
#: Default weight of the TIU relation term. L_rel is an image fraction, so with weight 1 it
#: would be invisible next to CE; 10 brings a single anatomical violation to the size of a
#: late-training CE value. Every bundled TIU model was trained with it.
DEFAULT_TIU_BETA = 10.0

Weight = Annotated[float, Strict(), Field(ge=0)]
Count = Annotated[int, Strict(), Field(ge=0)]
Kernel = Annotated[int, Strict(), Field(ge=1)]
Kernels = Annotated[tuple[Kernel, ...], Field(min_length=1)]
ClassWeights = tuple[Annotated[float, Strict(), Field(ge=0)], ...]


class LossConfigError(ConfigError):
    """An unknown loss name or option, or an option value the loss cannot use."""


_KERNELS: TypeAdapter[tuple[int, ...]] = TypeAdapter(Kernels)


def checked_kernels(kernels: Sequence[int], spatial: Sequence[int] = ()) -> tuple[int, ...]:
    """``kernels`` as a tuple of positive ints that fit every axis of ``spatial`` (px).

    Raises:
        LossConfigError: ``kernels`` is empty, holds a non-positive or non-integer size, or
            its largest size exceeds the smallest axis of ``spatial``.
    """
    try:
        valid = _KERNELS.validate_python(tuple(kernels))
    except ValidationError as exc:
        raise LossConfigError(
            f"kernels {tuple(kernels)!r} must be a non-empty list of positive integers "
            f"({exc.errors()[0]['msg']})"
        ) from None
    if spatial and min(spatial) < max(valid):
        raise LossConfigError(
            f"every spatial axis must be at least the largest kernel ({max(valid)}); "
            f"got spatial shape {tuple(spatial)}"
        )
    return valid


class LossOptions(BaseModel):
    """Base of the options models: frozen, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def parse(cls, options: Self | None = None, **values: Any) -> Self:
        """``options`` (default: all defaults) with ``values`` on top, validated.

        Raises:
            LossConfigError: a key is unknown or a value invalid; the message names it.
            TypeError: ``options`` is not a ``cls`` (options are keywords, not positional).
        """
        if options is not None and not isinstance(options, cls):
            raise TypeError(f"options must be a {cls.__name__}, got {options!r}")
        raw = {**(options.model_dump() if options is not None else {}), **values}
        try:
            return validate_config(cls, raw, cls.__name__)
        except ConfigError as exc:
            raise LossConfigError(str(exc)) from exc


class NoOptions(LossOptions):
    """A loss without options (region-wise, boundary, Dice + map losses)."""


class CEOptions(LossOptions):
    """Cross-entropy (plain or partial-label)."""

    class_weights: ClassWeights | None = Field(
        None,
        description="per-class weights (C,), non-negative with a positive sum; a rare class "
        "such as the caruncle is otherwise learned last or not at all; null = unweighted",
    )

    @model_validator(mode="after")
    def _positive_sum(self) -> Self:
        if self.class_weights is not None and not sum(self.class_weights) > 0:
            raise ValueError(f"class_weights must not all be 0, got {self.class_weights}")
        return self


class DiceOptions(LossOptions):
    """Soft Dice."""

    include_background: Annotated[bool, Strict()] = Field(
        True, description="class 0 takes part in the mean over classes"
    )
    eps: Weight = Field(1e-6, description="added to the denominator, as in the reference code")
    batch_dice: Annotated[bool, Strict()] = Field(
        False, description="pool the sums over the batch before dividing"
    )


class FocalOptions(LossOptions):
    """Focal loss."""

    gamma: Weight = Field(2.0, description="focusing exponent")
    alpha: Annotated[float, Strict(), Field(gt=0)] = Field(1.0, description="overall weight")


class ProjectedPoolingOptions(LossOptions):
    """Projected pooling term."""

    kernels: Kernels = Field(DEFAULT_PP_KERNELS, description="max-pool sizes, stride = kernel")
    start_channel: Count = Field(DEFAULT_START_CHANNEL, description="first class compared")


class PixelPlusPPOptions(ProjectedPoolingOptions):
    """A pixel loss plus ``weight`` × the projected pooling term (``ce+pp``, ``dice+pp``)."""

    weight: Weight = Field(1.0, description="weight λ of the projected pooling term")


class TIUOptions(LossOptions):
    """TIU loss ``γ·L_pixel + α·L_topo + β·L_rel`` (full or partial labels)."""

    alpha: Weight = Field(1.0, description="weight of the topology term")
    beta: Weight = Field(DEFAULT_TIU_BETA, description="weight of the relation term")
    gamma: Weight = Field(1.0, description="weight of the pixel loss")
    kernels: Kernels = Field(DEFAULT_TIU_KERNELS, description="pool sizes of the topology term")
    topology_form: TopologyForm = Field("count", description="'count' or 'location'")
    tau: Annotated[float, Strict(), Field(gt=0, lt=1)] = Field(
        0.5, description="gate threshold of the relation term, in (0, 1)"
    )
    exclusion_kernel: Kernel = Field(4, description="cell size of the contact relations, px")
    tolerance_px: Count = Field(
        2, description="radius within which the reference's violations excuse the prediction's"
    )
    class_weights: ClassWeights | None = Field(
        None, description="per-class weights of the cross-entropy pixel term"
    )
    warmup_epochs: Count = Field(
        0, description="epochs on the pixel loss alone before the other terms switch on"
    )

    def pixel_options(self) -> CEOptions:
        """The cross-entropy pixel term's options."""
        return CEOptions.parse(class_weights=self.class_weights)
