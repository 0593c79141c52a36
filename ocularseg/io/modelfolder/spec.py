"""What inference needs from ``model.json``: the input tensor, the output channels.

Inference rebuilds everything (input size, channel order, normalisation, labels) from
these; nothing is hard-coded twice.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ocularseg.core.labels import LABEL_NAMES


class PriorSpec(BaseModel):
    """How the landmark-prior channel is built (``ocularseg.core.eye_prior``).

    Channel 4 = ``2·prior − 1`` where ``prior`` is 1 inside the hexagon of dlib's six eye
    points in crop px and ``exp(−d² / (2 (sigma_frac·w)²))`` at distance ``d`` outside it
    (``w`` = corner-to-corner distance); without landmarks the hexagon is
    ``template_points_crop_px``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str = Field("dlib6-hexagon", pattern="^dlib6-hexagon$")
    sigma_frac: float = Field(gt=0, le=1)
    template_points_crop_px: tuple[tuple[float, float], ...] = Field(min_length=6, max_length=6)
    channel: str = Field("2*prior-1", pattern=r"^2\*prior-1$")


class InputSpec(BaseModel):
    """How a crop becomes the network's input tensor (N, C, height, width) float32.

    C is 3 (RGB) or 4 (RGB and the landmark prior, when ``prior`` is set).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    height: int = Field(gt=0, description="input rows, crop px")
    width: int = Field(gt=0, description="input columns, crop px")
    channel_order: str = Field("RGB", pattern="^(RGB|BGR)$")
    layout: str = Field("NCHW", pattern="^NCHW$")
    scale: float = Field(1.0 / 255.0, gt=0, description="multiplies uint8 pixel values")
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    prior: PriorSpec | None = Field(
        None, description="a fourth input channel from the eye landmarks (None = RGB only)"
    )

    @field_validator("scale")
    @classmethod
    def _finite_scale(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError(f"must be a finite number, got {value}")
        return value

    @field_validator("mean")
    @classmethod
    def _finite_mean(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if not all(math.isfinite(v) for v in value):
            raise ValueError(f"must be three finite numbers, got {list(value)}")
        return value

    @field_validator("std")
    @classmethod
    def _positive_std(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        # A zero std divides every pixel by zero: inf/NaN input, garbage masks, no error.
        if not all(math.isfinite(v) and v > 0 for v in value):
            raise ValueError(f"must be three finite numbers > 0, got {list(value)}")
        return value


class OutputSpec(BaseModel):
    """What the network's output tensor (N, C, H, W) holds beyond the class logits.

    Channels ``0 … len(labels) − 1`` are always the class logits (arg-max → label map).
    ``amodal_iris_disc_channel``: a further channel whose logit is > 0 (sigmoid > 0.5)
    inside the whole iris disc, including the part the lids cover.
    ``unreliable_classes``: class name (a ``labels`` key other than background) → one line
    saying why this model's mask of that class is not to be trusted; the overlays' legend,
    the report page, the workbook and ``run.json`` carry it. Files without it mark nothing.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    amodal_iris_disc_channel: int | None = Field(None, ge=0)
    unreliable_classes: dict[str, str] = Field(
        default_factory=dict, description="class name -> why its mask is not to be trusted"
    )

    @field_validator("unreliable_classes")
    @classmethod
    def _known_classes(cls, value: dict[str, str]) -> dict[str, str]:
        names = sorted(set(LABEL_NAMES) - {"background"})
        for name, reason in value.items():
            if name not in names:
                raise ValueError(f"{name!r} is not a class name (one of {names})")
            if not reason.strip() or "\n" in reason:
                raise ValueError(f"the reason for {name!r} must be one non-empty line")
        return value
