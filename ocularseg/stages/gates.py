"""Quality gates: named plausibility checks that decide whether a measurement is reported.

A measurement that fails any gate is kept in ``measurements.csv`` (with the gate's name in
``gates_failed``) but never enters a median, a slope or a screening indicator. Every gate
is anatomy or image quality, not a property of one network, so a better model passes more
frames without the gates changing. Thresholds live in :class:`GateParams`
(``measure.gates`` in the analysis config).

Per frame and eye (:func:`frame_gates`, in this order)
    ``eye_too_small``          the landmark canthus-to-canthus width is below
                               ``min_eye_width_frame_px`` frame px: one frame px is then
                               more than ~0.3 mm, so lid and iris borders are too coarse.
    ``low_quality``            the quality signal (``stages.quality``: the smaller of the
                               mirror agreement and the outline agreement) is below
                               ``min_quality``.
    ``opening_outside_eye``    more than ``max_opening_outside_fraction`` of the segmented
                               opening, or the iris centre, lies outside the landmark eye
                               outline (dlib points 36–41 / 42–47) dilated by
                               ``eye_outline_margin`` × the eye width: the brow, a lid fold
                               or the other eye was segmented.
    ``lid_far_from_outline``   in the column where MRD1 is read, the segmented upper lid
                               lies more than ``max_lid_offset`` × the eye width above the
                               landmark upper lid, or the lower lid that far below the
                               landmark lower lid (a lid crease or the lower lid's skin
                               labelled as eye; dlib's lid points sit on or just inside
                               the lid margin).
    ``gaze_sideways``          along the canthus-to-canthus line, the gap between the fitted
                               iris circle and the nearer corner is below
                               ``min_corner_clearance_r`` iris radii
                               (:func:`corner_clearance`): the eye looks far to one side,
                               the corner hides that side's limbus, the circle is fitted
                               to a one-sided arc and comes out too large, so the mm scale
                               and MRD1 read low (with a high quality signal: the mask
                               itself is right).
    ``iris_size_implausible``  iris diameter 2r outside ``iris_to_eye_width_min…max`` of the
                               canthus-to-canthus width. Adults' horizontal visible iris
                               diameter (~11.7 mm) is about 40–55 % of the palpebral fissure
                               length (27–30 mm); the range is widened for landmark noise.
                               Every mm value is scaled by r, so a wrong r is a wrong number.
    ``iris_arc_short``         the limbus points of the circle fit span less than
                               ``min_limbus_arc_deg``: too little of the iris/sclera border
                               to fix the radius (the fit itself gives up below 60°).
    ``mrd1_out_of_range``      MRD1 outside ``mrd1_min_mm…mrd1_max_mm`` (−4…+9 mm: a lid
                               4 mm below the reflex hides the pupil; 9 mm is beyond the
                               widest retracted lid).
    ``fissure_out_of_range``   palpebral fissure height outside ``fissure_min_mm…
                               fissure_max_mm`` (0…16 mm; normal 7–12 mm).

Between the frames of one input (:func:`agreement_gates`, in this order; the iris and MRD1
comparisons use only the rows that pass every gate checked before them)
    ``near_blink``             in a time series, the frame lies within ``blink_margin_s``
                               of a frame marked as a blink: the blink detector (landmark
                               eye aspect ratio) catches the most closed frames, but the
                               lid takes 100–300 ms more to close and reopen.
    ``iris_size_differs_between_eyes`` in one frame, the two eyes' iris radii (frame px)
                               differ by more than ``max_between_eye_radius_deviation``
                               (relative to the smaller): a person's irises are the same
                               size to within ~2 %, so one circle is wrong — the eye whose
                               iris is less visible (a circle on less limbus) is excluded,
                               both when they are equally visible (within 0.05).
    ``blurred``                the frame's sharpness (variance of the Laplacian around the
                               eyes) is below ``blur_ratio`` × the input's median sharpness
                               (needs ``agreement_min_frames`` frames; a still image has no
                               reference and is not tested).
    ``iris_size_inconsistent`` the iris radius in frame px differs by more than
                               ``max_iris_radius_deviation`` (relative) from the median of
                               the input's passing frames: the face does not change size
                               from frame to frame, so the ruler must not either.
    ``mrd1_inconsistent``      MRD1 differs by more than ``max_mrd1_deviation_mm`` from the
                               median of the other passing frames (key frames), or in a
                               time series by more than ``max_mrd1_jump_mm`` from the
                               median of those within ± ``agreement_window_s`` (a real lid
                               moves slowly; a fatigable lid falls ~2 mm over 30–60 s).

Blinks (``blink``), closed eyes (``eye_closed``) and a missing iris circle
(``iris_not_found``) are recorded elsewhere (frame scores and measurement flags) and also
exclude a frame; ``core.records.PLAIN_WORDS`` has plain-language words for every reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ocularseg.core.errors import InputError
from ocularseg.core.params import require_order
from ocularseg.core.records import EyeRow, Gate
from ocularseg.stages._label_map import check_label_map, dilated_polygon, opening_mask

#: Every gate name in the order the gates are checked (``Gate``'s order): the frame gates,
#: then the between-frame gates. A row's ``gates_failed`` lists its gates in this order.
GATE_NAMES: tuple[str, ...] = tuple(Gate)


class GateParams(BaseModel):
    """Thresholds of the quality gates (frozen; unknown keys are an error).

    Units by suffix: ``_frame_px`` frame px, ``_mm`` millimetres (iris ruler), ``_deg``
    degrees, ``_s`` seconds; other values are fractions.

    Attributes:
        min_eye_width_frame_px: smallest landmark canthus-to-canthus width (frame px). At
            40 px an 11.7 mm iris is ~18 px, so 1 px ≈ 0.65 mm at the lid.
        mirror_test: segment every crop a second time, mirrored, for the quality signal
            (doubles the network's time; off = quality from the outline agreement only).
        min_quality: smallest quality signal (0–1, ``stages.quality``), set to keep nearly
            all real eye crops judged acceptable (``benchmarks/quality_signal.py``;
            ``docs/experiments.md``).
        eye_outline_margin: dilation of the landmark eye outline, as a fraction of the
            canthus-to-canthus width (dlib's six points cut the lid curves short).
        max_opening_outside_fraction: largest fraction of the opening's pixels outside the
            dilated outline.
        max_lid_offset: largest distance of the segmented lid beyond the landmark lid in
            the MRD1 column, as a fraction of the eye width (0.1 ≈ 3 mm).
        min_corner_clearance_r: smallest gap between the fitted iris circle and the
            nearer eye corner, along the canthus-to-canthus line (landmarks p1–p4), in iris
            radii. In primary gaze an adult's gap is ~1.5 radii (a 11.7 mm iris in a
            ~30 mm fissure); it shrinks as the eye turns sideways and as a wrong circle
            grows. Calibrated on phantom videos with exact truth
            (``benchmarks/gaze_gate.py``; ``docs/experiments.md``).
        iris_to_eye_width_min, iris_to_eye_width_max: plausible iris diameter / canthus-to-
            canthus width (anatomy: 0.40–0.55; widened by 0.05 for landmark and fit noise,
            0.06 below so that the phantoms, drawn from 0.35, pass). Real eyes that pass
            every other gate fall well inside the range; a squinting eye whose circle was
            far too large fell above it (``docs/experiments.md``).
        min_limbus_arc_deg: smallest angular span of the limbus points fitted (degrees).
            A lid at MRD1 −4 mm still leaves ~95° of limbus below it.
        mrd1_min_mm, mrd1_max_mm: plausible MRD1 range (mm).
        fissure_min_mm, fissure_max_mm: plausible palpebral fissure height range (mm).
        blur_ratio: a frame whose sharpness is below this × the input's median is blurred
            (the phantom video's motion-blurred frames fall below it).
        max_iris_radius_deviation: largest relative difference of a frame's iris radius
            (frame px) from the input's median.
        max_between_eye_radius_deviation: largest relative difference between the two
            eyes' iris radii in one frame (frame px, relative to the smaller). Irises
            match to ~2 %; 15 % leaves room for fit noise and a slightly turned head (a
            squinting eye whose circle was far too large differed by far more).
        max_mrd1_deviation_mm: key frames: largest difference of a frame's MRD1 from the
            median of the other passing frames (mm; key frames span gaze directions).
        max_mrd1_jump_mm: time series: largest difference of a frame's MRD1 from the
            median of its passing neighbours within ± ``agreement_window_s`` (mm).
        blink_margin_s: time series: frames this close to a blink frame are excluded
            (s; a blink's closing and reopening phases last ~100–300 ms).
        agreement_window_s: in a time series, the neighbours compared are those within
            ± this many seconds (a fatigable lid falls ~2 mm over 30–60 s).
        agreement_min_frames: fewest passing frames of an eye for the between-frame
            gates; with fewer they are not applied.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_eye_width_frame_px: float = Field(default=40.0, ge=0.0)
    mirror_test: bool = True
    min_quality: float = Field(default=0.8, ge=0.0, le=1.0)
    eye_outline_margin: float = Field(default=0.15, ge=0.0, le=1.0)
    max_opening_outside_fraction: float = Field(default=0.15, ge=0.0, le=1.0)
    max_lid_offset: float = Field(default=0.1, ge=0.0)
    min_corner_clearance_r: float = Field(default=0.43, le=2.0)
    iris_to_eye_width_min: float = Field(default=0.34, gt=0.0)
    iris_to_eye_width_max: float = Field(default=0.60, gt=0.0)
    min_limbus_arc_deg: float = Field(default=90.0, ge=0.0, le=360.0)
    mrd1_min_mm: float = -4.0
    mrd1_max_mm: float = 9.0
    fissure_min_mm: float = 0.0
    fissure_max_mm: float = 16.0
    blur_ratio: float = Field(default=0.6, ge=0.0, le=1.0)
    max_iris_radius_deviation: float = Field(default=0.15, gt=0.0)
    max_between_eye_radius_deviation: float = Field(default=0.15, gt=0.0)
    max_mrd1_deviation_mm: float = Field(default=2.5, gt=0.0)
    max_mrd1_jump_mm: float = Field(default=1.5, gt=0.0)
    blink_margin_s: float = Field(default=0.25, ge=0.0)
    agreement_window_s: float = Field(default=3.0, gt=0.0)
    agreement_min_frames: int = Field(default=3, ge=2)

    @model_validator(mode="after")
    def _ranges(self) -> GateParams:
        require_order(self, "iris_to_eye_width_min", "iris_to_eye_width_max")
        require_order(self, "mrd1_min_mm", "mrd1_max_mm")
        require_order(self, "fissure_min_mm", "fissure_max_mm")
        return self


def frame_gates(
    values: Mapping[str, float],
    labels: np.ndarray,
    eye_outline_px: np.ndarray,
    *,
    quality: float = math.nan,
    params: GateParams | None = None,
) -> tuple[str, ...]:
    """The per-frame gates one eye measurement fails (see the module docstring).

    Args:
        values: a ``measure_eye`` result (crop px and mm columns, ``scale_crop_per_frame``).
        labels: the (H, W) label map that was measured (crop px).
        eye_outline_px: (6, 2) landmark eye points in crop px
            (``stages.landmark_gate.eye_points_in_crop``),
            dlib order: p1 and p4 are the canthi.
        quality: the segmentation's quality signal (``stages.quality.quality_score``: the
            smaller of the mirror and the outline agreement, 0–1); the ``low_quality`` gate
            fails below ``min_quality``; NaN = not computed, not tested.
        params: thresholds; defaults to ``GateParams()``.

    Returns:
        Names of the failed gates in ``GATE_NAMES`` order; empty when all pass. Gates that
        need the iris circle are skipped when there is none (``iris_not_found`` already
        excludes the frame), as are those whose value is NaN.

    Raises:
        InputError: invalid label map or outline.
    """
    params = params or GateParams()
    labels = check_label_map(labels)
    outline = np.asarray(eye_outline_px, dtype=np.float64)
    if outline.shape != (6, 2) or not np.isfinite(outline).all():
        raise InputError(f"eye outline must be six finite (x, y) points, got {outline.shape}")
    failed: list[str] = []
    eye_width_crop_px = float(np.hypot(*(outline[3] - outline[0])))
    scale = float(values.get("scale_crop_per_frame", math.nan))
    if math.isfinite(scale) and scale > 0:
        if eye_width_crop_px / scale < params.min_eye_width_frame_px:
            failed.append(Gate.EYE_TOO_SMALL)
    if math.isfinite(quality) and quality < params.min_quality:
        failed.append(Gate.LOW_QUALITY)
    if _outside_eye(values, labels, outline, eye_width_crop_px, params):
        failed.append(Gate.OPENING_OUTSIDE_EYE)
    if _lid_far_from_outline(values, outline, eye_width_crop_px, params):
        failed.append(Gate.LID_OFFSET)
    clearance = corner_clearance(values, outline)
    if math.isfinite(clearance) and clearance < params.min_corner_clearance_r:
        failed.append(Gate.GAZE_SIDEWAYS)
    failed.extend(_range_gates(values, eye_width_crop_px, params))
    return tuple(failed)


def gaze_offset(values: Mapping[str, float], eye_outline_px: np.ndarray) -> float:
    """Where the iris centre lies along the canthus-to-canthus line: the horizontal gaze.

    Args:
        values: a ``measure_eye`` result (``iris_cx_px``, ``iris_cy_px`` in crop px).
        eye_outline_px: (6, 2) landmark eye points in crop px, dlib order (p1 and p4 are
            the canthi; p1 is on the image left for both eyes).

    Returns:
        The iris centre's projection on the line p1 → p4, in half eye widths from its
        middle: 0 = midway between the corners, −1 at p1 (image left), +1 at p4 (image
        right). NaN without an iris centre or with coincident corners.
    """
    cx, cy = float(values.get("iris_cx_px", math.nan)), float(values.get("iris_cy_px", math.nan))
    outline = np.asarray(eye_outline_px, dtype=np.float64)
    axis = outline[3] - outline[0]
    length_sq = float(axis @ axis)
    if not (math.isfinite(cx) and math.isfinite(cy)) or length_sq <= 0.0:
        return math.nan
    along = float((np.array([cx, cy]) - outline[0]) @ axis) / length_sq
    return 2.0 * along - 1.0


def corner_clearance(values: Mapping[str, float], eye_outline_px: np.ndarray) -> float:
    """The gap between the fitted iris circle and the nearer eye corner: extreme side gaze.

    Args:
        values: a ``measure_eye`` result (``iris_cx_px``, ``iris_cy_px``,
            ``iris_radius_px``, crop px).
        eye_outline_px: (6, 2) landmark eye points in crop px, dlib order (p1, p4 the
            canthi).

    Returns:
        (distance from the iris centre to the nearer corner along the line p1 → p4, less
        the iris radius) / the iris radius: about 1.5 for an adult eye in primary gaze, 0
        when the circle's edge reaches a corner, negative beyond it. NaN without an iris
        circle.
    """
    offset = gaze_offset(values, eye_outline_px)
    radius = float(values.get("iris_radius_px", math.nan))
    outline = np.asarray(eye_outline_px, dtype=np.float64)
    width = float(np.hypot(*(outline[3] - outline[0])))
    if not (math.isfinite(offset) and math.isfinite(radius) and radius > 0.0):
        return math.nan
    return (0.5 * (1.0 - abs(offset)) * width - radius) / radius


def _range_gates(
    values: Mapping[str, float], eye_width_crop_px: float, params: GateParams
) -> list[str]:
    """The iris size, limbus arc, MRD1 and fissure range gates that fail, in that order."""
    failed: list[str] = []
    radius = float(values.get("iris_radius_px", math.nan))
    if math.isfinite(radius) and eye_width_crop_px > 0:
        ratio = 2.0 * radius / eye_width_crop_px
        if not params.iris_to_eye_width_min <= ratio <= params.iris_to_eye_width_max:
            failed.append(Gate.IRIS_SIZE)
    arc = float(values.get("iris_fit_arc_deg", math.nan))
    if math.isfinite(arc) and arc < params.min_limbus_arc_deg:
        failed.append(Gate.IRIS_ARC)
    mrd1 = float(values.get("mrd1_mm", math.nan))
    if math.isfinite(mrd1) and not params.mrd1_min_mm <= mrd1 <= params.mrd1_max_mm:
        failed.append(Gate.MRD1_RANGE)
    fissure = float(values.get("fissure_height_mm", math.nan))
    if math.isfinite(fissure) and not params.fissure_min_mm <= fissure <= params.fissure_max_mm:
        failed.append(Gate.FISSURE_RANGE)
    return failed


def _outside_eye(
    values: Mapping[str, float],
    labels: np.ndarray,
    outline: np.ndarray,
    eye_width_crop_px: float,
    params: GateParams,
) -> bool:
    opening = opening_mask(labels)
    if not opening.any():
        return False  # nothing segmented: eye_closed / iris_not_found say so
    margin = max(1, round(params.eye_outline_margin * eye_width_crop_px))
    _, inside = dilated_polygon(labels.shape, outline, margin)
    outside_fraction = float((opening & ~inside).sum()) / float(opening.sum())
    if outside_fraction > params.max_opening_outside_fraction:
        return True
    cx, cy = float(values.get("iris_cx_px", math.nan)), float(values.get("iris_cy_px", math.nan))
    if math.isfinite(cx) and math.isfinite(cy):
        col, row = math.floor(cx + 0.5), math.floor(cy + 0.5)
        height, width = labels.shape
        if not (0 <= row < height and 0 <= col < width) or not inside[row, col]:
            return True
    return False


def _lid_far_from_outline(
    values: Mapping[str, float], outline: np.ndarray, eye_width_crop_px: float, params: GateParams
) -> bool:
    cx, cy = float(values.get("iris_cx_px", math.nan)), float(values.get("iris_cy_px", math.nan))
    if not (math.isfinite(cx) and math.isfinite(cy)):
        return False
    column = float(math.floor(cx + 0.5))
    limit = params.max_lid_offset * eye_width_crop_px
    mrd1, mrd2 = float(values.get("mrd1_px", math.nan)), float(values.get("mrd2_px", math.nan))
    # dlib order: p1 lateral/medial corner, p2 p3 upper lid, p4 other corner, p5 p6 lower lid.
    upper = _polyline_y(outline[[0, 1, 2, 3]], column)
    lower = _polyline_y(outline[[0, 5, 4, 3]], column)
    if math.isfinite(mrd1) and upper - (cy - mrd1) > limit:
        return True
    return math.isfinite(mrd2) and (cy + mrd2) - lower > limit


def _polyline_y(points: np.ndarray, x: float) -> float:
    ordered = points[np.argsort(points[:, 0])]
    return float(np.interp(x, ordered[:, 0], ordered[:, 1]))


def agreement_gates(
    rows: Sequence[EyeRow],
    *,
    timeseries: bool,
    params: GateParams | None = None,
) -> list[EyeRow]:
    """The rows of one input (both eyes) with the between-frame gates applied.

    Args:
        rows: measurement rows of one input; the between-eye gate pairs rows by
            ``frame_index`` and ``timestamp_s``.
        timeseries: compare MRD1 with neighbours in time (± ``agreement_window_s``)
            rather than with all other frames.
        params: thresholds; defaults to ``GateParams()``.

    Returns:
        New rows in the same order, failed gates appended to ``gates_failed``.
    """
    params = params or GateParams()
    out = list(rows)
    if not out:
        return out
    if timeseries and params.blink_margin_s > 0:
        blinks = np.array([r.timestamp_s for r in out if r.blink])
        if blinks.size:
            for i, row in enumerate(out):
                gap = np.abs(blinks - row.timestamp_s).min()
                if not row.blink and gap <= params.blink_margin_s + 1e-9:
                    out[i] = row.with_gates(Gate.NEAR_BLINK)
    _between_eyes(out, params)
    sharpness: dict[float, float] = {}
    for row in out:
        sharpness.setdefault(row.timestamp_s, row.sharpness)
    values = np.array([v for v in sharpness.values() if math.isfinite(v)])
    if values.size >= params.agreement_min_frames:
        cut = params.blur_ratio * float(np.median(values))
        for i, row in enumerate(out):
            if row.sharpness < cut:
                out[i] = row.with_gates(Gate.BLURRED)
    for side in dict.fromkeys(row.side for row in out):
        passing = [i for i, r in enumerate(out) if r.side == side and _passes(r)]
        if len(passing) < params.agreement_min_frames:
            continue
        radii = np.array([out[i].value("iris_radius_frame_px") for i in passing])
        finite = radii[np.isfinite(radii)]
        if finite.size >= params.agreement_min_frames:
            median = float(np.median(finite))
            for i, radius in zip(passing, radii, strict=True):
                if abs(radius / median - 1.0) > params.max_iris_radius_deviation:
                    out[i] = out[i].with_gates(Gate.IRIS_SIZE_INCONSISTENT)
        _mrd1_agreement(out, passing, timeseries, params)
    return out


def _between_eyes(rows: list[EyeRow], params: GateParams) -> None:
    """Both eyes of one frame: iris radii that disagree exclude the less visible eye
    (``rows`` is updated in place)."""
    by_frame: dict[tuple[int, float], list[int]] = {}
    for i, row in enumerate(rows):
        by_frame.setdefault((row.frame_index, row.timestamp_s), []).append(i)
    for pair in by_frame.values():
        if len(pair) != 2 or not all(_passes(rows[i]) for i in pair):
            continue
        radii = [rows[i].value("iris_radius_frame_px") for i in pair]
        if not all(math.isfinite(v) and v > 0 for v in radii):
            continue
        if max(radii) / min(radii) - 1.0 <= params.max_between_eye_radius_deviation:
            continue
        shown = [rows[i].value("visible_iris_fraction") for i in pair]
        if all(math.isfinite(v) for v in shown) and abs(shown[0] - shown[1]) > 0.05:
            less = pair[int(np.argmin(shown))]
            rows[less] = rows[less].with_gates(Gate.IRIS_SIZE_EYES)
        else:
            for i in pair:
                rows[i] = rows[i].with_gates(Gate.IRIS_SIZE_EYES)


def _mrd1_agreement(
    rows: list[EyeRow], passing: list[int], timeseries: bool, params: GateParams
) -> None:
    """MRD1 against the other passing frames (``rows`` is updated in place)."""
    times = np.array([rows[i].timestamp_s for i in passing])
    mrd1 = np.array([rows[i].value("mrd1_mm") for i in passing])
    finite = np.isfinite(mrd1)
    for k, i in enumerate(passing):
        if not finite[k]:
            continue
        others = finite.copy()
        others[k] = False
        if timeseries:
            others &= np.abs(times - times[k]) <= params.agreement_window_s
        if others.sum() < params.agreement_min_frames - 1:
            continue
        limit = params.max_mrd1_jump_mm if timeseries else params.max_mrd1_deviation_mm
        if abs(mrd1[k] - float(np.median(mrd1[others]))) > limit:
            rows[i] = rows[i].with_gates(Gate.MRD1_INCONSISTENT)


def _passes(row: EyeRow) -> bool:
    return not row.exclusion_reasons()
