"""Per-input, per-eye summary of the measurements with screening indicators.

The indicators flag values in ranges that ``docs/measurements.md`` names (MRD1 ≤ 2 mm,
right/left asymmetry ≥ 1 / ≥ 2 mm, MRD1 falling ≥ 2 mm during a sustained-upgaze time series). They
are **screening indicators, not diagnoses**: a clinician reads them beside the overlays.

Layout of ``summary.csv`` (one block of three rows per input)
    ``side = right``       OD, the patient's right eye: frame counts, medians / IQR,
                           MRD1 slope, fatigability, ``indicator_mrd1_le_2mm``,
                           ``indicator_fatigable_ge_2mm``, ``screening_notes``.
    ``side = left``        OS: the same for the left eye.
    ``side = right-left``  OD vs OS: ``*_right_minus_left`` differences and
                           ``*_right_over_left`` ratios of the medians,
                           ``indicator_asymmetry_ge_1mm``, ``indicator_asymmetry_ge_2mm``,
                           ``screening_notes``. The per-eye columns are empty here.

    Why this shape: a clinician opening the file in Excel reads each input as the familiar
    OD / OS / OD − OS table, top to bottom, without scrolling across 80 side-suffixed
    columns of a wide layout; every column keeps one meaning and one unit (a per-eye
    median is never reused for a difference or a ratio), so filtering on ``side`` or
    plotting a column stays correct. Cells that do not apply to a row are empty. Both eye
    rows are always present, even when an eye was never measured (``frames_total`` 0), so
    a missing eye is visible rather than silently absent. The indicators, the screening
    notes and the MRD1 median come first; the remaining medians / IQR follow.

Definitions
    * Frame counts, per eye row: ``frames_looked_at`` (frames the face detector looked at:
      every sampled frame of a time series, the candidate frames in key-frame mode, 1 for
      a photo), ``frames_no_face`` (of those, frames with no face found: not analysed),
      ``frames_total`` (frames whose eye was analysed: rows in ``measurements.csv``),
      ``frames_used`` + ``frames_excluded`` = ``frames_total``, and ``frames_blink``
      (analysed frames judged a blink, used or not). In key-frame mode the frames looked at
      but neither without a face nor analysed were not chosen as key frames. The first two
      are empty when the frame counts are not known (``summarise`` without them).
    * Usable frame: not a blink (``blink`` False), none of ``ReportParams.exclude_flags``
      (``eye_closed``, ``iris_not_found``) in ``flags`` and no failed quality gate in
      ``gates_failed`` (``stages.gates``). Other frames are counted in
      ``frames_excluded`` and, under its main (first) reason, in
      ``frames_excluded_reasons`` (``core.records.count_reasons``: the reason counts add
      up to ``frames_excluded``); they never enter a median, a slope or an indicator.
    * Assessable eye: at least ``min(indicator_min_frames, frames_total)`` usable frames
      with an MRD1 value (3 by default; a still image has one frame, which must pass) and
      at least ``indicator_min_used_fraction`` (50 %) of the analysed frames usable.
      Otherwise every indicator of the eye, and the asymmetry indicators of its input,
      read ``not assessable`` and ``screening_notes`` says why.
    * ``<measure>_median``, ``_q25``, ``_q75``: over the usable frames whose value is
      finite (NaN values, e.g. MRD1 when the centre column holds no opening, are skipped;
      ``mrd1_mm_n`` says how many MRD1 values were used). Quartiles use linear
      interpolation, the same as Excel's ``QUARTILE.INC``.
    * ``mrd1_mm_slope_per_s`` (mm/s): ordinary least-squares slope of MRD1 (mm) on
      ``timestamp_s`` over the usable frames (n in ``mrd1_slope_n``); negative = the lid is
      coming down. ``mrd1_mm_fitted_change`` (mm) = slope × ``time_span_s``, the change
      the fitted line shows over the recording's own duration (no extrapolation to a
      minute the patient was not filmed for). Reported only with at least
      ``slope_min_frames`` (3) points at distinct times, and — in key-frame mode, where
      frames are picked for sharpness and gaze, not time — only when they span more than
      ``slope_min_span_s`` (1 s). Otherwise empty.
    * Fatigability (time-series mode only): with span T between the first and last usable
      frame with an MRD1 value, ``mrd1_mm_start_median`` is the median MRD1 over
      ``t ≤ t_first + 0.1 T``, ``mrd1_mm_end_median`` over ``t ≥ t_last − 0.1 T``, and
      ``mrd1_mm_fatigue_drop`` = start − end (positive = the lid came down). Assessed only
      with ≥ ``fatigue_min_frames`` usable frames over ≥ ``fatigue_min_span_s``
      (guards against a two-frame "trend", not clinical cut-offs).
    * ``*_right_minus_left``: right median − left median (same unit as the measure).
      ``*_right_over_left``: right median / left median, only when both are > 0 (a ratio of
      a negative MRD1 means nothing); otherwise empty.
    * ``mrd1_mm_ci_low`` / ``_ci_high`` (and for MRD2 and fissure height): the 95 % interval
      of the median, from the frames' spread and one original-image pixel
      (``mm_per_frame_px``, the median over the frames used), as ``report.interval`` and
      ``docs/measurements.md`` ("Uncertainty") define it.
      ``mrd1_mm_right_minus_left_ci_low`` / ``_ci_high``: the interval of the difference.
    * Indicators are words: ``yes``, ``no``, ``borderline`` or ``not assessable``. MRD1 ≤ 2
      mm and the asymmetry indicators read ``yes`` / ``no`` only when the whole 95 %
      interval lies on one side of the threshold, ``borderline`` when it straddles it;
      ``not assessable`` when the eye is not assessable or the value undefined (for
      fatigability also: not a time series, too short; fatigability compares the start and
      end medians directly). Comparisons allow 1e-9 for floating-point rounding.
    * Column names keep the default thresholds (``..._le_2mm``) so downstream scripts can
      rely on them; the thresholds actually used are written in ``screening_notes``.
    * ``iris_diameter_mm`` is the ruler used for the mm values (the first usable frame's).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ocularseg.core.errors import ReportError
from ocularseg.core.exclusion import exclusion_reasons
from ocularseg.core.records import FrameCounts, ReasonCounts, count_reasons
from ocularseg.core.report_params import ReportParams
from ocularseg.core.text import number_text
from ocularseg.report.interval import (
    BORDERLINE,
    NO,
    NOT_ASSESSABLE,
    YES,
    Interval,
    at_or_below,
    difference_interval,
    magnitude_at_least,
    median_interval,
)

logger = logging.getLogger(__name__)

NAN = float("nan")
#: Slack of the indicator comparisons (mm), absorbing floating-point rounding only.
_TOLERANCE = 1e-9

SIDE_RIGHT = "right"
SIDE_LEFT = "left"
#: ``side`` of the per-input comparison row.
SIDE_COMPARISON = "right-left"
MODE_TIMESERIES = "timeseries"

#: Measures summarised per eye by median, q25 and q75 (units in the names).
SUMMARY_MEASURES: tuple[str, ...] = (
    "mrd1_mm",
    "mrd2_mm",
    "fissure_height_mm",
    "mrd1_reflex_mm",
    "mrd2_reflex_mm",
    "visible_iris_fraction",
    "quality",
    "superior_scleral_show_mm",
    "iris_opening_ratio",
    "sclera_opening_ratio",
    "pupil_iris_ratio",
    "caruncle_opening_ratio",
    "mrd1_px",
    "mrd2_px",
    "fissure_height_px",
)
#: Measures compared between the eyes: (measure, unit-free stem for the ratio column).
COMPARED_MEASURES: tuple[tuple[str, str], ...] = (
    ("mrd1_mm", "mrd1"),
    ("visible_iris_fraction", "visible_iris_fraction"),
    ("fissure_height_mm", "fissure_height"),
)
STATISTICS: tuple[str, ...] = ("median", "q25", "q75")
#: Measures given a 95 % interval of their median (``report.interval``).
INTERVAL_MEASURES: tuple[str, ...] = ("mrd1_mm", "mrd2_mm", "fissure_height_mm")

INDICATOR_COLUMNS: tuple[str, ...] = (
    "indicator_mrd1_le_2mm",
    "indicator_asymmetry_ge_1mm",
    "indicator_asymmetry_ge_2mm",
    "indicator_fatigable_ge_2mm",
)
_COUNT_COLUMNS: tuple[str, ...] = (
    "frames_looked_at",
    "frames_no_face",
    "frames_total",
    "frames_blink",
    "frames_used",
    "frames_excluded",
    "mrd1_mm_n",
    "mrd1_slope_n",
)
_TEXT_COLUMNS: tuple[str, ...] = ("screening_notes",)

#: Every column of :func:`summarise`'s result, in order.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "input",
    "side",
    "mode",
    "frames_looked_at",
    "frames_no_face",
    "frames_total",
    "frames_used",
    "frames_excluded",
    "frames_blink",
    *INDICATOR_COLUMNS,
    "screening_notes",
    "mrd1_mm_median",
    "mrd1_mm_ci_low",
    "mrd1_mm_ci_high",
    "mm_per_frame_px",
    "mrd1_mm_q25",
    "mrd1_mm_q75",
    "mrd1_mm_n",
    "mrd1_mm_right_minus_left_ci_low",
    "mrd1_mm_right_minus_left_ci_high",
    *(f"{m}_{end}" for m in INTERVAL_MEASURES if m != "mrd1_mm" for end in ("ci_low", "ci_high")),
    *(
        column
        for measure, stem in COMPARED_MEASURES
        for column in (f"{measure}_right_minus_left", f"{stem}_right_over_left")
    ),
    *(f"{m}_{stat}" for m in SUMMARY_MEASURES if m != "mrd1_mm" for stat in STATISTICS),
    "mrd1_mm_slope_per_s",
    "mrd1_mm_fitted_change",
    "mrd1_slope_n",
    "fatigue_span_s",
    "mrd1_mm_start_median",
    "mrd1_mm_end_median",
    "mrd1_mm_fatigue_drop",
    "time_span_s",
    "iris_diameter_mm",
    "frames_excluded_reasons",
)

#: The values of an indicator (``report.interval``): yes, no, borderline, not assessable.
INDICATOR_WORDS: tuple[str, ...] = (YES, NO, BORDERLINE, NOT_ASSESSABLE)

#: Columns ``summarise`` needs in the measurements table (``gates_failed`` is optional).
REQUIRED_COLUMNS: tuple[str, ...] = (
    "input",
    "side",
    "mode",
    "timestamp_s",
    "blink",
    "flags",
    "iris_diameter_mm",
    *SUMMARY_MEASURES,
)

DISCLAIMER = (
    "Screening indicators, not diagnoses: they flag values in ranges named in the "
    "clinical literature and must be read by a clinician beside the overlays."
)


def summarise(
    measurements_df: pd.DataFrame,
    params: ReportParams | None = None,
    frame_counts: Mapping[str, FrameCounts] | None = None,
) -> pd.DataFrame:
    """Summarise the measurements per input and eye, and compare the eyes.

    Args:
        measurements_df: the table of :func:`ocularseg.report.tables.measurements_frame`
            (one row per eye per analysed frame; units in the column names).
        params: thresholds; defaults to ``ReportParams()``.
        frame_counts: per input label, where its frames went (``frames_looked_at``,
            ``frames_no_face``); inputs without an entry leave those cells empty.

    Returns:
        DataFrame with ``SUMMARY_COLUMNS``: per input (in order of first appearance), a
        ``right`` row, a ``left`` row and a ``right-left`` row, as in the module docstring.
        Dtypes: counts nullable Int64, indicators nullable boolean, text str, other float64
        (mm, s, mm/s, ratios as named). Empty (with the columns) for an empty input.

    Raises:
        ReportError: a required column is missing from a non-empty table.
    """
    params = params or ReportParams()
    records: list[dict[str, Any]] = []
    if len(measurements_df):
        missing = [c for c in REQUIRED_COLUMNS if c not in measurements_df.columns]
        if missing:
            raise ReportError(f"cannot summarise: measurements lack {', '.join(missing)}")
        for input_name, group in measurements_df.groupby("input", sort=False):
            mode = _input_mode(group["mode"])
            counts = (frame_counts or {}).get(str(input_name))
            eyes: dict[str, dict[str, Any]] = {}
            for side in (SIDE_RIGHT, SIDE_LEFT):
                eyes[side] = _summarise_eye(group[group["side"] == side], mode, params)
                eyes[side].update(_looked_at(counts))
                records.append({"input": input_name, "side": side, "mode": mode, **eyes[side]})
            records.append(
                {
                    "input": input_name,
                    "side": SIDE_COMPARISON,
                    "mode": mode,
                    **_compare_eyes(eyes[SIDE_RIGHT], eyes[SIDE_LEFT], params),
                }
            )
    return _typed(pd.DataFrame.from_records(records, columns=list(SUMMARY_COLUMNS)))


def _looked_at(counts: FrameCounts | None) -> dict[str, Any]:
    """An eye row's ``frames_looked_at`` and ``frames_no_face`` (missing when unknown)."""
    if counts is None:
        return {"frames_looked_at": pd.NA, "frames_no_face": pd.NA}
    return {"frames_looked_at": counts.looked_at, "frames_no_face": counts.no_face}


