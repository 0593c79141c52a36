"""The measurement stage: areas, ratios, iris circle and lid distances of one eye crop.

Pure NumPy/SciPy. Input is a segmentation label map (H, W) in crop px (normally 480×320)
with the values of ``Label``; output is one flat ``dict[str, float]`` with every column of
docs/measurements.md (always the same keys, ``MEASUREMENT_COLUMNS``, NaN where undefined) plus
quality flags.

Units, by column suffix
    ``_px``        crop px (pixels of the eye crop); areas are pixel counts.
    ``_frame_px``  frame px: lengths ÷ ``scale_crop_per_frame``, areas ÷ its square.
    ``_mm``        millimetres via the iris ruler: crop px × ``mm_per_crop_px`` where
                   ``mm_per_crop_px = iris_diameter_mm / (2 r)`` (r the fitted radius in
                   crop px). Both ``mm_per_crop_px`` and ``iris_diameter_mm`` are reported.
    no suffix      dimensionless ratios / fractions, or counts (``iris_fit_points``).

Geometry conventions (so mask values match the analytic ones within 1 px)
    * Pixel ``labels[i, j]`` is the unit square centred on the continuous point
      ``(x, y) = (j, i)``; y grows downward. The iris centre (cx, cy) is in these
      coordinates (see ``iris_circle``).
    * Centre column = ``floor(cx + 0.5)`` (round half up, not NumPy's half-to-even).
    * A lid margin lies on the pixel *edge* between background and the opening: the upper
      lid at ``y = top_row − 0.5`` (``top_row`` = first row of O in the centre column),
      the lower lid at ``y = bottom_row + 0.5``. A pixel is in the opening when its centre
      is, so the edge is within ±0.5 px of the true margin and unbiased (using the pixel
      centre would read the upper lid 0.5 px low on average). Hence
      ``mrd1 = cy − (top_row − 0.5)``, ``mrd2 = (bottom_row + 0.5) − cy`` and
      ``fissure_height = bottom_row − top_row + 1`` (the number of pixel rows spanned).
      By default (``MeasureParams.lid_margin_half_width_r``) each margin's edge in the
      centre column is instead read from a robust quadratic fitted to the edges of the
      nearby columns (``stages.lid_margin``); fissure height is then lower − upper edge.
    * ``superior_scleral_show = max(0, top_row(D) − top_row(O))`` in the centre column and
      ``inferior_scleral_show = max(0, bottom_row(O) − bottom_row(D))``.
    * ``visible_iris_fraction = area(D) / (π r²)`` uses every D pixel; digitisation can
      put a full disc a hair above 1.0, and the lateral canthus in extreme side gaze
      lowers it just as a lid does (read it with the gaze direction in mind).
    * ``opening_height_max`` = the most opening pixels in any one column; it needs no iris,
      so it is the blink / closed-eye signal.
    * ``lid_clock_hours``: the clock-face arc of the iris circle (12 o'clock at the top)
      hidden under the upper lid — the contiguous run of background through 12 o'clock,
      sampled 1 px inside the fitted circle. 0 = the top of the iris is visible; 4 = lid
      crossing the limbus at 10 and 2 o'clock; 6 = lid at the iris centre. Samples outside
      the crop count as not covered.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ocularseg.core.containers import EyeMeasurement, Side
from ocularseg.core.errors import InputError
from ocularseg.core.labels import Label
from ocularseg.core.records import Flag
from ocularseg.stages._label_map import check_label_map, iris_disc_mask, opening_mask
from ocularseg.stages.amodal_iris import circle_offset_r, fit_amodal_circle
from ocularseg.stages.gates import GateParams
from ocularseg.stages.iris_circle import (
    FitFailure,
    IrisCircle,
    IrisFitParams,
    fit_iris_circle_detailed,
)
from ocularseg.stages.lid_margin import margin_at_column_px, margin_edges_px
from ocularseg.stages.lid_refine import LidRefineParams, refine_edges_px
from ocularseg.stages.pupil_check import PupilCheckParams, check_pupil
from ocularseg.stages.reflex import ReflexParams, ReflexResult, find_reflex
from ocularseg.stages.shared_radius import SharedRadiusParams

logger = logging.getLogger(__name__)

NAN = float("nan")

#: Lower-case class names in label order: background, sclera, iris, pupil, caruncle.
CLASS_NAMES: tuple[str, ...] = tuple(label.name.lower() for label in Label)
#: Area columns: each class, then O (opening) and D (iris_disc).
AREA_NAMES: tuple[str, ...] = (*CLASS_NAMES, "opening", "iris_disc")
RATIO_COLUMNS: tuple[str, ...] = (
    "iris_opening_ratio",
    "sclera_opening_ratio",
    "pupil_iris_ratio",
    "caruncle_opening_ratio",
)
#: Lengths reported in crop px, frame px and mm.
LENGTH_NAMES: tuple[str, ...] = (
    "mrd1",
    "mrd2",
    "fissure_height",
    "superior_scleral_show",
    "inferior_scleral_show",
    "opening_height_max",
)
IRIS_COLUMNS: tuple[str, ...] = (
    "iris_cx_px",
    "iris_cy_px",
    "iris_radius_px",
    "iris_radius_frame_px",
    "iris_fit_points",
    "iris_fit_inliers",
    "iris_fit_rms_px",
    "iris_fit_arc_deg",
    "visible_iris_fraction",
    "lid_clock_hours",
    "iris_limbus_offset_r",
    "iris_limbus_radius_ratio",
)
#: The corneal light reflex (``stages.reflex``): position in crop px, distance from the
#: iris centre in iris radii, peak contrast in 8-bit luminance levels.
REFLEX_COLUMNS: tuple[str, ...] = (
    "reflex_x_px",
    "reflex_y_px",
    "reflex_offset_r",
    "reflex_contrast",
)
#: The predicted pupil against the iris circle (``stages.pupil_check``): equivalent-area
#: radius and centroid offset of its largest component, both in iris radii.
PUPIL_COLUMNS: tuple[str, ...] = ("pupil_radius_r", "pupil_offset_r")
#: Lid distances from the reflex instead of the iris centre, in crop px, frame px and mm.
REFLEX_LENGTH_NAMES: tuple[str, ...] = ("mrd1_reflex", "mrd2_reflex")
SCALE_COLUMNS: tuple[str, ...] = (
    "scale_crop_per_frame",
    "iris_diameter_mm",
    "mm_per_crop_px",
    "mm_per_frame_px",
)
#: Every key of :func:`measure_eye`'s result, in report order.
MEASUREMENT_COLUMNS: tuple[str, ...] = (
    *(f"area_{name}_{unit}" for name in AREA_NAMES for unit in ("px", "frame_px")),
    *RATIO_COLUMNS,
    *IRIS_COLUMNS,
    *PUPIL_COLUMNS,
    *(f"{name}_{unit}" for name in LENGTH_NAMES for unit in ("px", "frame_px", "mm")),
    *REFLEX_COLUMNS,
    *(f"{name}_{unit}" for name in REFLEX_LENGTH_NAMES for unit in ("px", "frame_px", "mm")),
    *SCALE_COLUMNS,
)

FLAG_EYE_CLOSED = Flag.EYE_CLOSED
#: The model predicts the whole iris disc but it gave no circle; the visible limbus did.
FLAG_IRIS_FROM_LIMBUS = Flag.IRIS_FROM_LIMBUS
#: The visible limbus gave no circle; the model's whole iris disc did.
FLAG_IRIS_FROM_AMODAL = Flag.IRIS_FROM_AMODAL
FLAG_IRIS_NOT_FOUND = Flag.IRIS_NOT_FOUND
#: Detail flag added beside ``iris_not_found`` saying why (see ``iris_circle``).
IRIS_REASON_FLAGS: dict[FitFailure, str] = {
    "no_iris": Flag.IRIS_ABSENT,
    "too_few_limbus_points": Flag.IRIS_TOO_FEW_LIMBUS_POINTS,
    "arc_too_short": Flag.IRIS_ARC_TOO_SHORT,
    "fit_failed": Flag.IRIS_FIT_FAILED,
    "radius_out_of_range": Flag.IRIS_RADIUS_OUT_OF_RANGE,
    "poor_fit": Flag.IRIS_POOR_FIT,
}

#: How far inside the fitted circle the lid-clock samples lie (crop px), so a sample on
#: a visible limbus lands in D rather than on the iris/sclera border.
_CLOCK_INSET_PX = 1.0
_CLOCK_SAMPLES = 720  # every half degree


class MeasureParams(BaseModel):
    """Parameters of the measurement stage (frozen; unknown keys are an error).

    Attributes:
        iris_diameter_mm: assumed horizontal visible iris diameter (mm), the in-image
            ruler: about 11.7 mm in adults (PeriorbitAI uses 11.71, Emotrics 11.77).
        min_opening_area_px: eye is flagged ``eye_closed`` when the opening O has fewer
            pixels than this (crop px, i.e. pixel count in the 480×320 crop).
        min_opening_height_px: eye is flagged ``eye_closed`` when no column of the crop
            holds this many opening pixels (crop px). An open adult eye is typically
            60–150 crop px tall; these defaults are screening heuristics, not validated
            clinical cut-offs.
        iris_source: where the iris circle comes from when the model also predicts the
            whole iris disc (``stages.amodal_iris``): ``"amodal"`` fits that disc's border
            (the visible-limbus fit is kept as a cross-check: ``iris_limbus_offset_r`` and
            ``iris_limbus_radius_ratio``, and the fallback when the disc gives no circle);
            ``"limbus_then_amodal"`` fits the visible limbus and takes the disc's circle
            only where the limbus gives none (flag ``iris_from_amodal_disc``);
            ``"limbus"`` fits the visible limbus only, as for models without the disc.
        iris_fit: thresholds of the limbus circle fit (``IrisFitParams``, crop px).
        gates: thresholds of the quality gates that decide whether a measurement is
            reported (``GateParams``; see ``stages.gates``).
        lid_margin_half_width_r: MRD1, MRD2 and the fissure height read each lid margin
            from a robust quadratic fitted over the columns within this many iris radii of
            the centre column (``stages.lid_margin``), so a notch of lashes labelled skin
            does not move them; 0 reads the centre column alone.
        shared_radius: when a lid-covered iris takes the radius of the input's fully
            visible irises (``stages.shared_radius``; applied by ``analyze``).
        reflex: the corneal-reflex search (``stages.reflex``); it runs only when the crop
            image is given (``analyze`` gives it).
        lid_refine: the sub-pixel lid margins against the image (``stages.lid_refine``);
            also only with the crop image.
        pupil: the check of the predicted pupil against the iris circle
            (``stages.pupil_check``): a pupil that is absent, off-centre or of no human
            size leaves ``pupil_iris_ratio`` empty and flags the row.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    iris_diameter_mm: float = Field(default=11.7, gt=0.0)
    iris_source: Literal["amodal", "limbus_then_amodal", "limbus"] = "amodal"
    min_opening_area_px: int = Field(default=500, ge=0)
    min_opening_height_px: float = Field(default=10.0, ge=0.0)
    iris_fit: IrisFitParams = Field(default_factory=IrisFitParams)
    gates: GateParams = Field(default_factory=GateParams)
    lid_margin_half_width_r: float = Field(default=0.8, ge=0.0, le=3.0)
    shared_radius: SharedRadiusParams = Field(default_factory=SharedRadiusParams)
    reflex: ReflexParams = Field(default_factory=ReflexParams)
    lid_refine: LidRefineParams = Field(default_factory=LidRefineParams)
    pupil: PupilCheckParams = Field(default_factory=PupilCheckParams)


