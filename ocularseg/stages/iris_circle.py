"""Robust iris-circle fit to the limbus (the iris/sclera border) of a label map.

Coordinates are continuous crop px: pixel ``labels[i, j]`` is the unit square centred on
``(x, y) = (j, i)``, so x grows to the right and y downward.

Which points are fitted
    Only the **limbus**: edges between a pixel of the visible iris disc D = iris ∪ pupil and
    a 4-neighbouring sclera pixel. Where D borders background it borders the eyelid, and
    those points trace the lid, not the limbus; fitting them would pull the circle towards
    the lid (a lid-cut disc would come out too small and shifted down). Each D/sclera
    pixel pair contributes the midpoint between the two pixel centres, i.e. the middle of
    the shared pixel edge; the true boundary crosses that edge at a uniformly distributed
    offset, so the midpoints are unbiased and a full disc's radius comes out right
    (a fit to the D pixel centres alone would read about 0.5 px small). Only the largest
    8-connected component of D is used, so a stray iris blob elsewhere cannot drag the fit.

How the circle is fitted
    1. Algebraic (Kåsa) least squares, ``x² + y² + a·x + b·y + c = 0``: closed form, used
       only as the starting point (it is biased towards small radii on short arcs).
    2. Geometric refinement of ``‖p − c‖ − r`` with ``scipy.optimize.least_squares`` and a
       ``soft_l1`` robust loss of scale ``IrisFitParams.robust_scale_px``, so misclassified
       pixels (eyelashes, reflections, the corners where lid meets limbus) are down-weighted.

When no circle is returned (``IrisFit.reason``)
    ``no_iris``                 D is empty.
    ``too_few_limbus_points``   fewer than ``min_limbus_points`` D/sclera edge points, or
                                fewer than that many inliers after the fit.
    ``arc_too_short``           the inliers span less than ``min_arc_span_deg`` of the
                                circle (span = 360° minus the widest angular gap between
                                inliers, seen from the fitted centre). A short arc (extreme
                                side gaze with a droopy lid) fixes the curvature poorly,
                                so the radius — and with it every mm value — is unreliable.
    ``fit_failed``              the points are degenerate (e.g. collinear) or the optimiser
                                did not converge to a finite circle.
    ``radius_out_of_range``     r outside [``min_radius_px``, ``max_radius_px``].
    ``poor_fit``                inlier fraction below ``min_inlier_fraction`` or inlier RMS
                                residual above ``max_rms_residual_px``: the border is not a
                                circle (bad segmentation).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy import ndimage, optimize

from ocularseg.core.labels import Label
from ocularseg.core.params import require_order
from ocularseg.stages._label_map import check_label_map, iris_disc_mask

logger = logging.getLogger(__name__)

FitFailure = Literal[
    "no_iris",
    "too_few_limbus_points",
    "arc_too_short",
    "fit_failed",
    "radius_out_of_range",
    "poor_fit",
]

#: 8-connectivity, so a disc cut into touching pieces by a thin lash stays one component.
_EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


class IrisFitParams(BaseModel):
    """Thresholds of the iris-circle fit (all lengths in crop px of the 480×320 crop).

    Attributes:
        min_limbus_points: fewest D/sclera edge points (and inliers) to attempt / accept a fit.
        min_arc_span_deg: smallest angle (degrees, 0–360) the inlier limbus points must span
            around the fitted centre. 60° of a 50 px radius iris is a ~52 px arc, enough to
            fix the curvature to a few percent with sub-pixel points.
        robust_scale_px: scale of the ``soft_l1`` loss (crop px); residuals well beyond it
            count linearly rather than quadratically. About 2× the digitisation noise.
        inlier_tolerance_px: |residual| (crop px) up to which a point is an inlier, for the
            arc span, the inlier fraction and the reported RMS.
        min_inlier_fraction: smallest fraction (0–1) of limbus points that must be inliers.
        max_rms_residual_px: largest accepted RMS residual of the inliers (crop px).
        min_radius_px: smallest plausible iris radius (crop px).
        max_radius_px: largest plausible iris radius (crop px); the crop is 480 px wide.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_limbus_points: int = Field(default=20, ge=3)
    min_arc_span_deg: float = Field(default=60.0, ge=0.0, le=360.0)
    robust_scale_px: float = Field(default=1.0, gt=0.0)
    inlier_tolerance_px: float = Field(default=2.0, gt=0.0)
    min_inlier_fraction: float = Field(default=0.6, ge=0.0, le=1.0)
    max_rms_residual_px: float = Field(default=1.5, gt=0.0)
    min_radius_px: float = Field(default=8.0, gt=0.0)
    max_radius_px: float = Field(default=240.0, gt=0.0)

    @model_validator(mode="after")
    def _radius_range(self) -> IrisFitParams:
        require_order(self, "min_radius_px", "max_radius_px")
        return self