def usable_mask(measurements_df: pd.DataFrame, params: ReportParams | None = None) -> pd.Series:
    """Which rows enter the statistics (see "Usable frame" in the module docstring).

    Returns:
        Boolean Series aligned with ``measurements_df``.
    """
    params = params or ReportParams()
    reasons = _exclusion_reasons(measurements_df, params)
    return reasons.map(len) == 0


def mark_used(measurements_df: pd.DataFrame, params: ReportParams | None = None) -> pd.DataFrame:
    """Copy of the measurements with a ``used`` column (bool) after ``gates_failed``.

    ``used`` is True when the row enters medians, slopes and indicators (see "Usable
    frame" in the module docstring).
    """
    out = measurements_df.copy()
    used = usable_mask(out, params).astype(bool) if len(out) else pd.Series([], dtype=bool)
    anchor = "gates_failed" if "gates_failed" in out.columns else "flags"
    position = list(out.columns).index(anchor) + 1 if anchor in out.columns else len(out.columns)
    out.insert(position, "used", used.to_numpy(dtype=bool))
    return out


def _exclusion_reasons(df: pd.DataFrame, params: ReportParams) -> pd.Series:
    """Each row's exclusion reasons (``core.exclusion``, with the summary's thresholds)."""
    if df.empty:
        return pd.Series([], index=df.index, dtype=object)
    columns = ["blink", "flags", *(["gates_failed"] if "gates_failed" in df.columns else [])]
    return df[columns].apply(
        lambda row: exclusion_reasons(
            row, exclude_flags=params.exclude_flags, exclude_blinks=params.exclude_blinks
        ),
        axis=1,
    )