def class_areas_px(labels: np.ndarray) -> dict[str, int]:
    """Pixel count of every class.

    Args:
        labels: (H, W) label map in crop px.

    Returns:
        ``{"area_background_px": n, "area_sclera_px": n, "area_iris_px": n,
        "area_pupil_px": n, "area_caruncle_px": n}`` in crop px (pixel counts).

    Raises:
        InputError: ``labels`` is not a valid label map.
    """
    labels = check_label_map(labels)
    counts = np.bincount(labels.ravel().astype(np.intp), minlength=len(Label))
    return {
        f"area_{name}_px": int(counts[int(label)])
        for name, label in zip(CLASS_NAMES, Label, strict=True)
    }


def opening_ratios(areas_px: Mapping[str, float]) -> dict[str, float]:
    """Area ratios of docs/measurements.md from class areas.

    Args:
        areas_px: per-class areas as returned by :func:`class_areas_px` (any one unit).

    Returns:
        ``iris_opening_ratio`` = D/O, ``sclera_opening_ratio`` = sclera/O,
        ``pupil_iris_ratio`` = pupil/D, ``caruncle_opening_ratio`` = caruncle/O, where
        D = iris ∪ pupil and O = sclera ∪ iris ∪ pupil ∪ caruncle. NaN where the
        denominator is 0.
    """
    sclera = float(areas_px["area_sclera_px"])
    pupil = float(areas_px["area_pupil_px"])
    caruncle = float(areas_px["area_caruncle_px"])
    disc = float(areas_px["area_iris_px"]) + pupil
    opening = sclera + disc + caruncle
    return {
        "iris_opening_ratio": _ratio(disc, opening),
        "sclera_opening_ratio": _ratio(sclera, opening),
        "pupil_iris_ratio": _ratio(pupil, disc),
        "caruncle_opening_ratio": _ratio(caruncle, opening),
    }