@dataclass(frozen=True)
class IrisCircle:
    """The fitted limbus circle, in continuous crop px (pixel (i, j) centred at (j, i)).

    Attributes:
        cx_px: centre x (column direction), crop px.
        cy_px: centre y (row direction, downward), crop px.
        radius_px: radius, crop px.
        n_points: limbus edge points fed to the fit.
        n_inliers: points with |residual| <= ``inlier_tolerance_px``.
        rms_residual_px: RMS geometric residual of the inliers, crop px.
        arc_span_deg: angle (degrees) spanned by the inliers around the centre.
    """

    cx_px: float
    cy_px: float
    radius_px: float
    n_points: int
    n_inliers: int
    rms_residual_px: float
    arc_span_deg: float


@dataclass(frozen=True)
class IrisFit:
    """Outcome of :func:`fit_iris_circle_detailed`: a circle, or None and why."""

    circle: IrisCircle | None
    reason: FitFailure | None = None


def limbus_points(labels: np.ndarray) -> np.ndarray:
    """Sub-pixel points on the border between the iris disc D and the sclera.

    Args:
        labels: (H, W) label map, crop px.

    Returns:
        float64 array (N, 2) of (x, y) in crop px: the midpoint of every pair of 4-neighbour
        pixels where one is in the largest 8-connected component of D and the other is
        sclera. Borders with background (the lids), caruncle and the crop edge give no
        points. N = 0 when D is empty or never touches sclera.
    """
    labels = check_label_map(labels)
    disc = _largest_component(iris_disc_mask(labels))
    sclera = labels == Label.SCLERA
    # Horizontal neighbours (i, j)-(i, j+1): midpoint (j + 0.5, i).
    horiz = (disc[:, :-1] & sclera[:, 1:]) | (sclera[:, :-1] & disc[:, 1:])
    rows_h, cols_h = np.nonzero(horiz)
    # Vertical neighbours (i, j)-(i+1, j): midpoint (j, i + 0.5).
    vert = (disc[:-1, :] & sclera[1:, :]) | (sclera[:-1, :] & disc[1:, :])
    rows_v, cols_v = np.nonzero(vert)
    x = np.concatenate([cols_h + 0.5, cols_v.astype(np.float64)])
    y = np.concatenate([rows_h.astype(np.float64), rows_v + 0.5])
    return np.column_stack([x, y])


