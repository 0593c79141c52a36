"""One iris radius per person: refit the centre of a lid-covered iris with it.

Pure NumPy/SciPy. When the upper lid covers the top of the iris, the limbus circle is
fitted to the lower arc alone, and the model tends to draw that arc a little narrow at the
sides and long at the bottom: the free fit comes out small and low, and MRD1 reads high
exactly where it matters, at low true MRD1 (exact-truth phantoms; ``docs/experiments.md``).
The iris does not change size between the frames of one recording, and barely between a
person's two eyes, so the radius measured where the iris is (nearly) fully visible is a
better radius for the covered one than its own short arc gives.

The rule (``SharedRadiusParams``):

* reference rows: the input's rows (both eyes) that are used (no excluding flag, no failed
  gate, not a blink) and whose visible iris fraction is at least
  ``min_reference_fraction`` (default 0.85);
* the shared radius of a row: the median ``iris_radius_frame_px`` of the reference rows
  within ``window_s`` (default 0.5 s) of it — the other eye of the same frame included —
  else of all reference rows. A head that moves towards the camera changes every radius
  in frame px together, so nearby frames give the right size;
* a row with a fitted circle and a visible iris fraction below that gets its centre refitted
  to its own limbus points with the radius fixed at the reference (in its crop's px), when
  its free radius is within ``max_radius_change`` of it and the refit passes the fit's own
  checks (inliers, RMS); its measurements are then recomputed with that circle and it is
  flagged ``iris_radius_shared``.

On the sample phantom video's drooping eye this removes most of the MRD1 bias of the
low-MRD1 frames and brings the eye's MRD1 slope nearer the truth
(``benchmarks/video_accuracy.py [--no-shared-radius]``; ``docs/experiments.md``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import optimize

from ocularseg.core.records import EyeRow, Flag
from ocularseg.stages.iris_circle import IrisCircle, IrisFitParams, arc_span_deg, limbus_points

#: Flag on a row whose iris circle took the input's shared radius (a note, not excluding).
FLAG_IRIS_RADIUS_SHARED = Flag.IRIS_RADIUS_SHARED


class SharedRadiusParams(BaseModel):
    """When and how a covered iris takes the radius of the input's fully visible irises.

    Attributes:
        enabled: refit covered irises with the shared radius at all.
        min_reference_fraction: smallest visible iris fraction (0–1) of a reference row;
            rows below it are the ones refitted.
        max_radius_change: largest relative difference between a row's free radius and
            the shared one for the refit to be tried (a bigger one is a different problem,
            left to the ``iris_size_inconsistent`` gate).
        window_s: reference rows this close in time (s) to a row give its radius; with
            none that close, all reference rows do.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    min_reference_fraction: float = Field(default=0.85, gt=0.0, le=1.0)
    max_radius_change: float = Field(default=0.15, gt=0.0, le=1.0)
    window_s: float = Field(default=0.5, ge=0.0)


def reference_radii(
    rows: Sequence[EyeRow],
    params: SharedRadiusParams,
) -> tuple[np.ndarray, np.ndarray]:
    """Timestamps (s) and iris radii (frame px) of the input's reference rows.

    Args:
        rows: measurement rows of one input (both eyes).
        params: the rule's thresholds.

    Returns:
        ``(timestamps_s, radii_frame_px)`` of the used rows (no exclusion reason,
        ``core.exclusion``) whose visible iris fraction is at least
        ``params.min_reference_fraction``; both empty when none qualifies.
    """
    pairs = [
        (row.timestamp_s, row.value("iris_radius_frame_px"))
        for row in rows
        if not row.exclusion_reasons()
        and math.isfinite(row.value("iris_radius_frame_px"))
        and row.value("visible_iris_fraction") >= params.min_reference_fraction
    ]
    if not pairs:
        return np.empty(0), np.empty(0)
    times, radii = np.asarray(pairs, dtype=np.float64).T
    return times, radii


def shared_radius_frame_px(
    timestamp_s: float, references: tuple[np.ndarray, np.ndarray], params: SharedRadiusParams
) -> float:
    """The shared iris radius (frame px) for a row at ``timestamp_s``; NaN without references.

    The median of the reference radii within ``params.window_s`` of the row, else of all.
    """
    times, radii = references
    if radii.size == 0:
        return math.nan
    near = np.abs(times - timestamp_s) <= params.window_s + 1e-9
    return float(np.median(radii[near] if near.any() else radii))


def wants_refit(row: EyeRow, shared_frame_px: float, params: SharedRadiusParams) -> bool:
    """True when ``row``'s iris is covered enough and its free radius near the shared one."""
    radius = row.value("iris_radius_frame_px")
    fraction = row.value("visible_iris_fraction")
    if not (math.isfinite(radius) and math.isfinite(shared_frame_px) and math.isfinite(fraction)):
        return False
    if fraction >= params.min_reference_fraction:
        return False
    return abs(radius / shared_frame_px - 1.0) <= params.max_radius_change


def fit_centre_with_radius(
    labels: np.ndarray,
    radius_px: float,
    start_px: tuple[float, float],
    fit_params: IrisFitParams | None = None,
) -> IrisCircle | None:
    """The limbus circle of a label map with its radius fixed: only the centre is fitted.

    Args:
        labels: (H, W) label map in crop px.
        radius_px: the fixed radius (crop px).
        start_px: starting centre (x, y) in crop px, e.g. the free fit's.
        fit_params: the fit's thresholds (robust scale, inlier tolerance, minimum points,
            minimum inlier fraction, largest RMS); defaults to ``IrisFitParams()``.

    Returns:
        The circle (its ``arc_span_deg`` from the inliers), or None when there are too few
        limbus points or inliers, or the residuals break the fit's limits.
    """
    params = fit_params or IrisFitParams()
    points = limbus_points(labels)
    if len(points) < params.min_limbus_points:
        return None
    x, y = points.T

    def residuals(centre: np.ndarray) -> np.ndarray:
        return np.hypot(x - centre[0], y - centre[1]) - radius_px

    solution = optimize.least_squares(
        residuals,
        np.asarray(start_px, dtype=np.float64),
        loss="soft_l1",
        f_scale=params.robust_scale_px,
        method="trf",
    )
    cx, cy = (float(v) for v in solution.x)
    if not (solution.success and math.isfinite(cx) and math.isfinite(cy)):
        return None
    res = residuals(solution.x)
    inliers = np.abs(res) <= params.inlier_tolerance_px
    n_inliers = int(inliers.sum())
    if n_inliers < params.min_limbus_points or n_inliers / len(points) < params.min_inlier_fraction:
        return None
    rms = float(np.sqrt(np.mean(res[inliers] ** 2)))
    if rms > params.max_rms_residual_px:
        return None
    span_deg = arc_span_deg(x[inliers] - cx, y[inliers] - cy)
    return IrisCircle(cx, cy, float(radius_px), len(points), n_inliers, rms, span_deg)