def lid_distances_px(
    labels: np.ndarray,
    circle: IrisCircle,
    margin_half_width_px: float = 0.0,
    edges: MarginEdges | None = None,
) -> dict[str, float]:
    """MRD1, MRD2, fissure height and scleral show in the column through the iris centre.

    Args:
        labels: (H, W) label map in crop px.
        circle: the fitted iris circle (crop px).
        margin_half_width_px: read each lid margin in the centre column from a trimmed
            quadratic fitted to the margin over the columns within this many crop px
            (``stages.lid_margin``), so that a notch of lashes labelled skin does not move
            MRD1; below 1 px, the centre column alone (the literal docs/measurements.md reading).
        edges: the margin edges to read (:func:`margin_edges`; refined against the image
            by ``measure_eye_crop`` when it has the crop); None takes the mask's.

    Returns:
        ``mrd1_px``, ``mrd2_px``, ``fissure_height_px``, ``superior_scleral_show_px``,
        ``inferior_scleral_show_px`` in crop px (conventions in the module docstring).
        All NaN when the centre column is outside the crop or holds no opening; the
        scleral shows are NaN when the column holds no D.
    """
    labels = check_label_map(labels)
    out = dict.fromkeys(
        (
            "mrd1_px",
            "mrd2_px",
            "fissure_height_px",
            "superior_scleral_show_px",
            "inferior_scleral_show_px",
        ),
        NAN,
    )
    column = math.floor(circle.cx_px + 0.5)
    margins = lid_margins_px(labels, column, margin_half_width_px, edges)
    if margins is None:
        return out
    upper_y, lower_y = margins
    opening_rows = np.flatnonzero(opening_mask(labels[:, column]))
    top, bottom = int(opening_rows[0]), int(opening_rows[-1])
    out["mrd1_px"] = circle.cy_px - upper_y
    out["mrd2_px"] = lower_y - circle.cy_px
    out["fissure_height_px"] = float(lower_y - upper_y)
    disc_rows = np.flatnonzero(iris_disc_mask(labels[:, column]))
    if disc_rows.size:
        out["superior_scleral_show_px"] = float(max(0, int(disc_rows[0]) - top))
        out["inferior_scleral_show_px"] = float(max(0, bottom - int(disc_rows[-1])))
    return out