def fit_circle_kasa(points_px: np.ndarray) -> tuple[float, float, float] | None:
    """Algebraic (Kåsa) least-squares circle through points.

    Args:
        points_px: (N, 2) array of (x, y), any pixel unit.

    Returns:
        (cx, cy, r) in the points' unit, or None when N < 3 or the points are degenerate
        (collinear or coincident).
    """
    pts = np.asarray(points_px, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 3:
        return None
    # Centre the points first: it keeps the normal equations well conditioned at
    # coordinates of a few hundred px.
    origin = pts.mean(axis=0)
    x, y = (pts - origin).T
    design = np.column_stack([x, y, np.ones_like(x)])
    target = -(x**2 + y**2)
    (a, b, c), _, rank, _ = np.linalg.lstsq(design, target, rcond=None)
    if rank < 3:
        return None
    cx, cy = -a / 2.0, -b / 2.0
    r_squared = cx**2 + cy**2 - c
    if not np.isfinite(r_squared) or r_squared <= 0:
        return None
    return float(cx + origin[0]), float(cy + origin[1]), float(np.sqrt(r_squared))


def fit_circle_robust(points_px: np.ndarray, params: IrisFitParams | None = None) -> IrisFit:
    """Robust geometric circle fit (Kåsa start, ``soft_l1`` refinement) with quality checks.

    Args:
        points_px: (N, 2) array of (x, y) in crop px.
        params: fit thresholds; defaults to ``IrisFitParams()``.

    Returns:
        ``IrisFit`` with the circle, or ``circle=None`` and the failure reason (see the
        module docstring for the rules).
    """
    params = params or IrisFitParams()
    pts = np.asarray(points_px, dtype=np.float64).reshape(-1, 2)
    n_points = len(pts)
    if n_points < params.min_limbus_points:
        return IrisFit(None, "too_few_limbus_points")
    start = fit_circle_kasa(pts)
    if start is None:
        return IrisFit(None, "fit_failed")

    solution = _refine(pts, start, params.robust_scale_px)
    if solution is None:
        return IrisFit(None, "fit_failed")
    cx, cy, radius = solution
    # least_squares may converge to a negative radius (same circle); normalise it.
    radius = abs(radius)
    if not params.min_radius_px <= radius <= params.max_radius_px:
        return IrisFit(None, "radius_out_of_range")

    x, y = pts.T
    res = np.hypot(x - cx, y - cy) - radius
    inliers = np.abs(res) <= params.inlier_tolerance_px
    n_inliers = int(inliers.sum())
    if n_inliers < params.min_limbus_points:
        return IrisFit(None, "too_few_limbus_points")
    span_deg = arc_span_deg(x[inliers] - cx, y[inliers] - cy)
    rms = float(np.sqrt(np.mean(res[inliers] ** 2)))
    circle = IrisCircle(cx, cy, radius, n_points, n_inliers, rms, span_deg)
    if span_deg < params.min_arc_span_deg:
        return IrisFit(None, "arc_too_short")
    if n_inliers / n_points < params.min_inlier_fraction or rms > params.max_rms_residual_px:
        return IrisFit(None, "poor_fit")
    return IrisFit(circle)


def _refine(
    pts: np.ndarray, start: tuple[float, float, float], robust_scale_px: float
) -> tuple[float, float, float] | None:
    """Robust (soft-L1) least-squares circle (cx, cy, r) from a start, crop px; None when
    the solver fails or gives non-finite values (r may come out negative)."""
    x, y = pts.T

    def residuals(p: np.ndarray) -> np.ndarray:
        return np.hypot(x - p[0], y - p[1]) - p[2]

    def jacobian(p: np.ndarray) -> np.ndarray:
        # Guard the distance so a point on the centre gives a zero (not NaN) row.
        dist = np.maximum(np.hypot(x - p[0], y - p[1]), 1e-12)
        return np.column_stack([-(x - p[0]) / dist, -(y - p[1]) / dist, -np.ones_like(x)])

    try:
        solution = optimize.least_squares(
            residuals,
            np.asarray(start),
            jac=jacobian,
            loss="soft_l1",
            f_scale=robust_scale_px,
            method="trf",
        )
    except (ValueError, np.linalg.LinAlgError) as exc:  # pragma: no cover - defensive
        logger.debug("iris circle refinement raised %s", exc)
        return None
    cx, cy, radius = (float(v) for v in solution.x)
    if not (solution.success and np.isfinite([cx, cy, radius]).all()):
        return None
    return cx, cy, radius


def fit_iris_circle_detailed(labels: np.ndarray, params: IrisFitParams | None = None) -> IrisFit:
    """Fit the iris circle to the limbus of a label map and say why when it cannot.

    Args:
        labels: (H, W) label map in crop px (values in ``Label``).
        params: fit thresholds; defaults to ``IrisFitParams()``.

    Returns:
        ``IrisFit``: the circle in crop px, or None with a reason (module docstring).

    Raises:
        InputError: ``labels`` is not a valid label map.
    """
    labels = check_label_map(labels)
    if not iris_disc_mask(labels).any():
        return IrisFit(None, "no_iris")
    fit = fit_circle_robust(limbus_points(labels), params)
    if fit.circle is None:
        logger.debug("iris circle not found: %s", fit.reason)
    return fit


def fit_iris_circle(labels: np.ndarray, params: IrisFitParams | None = None) -> IrisCircle | None:
    """Fit the iris circle to the limbus; None when it cannot be found reliably.

    See :func:`fit_iris_circle_detailed` for the reason when None is returned.

    Args:
        labels: (H, W) label map in crop px (values in ``Label``).
        params: fit thresholds; defaults to ``IrisFitParams()``.

    Returns:
        The circle (centre and radius in crop px) or None.
    """
    return fit_iris_circle_detailed(labels, params).circle


def _largest_component(mask: np.ndarray) -> np.ndarray:
    components, count = ndimage.label(mask, structure=_EIGHT_CONNECTED)
    if count <= 1:
        return mask
    sizes = np.bincount(components.ravel())
    sizes[0] = 0
    return components == int(np.argmax(sizes))


def arc_span_deg(dx: np.ndarray, dy: np.ndarray) -> float:
    """Degrees of the circle covered by points at offsets (dx, dy) from its centre."""
    if len(dx) == 0:
        return 0.0
    angles = np.sort(np.arctan2(dy, dx))
    gaps = np.diff(angles, append=angles[0] + 2.0 * np.pi)
    return float(np.degrees(2.0 * np.pi - gaps.max()))
