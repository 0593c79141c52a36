"""Thresholds of the summary and its screening indicators: part of every analysis config.

Defined in ``core`` so that the analysis config (``pipeline.config``) records them in
``run.json`` and the resume key, and the report layer (``report.summary``) applies them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ocularseg.core.exclusion import EXCLUDING_FLAGS
from ocularseg.core.params import require_order


class ReportParams(BaseModel):
    """Thresholds of the summary and its screening indicators (frozen; unknown keys fail).

    Defaults are the reference values of docs/measurements.md.

    Attributes:
        mrd1_low_mm: ``indicator_mrd1_le_2mm`` when an eye's median MRD1 ≤ this (mm);
            2.0 mm is the usual functional-ptosis threshold (2.5 mm on some forms).
        asymmetry_noticeable_mm: ``indicator_asymmetry_ge_1mm`` when |median MRD1 right −
            left| ≥ this (mm).
        asymmetry_marked_mm: ``indicator_asymmetry_ge_2mm`` when |right − left| ≥ this (mm),
            commonly called asymmetric ptosis.
        fatigue_drop_mm: ``indicator_fatigable_ge_2mm`` when MRD1 falls by ≥ this (mm) from
            the start to the end of a time series (sustained-upgaze test).
        fatigue_window_fraction: start / end windows as a fraction of the usable time span.
        fatigue_min_frames: fewest usable frames with an MRD1 value to assess fatigability.
        fatigue_min_span_s: shortest usable time span (s) to assess fatigability.
        slope_min_frames: fewest usable frames with an MRD1 value for a slope.
        slope_min_span_s: in key-frame mode, the slope's frames must span more than this (s).
        exclude_flags: a frame carrying any of these flags is not used.
        exclude_blinks: frames marked ``blink`` are not used.
        indicator_min_frames: fewest usable frames with an MRD1 value for an eye's
            indicators (capped at the number of analysed frames, so a still image's one
            frame suffices when it passes).
        indicator_min_used_fraction: smallest fraction of an eye's analysed frames that
            must be usable for its indicators (when most frames fail the gates, the few
            that pass are not trusted either).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    mrd1_low_mm: float = 2.0
    asymmetry_noticeable_mm: float = Field(default=1.0, ge=0.0)
    asymmetry_marked_mm: float = Field(default=2.0, ge=0.0)
    fatigue_drop_mm: float = Field(default=2.0, gt=0.0)
    fatigue_window_fraction: float = Field(default=0.1, gt=0.0, le=0.5)
    fatigue_min_frames: int = Field(default=5, ge=2)
    fatigue_min_span_s: float = Field(default=5.0, ge=0.0)
    slope_min_frames: int = Field(default=3, ge=2)
    slope_min_span_s: float = Field(default=1.0, ge=0.0)
    exclude_flags: tuple[str, ...] = EXCLUDING_FLAGS
    exclude_blinks: bool = True
    indicator_min_frames: int = Field(default=3, ge=1)
    indicator_min_used_fraction: float = Field(default=0.5, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _asymmetry_order(self) -> ReportParams:
        require_order(self, "asymmetry_noticeable_mm", "asymmetry_marked_mm", equal_ok=True)
        return self