def lid_margins_px(
    labels: np.ndarray,
    column: int,
    margin_half_width_px: float = 0.0,
    edges: MarginEdges | None = None,
) -> tuple[float, float] | None:
    """The upper and lower lid margin (y, crop px) where they cross ``column``.

    Args:
        labels: (H, W) label map in crop px.
        column: the crop column (e.g. through the iris centre or the corneal reflex).
        margin_half_width_px: as in :func:`lid_distances_px` (below 1: the column alone).
        edges: the margin edge of every column (:func:`margin_edges`, refined against the
            image or not); None takes the label map's pixel edges.

    Returns:
        ``(upper_y, lower_y)`` (module docstring), or None when the column is outside the
        crop or holds no opening.
    """
    if not 0 <= column < labels.shape[1]:
        return None
    if not opening_mask(labels[:, column]).any():
        return None
    edges = edges or margin_edges(labels)
    upper_y = margin_at_column_px(edges.columns, edges.upper_y, column, margin_half_width_px)
    lower_y = margin_at_column_px(edges.columns, edges.lower_y, column, margin_half_width_px)
    return upper_y, lower_y


@dataclass(frozen=True)
class MarginEdges:
    """The upper and lower margin edge (y, crop px) of every column with opening: the label
    map's pixel edges, or those moved to the image's steps (``stages.lid_refine``)."""

    columns: np.ndarray
    upper_y: np.ndarray
    lower_y: np.ndarray