def _summarise_eye(rows: pd.DataFrame, mode: str, params: ReportParams) -> dict[str, Any]:
    reasons = _exclusion_reasons(rows, params)
    used = rows[reasons.map(len) == 0] if len(rows) else rows
    counts = count_reasons(reasons)
    out: dict[str, Any] = {
        "frames_total": len(rows),
        "frames_used": len(used),
        "frames_excluded": len(rows) - len(used),
        "frames_blink": int(rows["blink"].astype(bool).sum()) if len(rows) else 0,
        "frames_excluded_reasons": counts,
        "time_span_s": _span(used["timestamp_s"].to_numpy(float)) if len(used) else NAN,
        "iris_diameter_mm": _first_finite(used["iris_diameter_mm"]) if len(used) else NAN,
    }
    for measure in SUMMARY_MEASURES:
        values = _finite(used[measure]) if len(used) else np.empty(0)
        out.update(zip((f"{measure}_{s}" for s in STATISTICS), _quartiles(values), strict=True))
        if measure == "mrd1_mm":
            out["mrd1_mm_n"] = int(values.size)
    intervals = _intervals(used)
    for measure, interval in intervals.items():
        out[f"{measure}_ci_low"], out[f"{measure}_ci_high"] = interval.low_mm, interval.high_mm
    out["mm_per_frame_px"] = intervals["mrd1_mm"].resolution_mm
    out["mrd1_interval"] = intervals["mrd1_mm"]

    times, mrd1 = _mrd1_series(used)
    slope = _mrd1_slope(times, mrd1, mode, params)
    out["mrd1_mm_slope_per_s"] = slope
    out["mrd1_mm_fitted_change"] = slope * _span(times) if math.isfinite(slope) else NAN
    out["mrd1_slope_n"] = int(times.size) if math.isfinite(slope) else 0

    fatigue = _fatigue(times, mrd1, mode, params)
    out.update(fatigue)
    why_not = _not_assessable_reason(out, counts, params)
    out["assessable"] = why_not is None
    out["indicator_mrd1_le_2mm"] = (
        at_or_below(intervals["mrd1_mm"], params.mrd1_low_mm, _TOLERANCE)
        if why_not is None
        else NOT_ASSESSABLE
    )
    drop = fatigue["mrd1_mm_fatigue_drop"]
    out["indicator_fatigable_ge_2mm"] = (
        _word(drop >= params.fatigue_drop_mm - _TOLERANCE)
        if why_not is None and math.isfinite(drop)
        else NOT_ASSESSABLE
    )
    if why_not is not None:
        out["screening_notes"] = f"not assessable: {why_not}"
    else:
        out["screening_notes"] = "; ".join(
            (
                _mrd1_note(intervals["mrd1_mm"], out["frames_used"], params),
                _fatigue_note(out, mode, params),
            )
        )
    return out


