"""The uncertainty of an eye's summary value, and indicators that say "borderline".

An eye's MRD1 (or MRD2, fissure height) is the median over its usable frames. Two things
limit how well that median is known (``docs/measurements.md``, "Uncertainty"):

* **the frames' spread**: with ``n`` frames of sample standard deviation ``s`` (mm), the
  standard error of the median is about ``1.2533 · s / √n`` (its large-sample value for a
  normal spread); a single frame has no spread term;
* **the image's resolution**: a lid distance is the difference of two positions (the lid
  margin and the iris centre), each read to within half a pixel of the *original image*
  (frame px, not the enlarged crop), so one frame pixel is its quantisation bound; in mm it
  is ``mm_per_frame_px``, the median over the frames used.

The 95 % interval is ``median ± √((1.96 · SE)² + (1 px · mm_per_frame_px)²)``: the two
sources added in quadrature. A small eye in the image has a large ``mm_per_frame_px`` and
so a wide interval, rather than a hard cut-off at one pixel.

An indicator reads ``borderline`` when the interval straddles its threshold, ``yes`` or
``no`` only when the whole interval lies on one side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Two-sided 95 % normal quantile.
Z_95 = 1.959963984540054
#: Large-sample standard error of the median over that of the mean, for a normal spread.
MEDIAN_SE_FACTOR = math.sqrt(math.pi / 2.0)
#: The quantisation bound of one lid distance, in original-image pixels.
RESOLUTION_FRAME_PX = 1.0

YES, NO, BORDERLINE, NOT_ASSESSABLE = "yes", "no", "borderline", "not assessable"


@dataclass(frozen=True)
class Interval:
    """A summary value (mm) and its 95 % interval.

    Attributes:
        median_mm: median over the frames used (NaN when there are none).
        low_mm, high_mm: the interval's ends (mm).
        spread_mm: ``1.96 · SE`` of the median from the frames' spread (0 for one frame).
        resolution_mm: one original-image pixel in mm (NaN when the scale is unknown).
        frames: how many values the median is over.
    """

    median_mm: float
    low_mm: float
    high_mm: float
    spread_mm: float
    resolution_mm: float
    frames: int

    @property
    def half_width_mm(self) -> float:
        """Half the interval's width (mm)."""
        return (self.high_mm - self.low_mm) / 2.0


def median_interval(values_mm: np.ndarray, mm_per_frame_px: np.ndarray) -> Interval:
    """The 95 % interval of the median of ``values_mm`` (see the module docstring).

    Args:
        values_mm: (n,) finite values of the frames used (mm).
        mm_per_frame_px: (m,) mm per original-image pixel of those frames; non-finite
            entries are ignored; when none is finite the resolution term is left out
            (``resolution_mm`` NaN).

    Returns:
        The interval; all NaN when ``values_mm`` is empty.
    """
    values = np.asarray(values_mm, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return Interval(math.nan, math.nan, math.nan, math.nan, math.nan, 0)
    median = float(np.median(values))
    spread = 0.0
    if values.size >= 2:
        standard_error = MEDIAN_SE_FACTOR * float(np.std(values, ddof=1)) / math.sqrt(values.size)
        spread = Z_95 * standard_error
    scales = np.asarray(mm_per_frame_px, dtype=float)
    scales = scales[np.isfinite(scales) & (scales > 0)]
    resolution = RESOLUTION_FRAME_PX * float(np.median(scales)) if scales.size else math.nan
    half = math.hypot(spread, resolution if math.isfinite(resolution) else 0.0)
    return Interval(median, median - half, median + half, spread, resolution, int(values.size))


def difference_interval(first: Interval, second: Interval) -> Interval:
    """The interval of ``first − second`` (independent eyes: half-widths in quadrature)."""
    median = first.median_mm - second.median_mm
    half = math.hypot(first.half_width_mm, second.half_width_mm)
    spread = math.hypot(first.spread_mm, second.spread_mm)
    resolution = math.hypot(first.resolution_mm, second.resolution_mm)
    frames = min(first.frames, second.frames)
    return Interval(median, median - half, median + half, spread, resolution, frames)


def at_or_below(interval: Interval, threshold_mm: float, tolerance_mm: float = 1e-9) -> str:
    """``yes`` when the whole interval is ≤ the threshold, ``no`` when all of it is above,
    ``borderline`` when it straddles, ``not assessable`` when it is undefined."""
    if not math.isfinite(interval.median_mm):
        return NOT_ASSESSABLE
    if interval.high_mm <= threshold_mm + tolerance_mm:
        return YES
    if interval.low_mm > threshold_mm + tolerance_mm:
        return NO
    return BORDERLINE


def magnitude_at_least(interval: Interval, threshold_mm: float, tolerance_mm: float = 1e-9) -> str:
    """For |value| ≥ threshold: ``yes`` when every value of the interval has |v| ≥ it,
    ``no`` when every value has |v| < it, ``borderline`` otherwise."""
    if not math.isfinite(interval.median_mm):
        return NOT_ASSESSABLE
    smallest = (
        0.0
        if interval.low_mm <= 0.0 <= interval.high_mm
        else min(abs(interval.low_mm), abs(interval.high_mm))
    )
    largest = max(abs(interval.low_mm), abs(interval.high_mm))
    if smallest >= threshold_mm - tolerance_mm:
        return YES
    if largest < threshold_mm - tolerance_mm:
        return NO
    return BORDERLINE