def margin_edges(
    labels: np.ndarray,
    image: np.ndarray | None = None,
    radius_px: float = NAN,
    params: LidRefineParams | None = None,
) -> MarginEdges:
    """Every column's lid margin edges, refined against ``image`` when it is given.

    Args:
        labels: (H, W) label map in crop px.
        image: the RGB uint8 (H, W, 3) crop, or None for the mask's edges alone.
        radius_px: iris radius (crop px), which scales the refinement's search.
        params: refinement parameters (``stages.lid_refine``).
    """
    columns, upper, lower = margin_edges_px(opening_mask(labels))
    params = params or LidRefineParams()
    if image is None or not params.enabled or not math.isfinite(radius_px) or columns.size == 0:
        return MarginEdges(columns, upper, lower)
    return MarginEdges(
        columns,
        refine_edges_px(image, columns, upper, radius_px, "upper", params),
        refine_edges_px(image, columns, lower, radius_px, "lower", params),
    )


def reflex_distances_px(
    labels: np.ndarray,
    reflex: ReflexResult,
    margin_half_width_px: float = 0.0,
    edges: MarginEdges | None = None,
) -> dict[str, float]:
    """MRD1 and MRD2 from the corneal light reflex: reflex to each lid in its column.

    Args:
        labels: (H, W) label map in crop px.
        reflex: a found reflex (``stages.reflex``), crop px.
        margin_half_width_px: as in :func:`lid_distances_px`.
        edges: as in :func:`lid_margins_px`.

    Returns:
        ``mrd1_reflex_px`` (reflex y − upper margin y) and ``mrd2_reflex_px`` (lower margin
        y − reflex y) in crop px; NaN when the reflex was not found or its column holds no
        opening.
    """
    out = {"mrd1_reflex_px": NAN, "mrd2_reflex_px": NAN}
    if not reflex.found:
        return out
    margins = lid_margins_px(labels, math.floor(reflex.x_px + 0.5), margin_half_width_px, edges)
    if margins is not None:
        out["mrd1_reflex_px"] = reflex.y_px - margins[0]
        out["mrd2_reflex_px"] = margins[1] - reflex.y_px
    return out


def lid_clock_hours(labels: np.ndarray, circle: IrisCircle) -> float:
    """Clock hours of the iris circle hidden under the upper lid (0–12).

    Args:
        labels: (H, W) label map in crop px.
        circle: the fitted iris circle (crop px).

    Returns:
        Length of the contiguous background (lid) run of the circle through 12 o'clock,
        in clock hours (12 h = 360°); 0.0 when 12 o'clock is visible. See the module
        docstring for the sampling rule.
    """
    labels = check_label_map(labels)
    radius = max(circle.radius_px - _CLOCK_INSET_PX, 0.0)
    # Clock angle: 0 at 12 o'clock, increasing clockwise on the image (y down).
    clock = np.arange(_CLOCK_SAMPLES) * (2.0 * np.pi / _CLOCK_SAMPLES)
    cols = np.floor(circle.cx_px + radius * np.sin(clock) + 0.5).astype(np.intp)
    rows = np.floor(circle.cy_px - radius * np.cos(clock) + 0.5).astype(np.intp)
    height, width = labels.shape
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
    covered = np.zeros(_CLOCK_SAMPLES, dtype=bool)
    covered[inside] = labels[rows[inside], cols[inside]] == Label.BACKGROUND
    if not covered[0]:
        return 0.0
    if covered.all():
        return 12.0
    # Contiguous run through index 0 on a circular array: forwards, then backwards.
    forwards = int(np.argmin(covered))
    backwards = int(np.argmin(covered[::-1]))
    return (forwards + backwards) * 12.0 / _CLOCK_SAMPLES