def _intervals(used: pd.DataFrame) -> dict[str, Interval]:
    """The 95 % interval of each of ``INTERVAL_MEASURES`` over the usable frames."""
    scale = (
        used["mm_per_frame_px"].to_numpy(float)
        if len(used) and "mm_per_frame_px" in used.columns
        else np.empty(0)
    )
    return {
        measure: median_interval(
            _finite(used[measure]) if len(used) else np.empty(0),
            scale[np.isfinite(used[measure].to_numpy(float))] if scale.size else scale,
        )
        for measure in INTERVAL_MEASURES
    }


def _not_assessable_reason(
    eye: Mapping[str, Any], counts: ReasonCounts, params: ReportParams
) -> str | None:
    """None when the eye's indicators may be reported, else why not (one line)."""
    total, used, with_mrd1 = eye["frames_total"], eye["frames_used"], eye["mrd1_mm_n"]
    needed = min(params.indicator_min_frames, total)
    fraction = used / total if total else 0.0
    if total and with_mrd1 >= needed and fraction >= params.indicator_min_used_fraction:
        return None
    if not total:
        return "the eye was never analysed"
    reasons = ", ".join(f"{c.reason} {c.frames}" for c in counts)
    return (
        f"{with_mrd1} of {total} analysed frames passed the quality gates with an MRD1 "
        f"value (needs ≥ {needed} and ≥ {params.indicator_min_used_fraction * 100:g} %)"
        + (f"; excluded: {reasons}" if reasons else "")
    )