def quality_flags(
    values: Mapping[str, float],
    params: MeasureParams | None = None,
    iris_fit_reason: FitFailure | None = None,
) -> tuple[str, ...]:
    """Quality flags of one eye's measurements.

    Args:
        values: a :func:`measure_eye` result (needs ``area_opening_px``,
            ``opening_height_max_px``, ``iris_radius_px``).
        params: thresholds; defaults to ``MeasureParams()``.
        iris_fit_reason: why the iris fit failed, when known, for the detail flag.

    Returns:
        Flags in this order: ``eye_closed`` when the opening is below
        ``min_opening_area_px`` pixels or ``min_opening_height_px`` rows tall;
        ``iris_not_found`` when there is no iris circle (always with a closed eye),
        followed by a detail flag from ``IRIS_REASON_FLAGS`` when the reason is given.
    """
    params = params or MeasureParams()
    flags: list[str] = []
    if _is_eye_closed(values["area_opening_px"], values["opening_height_max_px"], params):
        flags.append(FLAG_EYE_CLOSED)
    if not math.isfinite(values["iris_radius_px"]):
        flags.append(FLAG_IRIS_NOT_FOUND)
        if iris_fit_reason is not None and FLAG_EYE_CLOSED not in flags:
            flags.append(IRIS_REASON_FLAGS[iris_fit_reason])
    return tuple(flags)


def measure_eye(
    labels: np.ndarray,
    *,
    params: MeasureParams | None = None,
    scale_crop_per_frame: float = 1.0,
    iris_diameter_mm: float | None = None,
) -> dict[str, float]:
    """Every per-eye column of docs/measurements.md for one label map.

    Args:
        labels: (H, W) label map in crop px (values in ``Label``).
        params: stage parameters; defaults to ``MeasureParams()``.
        scale_crop_per_frame: crop px per frame px (``EyeCrop.scale_crop_per_frame``).
        iris_diameter_mm: overrides ``params.iris_diameter_mm`` when given (mm).

    Returns:
        ``{column: value}`` with exactly the keys of ``MEASUREMENT_COLUMNS``; NaN where a
        value is undefined (no iris circle, eye closed, empty denominator). Units by suffix
        as in the module docstring.

    Raises:
        InputError: invalid label map or scale.
        pydantic.ValidationError: ``iris_diameter_mm`` is not > 0.
    """
    return _measure(labels, _effective_params(params, iris_diameter_mm), scale_crop_per_frame)[0]


def measure_eye_crop(
    labels: np.ndarray,
    side: Side,
    params: MeasureParams | None = None,
    scale_crop_per_frame: float = 1.0,
    circle: IrisCircle | None = None,
    image: np.ndarray | None = None,
    amodal_disc: np.ndarray | None = None,
) -> EyeMeasurement:
    """Measure one eye and attach its quality flags.

    Args:
        labels: (H, W) label map in crop px (e.g. ``SegmentationResult.labels``).
        side: the patient's side, ``"right"`` (OD) or ``"left"`` (OS).
        params: stage parameters; defaults to ``MeasureParams()``.
        scale_crop_per_frame: crop px per frame px (``EyeCrop.scale_crop_per_frame``).
        circle: use this iris circle (crop px) instead of fitting one, e.g. the
            shared-radius refit of ``stages.shared_radius``.
        image: the RGB uint8 (H, W, 3) crop the labels belong to; with it the corneal
            light reflex is sought (``stages.reflex``) and the ``reflex_*`` and
            ``mrd*_reflex_*`` columns are filled, with the flag ``reflex_absent`` or
            ``reflex_off_centre`` where that applies. Without it they stay NaN.
        amodal_disc: bool (H, W) whole iris disc from a model that predicts it
            (``SegmentationResult.amodal_disc``); with ``params.iris_source`` "amodal" the
            iris circle is fitted to it (``stages.amodal_iris``).

    Returns:
        ``EyeMeasurement`` with the :func:`measure_eye` values and the
        :func:`quality_flags` flags, then the iris-source and reflex flags, if any.

    Raises:
        InputError: invalid label map or scale.
    """
    values, flags = _measure(
        labels, params or MeasureParams(), scale_crop_per_frame, circle, image, amodal_disc
    )
    return EyeMeasurement(side=side, values=values, flags=flags)


def _measure(
    labels: np.ndarray,
    params: MeasureParams,
    scale_crop_per_frame: float,
    given_circle: IrisCircle | None = None,
    image: np.ndarray | None = None,
    amodal_disc: np.ndarray | None = None,
) -> tuple[dict[str, float], tuple[str, ...]]:
    labels = check_label_map(labels)
    scale = float(scale_crop_per_frame)
    if not (math.isfinite(scale) and scale > 0):
        raise InputError(f"scale_crop_per_frame must be finite and > 0, got {scale_crop_per_frame}")

    values = _area_values(labels, scale)
    lengths_px = dict.fromkeys((f"{name}_px" for name in LENGTH_NAMES), NAN)
    lengths_px["opening_height_max_px"] = float(opening_mask(labels).sum(axis=0).max())
    values["scale_crop_per_frame"] = scale
    values["iris_diameter_mm"] = params.iris_diameter_mm

    reason: FitFailure | None = None
    circle: IrisCircle | None = None
    source_flags: tuple[str, ...] = ()
    circle_flags: tuple[str, ...] = ()
    closed = _is_eye_closed(values["area_opening_px"], lengths_px["opening_height_max_px"], params)
    if not closed and given_circle is not None:
        circle = given_circle
    elif not closed:
        # A slit of an eye can show a sliver of iris, but its border fixes no circle and
        # would give meaningless mm values, so a closed eye is not fitted at all.
        circle, reason, source_flags = _fit_circle(labels, params, amodal_disc, values)

    mm_per_crop_px = NAN
    if circle is not None:
        mm_per_crop_px = params.iris_diameter_mm / (2.0 * circle.radius_px)
        circle_flags = _circle_values(labels, circle, params, image, values, lengths_px)

    for name in (*LENGTH_NAMES, *REFLEX_LENGTH_NAMES):
        length_px = lengths_px.get(f"{name}_px", NAN)
        values[f"{name}_px"] = length_px
        values[f"{name}_frame_px"] = length_px / scale
        values[f"{name}_mm"] = length_px * mm_per_crop_px

    flags = (*quality_flags(values, params, reason), *source_flags, *circle_flags)
    if flags:
        logger.debug("eye measurement flags: %s", ", ".join(flags))
    return values, flags


def _area_values(labels: np.ndarray, scale: float) -> dict[str, float]:
    """Every measurement column NaN, then the class areas (crop and frame px) and ratios."""
    values = dict.fromkeys(MEASUREMENT_COLUMNS, NAN)
    areas = class_areas_px(labels)
    areas["area_iris_disc_px"] = areas["area_iris_px"] + areas["area_pupil_px"]
    areas["area_opening_px"] = (
        areas["area_sclera_px"] + areas["area_iris_disc_px"] + areas["area_caruncle_px"]
    )
    for name in AREA_NAMES:
        area_px = float(areas[f"area_{name}_px"])
        values[f"area_{name}_px"] = area_px
        values[f"area_{name}_frame_px"] = area_px / scale**2
    values.update(opening_ratios(areas))
    return values