def _word(value: bool) -> str:
    return YES if value else NO


def _compare_eyes(
    right: Mapping[str, Any], left: Mapping[str, Any], params: ReportParams
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for measure, stem in COMPARED_MEASURES:
        r, lt = right[f"{measure}_median"], left[f"{measure}_median"]
        out[f"{measure}_right_minus_left"] = r - lt
        out[f"{stem}_right_over_left"] = r / lt if r > 0 and lt > 0 else NAN
    asymmetry = abs(out["mrd1_mm_right_minus_left"])
    both = bool(right.get("assessable")) and bool(left.get("assessable"))
    difference = difference_interval(right["mrd1_interval"], left["mrd1_interval"])
    out["mrd1_mm_right_minus_left_ci_low"] = difference.low_mm
    out["mrd1_mm_right_minus_left_ci_high"] = difference.high_mm
    for column, threshold in (
        ("indicator_asymmetry_ge_1mm", params.asymmetry_noticeable_mm),
        ("indicator_asymmetry_ge_2mm", params.asymmetry_marked_mm),
    ):
        word = magnitude_at_least(difference, threshold, _TOLERANCE)
        out[column] = word if both else NOT_ASSESSABLE
    if math.isfinite(asymmetry) and not both:
        out["screening_notes"] = "MRD1 asymmetry not assessable (an eye is not assessable)"
    else:
        out["screening_notes"] = _asymmetry_note(difference, params)
    return out


def _mrd1_series(used: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Usable (time s, MRD1 mm) pairs where both are finite, in time order."""
    if not len(used):
        return np.empty(0), np.empty(0)
    times = used["timestamp_s"].to_numpy(float)
    mrd1 = used["mrd1_mm"].to_numpy(float)
    keep = np.isfinite(times) & np.isfinite(mrd1)
    order = np.argsort(times[keep], kind="stable")
    return times[keep][order], mrd1[keep][order]


def _mrd1_slope(times: np.ndarray, mrd1: np.ndarray, mode: str, params: ReportParams) -> float:
    """Least-squares slope of MRD1 (mm) on time (s), or NaN when the rule says none."""
    if times.size < params.slope_min_frames or np.unique(times).size < 2:
        return NAN
    if mode != MODE_TIMESERIES and _span(times) <= params.slope_min_span_s:
        return NAN
    dt = times - times.mean()
    return float(np.sum(dt * (mrd1 - mrd1.mean())) / np.sum(dt * dt))


def _fatigue(
    times: np.ndarray, mrd1: np.ndarray, mode: str, params: ReportParams
) -> dict[str, float]:
    out = {
        "fatigue_span_s": NAN,
        "mrd1_mm_start_median": NAN,
        "mrd1_mm_end_median": NAN,
        "mrd1_mm_fatigue_drop": NAN,
    }
    if mode != MODE_TIMESERIES or times.size == 0:
        return out
    span = _span(times)
    out["fatigue_span_s"] = span
    if times.size < params.fatigue_min_frames or span < params.fatigue_min_span_s or span <= 0:
        return out
    window = params.fatigue_window_fraction * span
    start = float(np.median(mrd1[times <= times[0] + window + _TOLERANCE]))
    end = float(np.median(mrd1[times >= times[-1] - window - _TOLERANCE]))
    out.update(mrd1_mm_start_median=start, mrd1_mm_end_median=end, mrd1_mm_fatigue_drop=start - end)
    return out


def _mrd1_note(interval: Interval, frames_used: int, params: ReportParams) -> str:
    if not math.isfinite(interval.median_mm):
        return f"MRD1 not measurable ({frames_used} usable frames)"
    text = f"MRD1 median {_mm(interval.median_mm)} mm {_range(interval)}"
    word = at_or_below(interval, params.mrd1_low_mm, _TOLERANCE)
    if word == YES:
        return (
            f"{text} ≤ {params.mrd1_low_mm:g} mm "
            "(at or below the usual functional-ptosis threshold)"
        )
    if word == BORDERLINE:
        return f"{text} straddles {params.mrd1_low_mm:g} mm (borderline)"
    return f"{text} > {params.mrd1_low_mm:g} mm"


def _range(interval: Interval) -> str:
    """``[low, high]`` of a 95 % interval, in mm with 2 decimals."""
    return f"[95 % {_mm(interval.low_mm)}, {_mm(interval.high_mm)}]"


def _mm(value: float) -> str:
    """Two decimals; a value that rounds to zero prints as 0.00, never −0.00."""
    return number_text(value, ".2f")


def _fatigue_note(eye: Mapping[str, Any], mode: str, params: ReportParams) -> str:
    if mode != MODE_TIMESERIES:
        return "fatigability not assessed (key frames, not a time series)"
    drop = eye["mrd1_mm_fatigue_drop"]
    if not math.isfinite(drop):
        return (
            f"fatigability not assessed ({eye['mrd1_mm_n']} usable MRD1 frames over "
            f"{_fmt(eye['fatigue_span_s'], '.1f')} s; needs ≥ {params.fatigue_min_frames} "
            f"over ≥ {params.fatigue_min_span_s:g} s)"
        )
    percent = f"{params.fatigue_window_fraction * 100:g} %"
    change = (
        f"MRD1 {number_text(eye['mrd1_mm_start_median'], '.2f')} → "
        f"{number_text(eye['mrd1_mm_end_median'], '.2f')} mm "
        f"from the first to the last {percent} of {eye['fatigue_span_s']:.1f} s"
    )
    if drop >= params.fatigue_drop_mm - _TOLERANCE:
        fell = number_text(drop, ".2f")
        return f"{change}: fell {fell} mm ≥ {params.fatigue_drop_mm:g} mm (fatigability)"
    # A steady lid reads "0.00", not "-0.00".
    moved = number_text(-drop, "+.2f")
    return f"{change}: change {moved} mm (fall < {params.fatigue_drop_mm:g} mm)"


def _asymmetry_note(difference: Interval, params: ReportParams) -> str:
    if not math.isfinite(difference.median_mm):
        return "MRD1 asymmetry not measurable (an eye has no MRD1 median)"
    text = f"MRD1 right − left = {_mm(difference.median_mm)} mm {_range(difference)}"
    for threshold, name in (
        (params.asymmetry_marked_mm, "asymmetric-ptosis range"),
        (params.asymmetry_noticeable_mm, "noticeable asymmetry"),
    ):
        word = magnitude_at_least(difference, threshold, _TOLERANCE)
        if word == YES:
            return f"{text}: |difference| ≥ {threshold:g} mm ({name})"
        if word == BORDERLINE:
            return f"{text}: |difference| may be ≥ {threshold:g} mm (borderline)"
    return f"{text}: |difference| < {params.asymmetry_noticeable_mm:g} mm"


def _input_mode(modes: pd.Series) -> str:
    unique = list(dict.fromkeys(str(m) for m in modes))
    if len(unique) > 1:
        # The pipeline runs one mode per input; a mix would make the slope rule ambiguous.
        logger.warning("input has rows in several modes %s; treating it as key frames", unique)
        return "+".join(unique)
    return unique[0]


def _quartiles(values: np.ndarray) -> tuple[float, float, float]:
    if values.size == 0:
        return NAN, NAN, NAN
    q25, median, q75 = np.percentile(values, [25.0, 50.0, 75.0])
    return float(median), float(q25), float(q75)


def _finite(series: pd.Series) -> np.ndarray:
    values = series.to_numpy(dtype=float)
    return values[np.isfinite(values)]


def _first_finite(series: pd.Series) -> float:
    values = _finite(series)
    return float(values[0]) if values.size else NAN


def _span(times: np.ndarray) -> float:
    finite = times[np.isfinite(times)]
    return float(finite.max() - finite.min()) if finite.size else NAN


def _fmt(value: float, spec: str) -> str:
    return number_text(value, spec) if math.isfinite(value) else "n/a"


def _text(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    for column in df.columns:
        if column in ("input", "side", "mode", *_TEXT_COLUMNS, *INDICATOR_COLUMNS):
            df[column] = df[column].map(_text).astype(object)
        elif column == "frames_excluded_reasons":
            df[column] = df[column].map(lambda v: v if isinstance(v, tuple) else ()).astype(object)
        elif column in _COUNT_COLUMNS:
            df[column] = pd.to_numeric(df[column]).astype("Int64")
        else:
            df[column] = pd.to_numeric(df[column]).astype(np.float64)
    return df