def _fit_circle(
    labels: np.ndarray,
    params: MeasureParams,
    amodal_disc: np.ndarray | None,
    values: dict[str, float],
) -> tuple[IrisCircle | None, FitFailure | None, tuple[str, ...]]:
    """The iris circle from the visible limbus or the amodal disc (``params.iris_source``).

    Returns (circle or None, why the limbus fit failed or None, iris-source flags); the
    limbus/amodal comparison columns are written into ``values``.
    """
    fit = fit_iris_circle_detailed(labels, params.iris_fit)
    circle, reason = fit.circle, fit.reason
    source_flags: tuple[str, ...] = ()
    if amodal_disc is None or params.iris_source == "limbus":
        return circle, reason, source_flags
    whole = fit_amodal_circle(amodal_disc, params.iris_fit)
    if whole.circle is not None and fit.circle is not None:
        values["iris_limbus_offset_r"] = circle_offset_r(whole.circle, fit.circle)
        values["iris_limbus_radius_ratio"] = fit.circle.radius_px / whole.circle.radius_px
    if whole.circle is not None and (params.iris_source == "amodal" or fit.circle is None):
        circle, reason = whole.circle, None
        if params.iris_source == "limbus_then_amodal":
            source_flags = (FLAG_IRIS_FROM_AMODAL,)
    elif params.iris_source == "amodal" and fit.circle is not None:
        source_flags = (FLAG_IRIS_FROM_LIMBUS,)
    return circle, reason, source_flags


def _circle_values(
    labels: np.ndarray,
    circle: IrisCircle,
    params: MeasureParams,
    image: np.ndarray | None,
    values: dict[str, float],
    lengths_px: dict[str, float],
) -> tuple[str, ...]:
    """Fill the iris, pupil, reflex and scale columns (``values``) and the lid lengths in
    crop px (``lengths_px``) of an eye with an iris circle; returns the pupil and reflex
    flags."""
    scale = values["scale_crop_per_frame"]
    mm_per_crop_px = params.iris_diameter_mm / (2.0 * circle.radius_px)
    values.update(
        iris_cx_px=circle.cx_px,
        iris_cy_px=circle.cy_px,
        iris_radius_px=circle.radius_px,
        iris_radius_frame_px=circle.radius_px / scale,
        iris_fit_points=float(circle.n_points),
        iris_fit_inliers=float(circle.n_inliers),
        iris_fit_rms_px=circle.rms_residual_px,
        iris_fit_arc_deg=circle.arc_span_deg,
        visible_iris_fraction=values["area_iris_disc_px"] / (math.pi * circle.radius_px**2),
        lid_clock_hours=lid_clock_hours(labels, circle),
        mm_per_crop_px=mm_per_crop_px,
        mm_per_frame_px=mm_per_crop_px * scale,
    )
    centre = (circle.cx_px, circle.cy_px)
    pupil = check_pupil(labels, centre, circle.radius_px, params.pupil)
    values.update(pupil_radius_r=pupil.radius_r, pupil_offset_r=pupil.offset_r)
    if pupil.status != "visible":
        values["pupil_iris_ratio"] = NAN
    half_width_px = params.lid_margin_half_width_r * circle.radius_px
    edges = margin_edges(labels, image, circle.radius_px, params.lid_refine)
    lengths_px.update(lid_distances_px(labels, circle, half_width_px, edges))
    if image is None or not params.reflex.enabled:
        return pupil.flags
    reflex = find_reflex(image, labels, centre, circle.radius_px, params.reflex)
    values.update(
        reflex_x_px=reflex.x_px,
        reflex_y_px=reflex.y_px,
        reflex_offset_r=reflex.offset_r,
        reflex_contrast=reflex.contrast,
    )
    lengths_px.update(reflex_distances_px(labels, reflex, half_width_px, edges))
    return (*pupil.flags, *reflex.flags(params.reflex))


def _effective_params(
    params: MeasureParams | None, iris_diameter_mm: float | None
) -> MeasureParams:
    params = params or MeasureParams()
    if iris_diameter_mm is None:
        return params
    # Rebuild rather than model_copy(update=...) so the override is validated too.
    return MeasureParams.model_validate(
        {**params.model_dump(), "iris_diameter_mm": iris_diameter_mm}
    )


def _is_eye_closed(
    area_opening_px: float, opening_height_max_px: float, params: MeasureParams
) -> bool:
    return (
        area_opening_px < params.min_opening_area_px
        or opening_height_max_px < params.min_opening_height_px
    )


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else NAN
