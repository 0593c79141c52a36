"""Summary: medians / IQR, exclusions, slope, right − left comparison, indicators."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from pydantic import ValidationError
from report_cases import NAN, keyframe_rows, make_row, measurements_frame_of, timeseries_rows

from ocularseg.core.errors import ReportError
from ocularseg.core.records import ReasonCount, reason_counts_cell
from ocularseg.report.summary import (
    SUMMARY_COLUMNS,
    ReportParams,
    mark_used,
    summarise,
    usable_mask,
)
from ocularseg.stages.measure import MEASUREMENT_COLUMNS

#: Expected cells per summary row (input, side), computed by hand from report_cases'
#: docstrings.
EXPECTED: dict[tuple[str, str], dict[str, object]] = {
    # a.mp4, key frames: right usable MRD1 3.8, 4.0, 4.0, 4.2 (the blink's 0.5 excluded).
    ("a.mp4", "right"): {
        "frames_total": 5,
        "frames_used": 4,
        "frames_excluded": 1,
        "mrd1_mm_median": 4.0,
        "mrd1_mm_q25": 3.95,
        "mrd1_mm_q75": 4.05,
        "mrd1_mm_n": 4,
        "mrd1_px_median": 40.0,
        "mrd1_mm_slope_per_s": 0.2 / 8.75,
        "mrd1_mm_fitted_change": 4.0 * 0.2 / 8.75,  # slope × 4 s span
        "mrd1_slope_n": 4,
        "indicator_mrd1_le_2mm": "no",
        "indicator_fatigable_ge_2mm": "not assessable",  # key frames
        "frames_excluded_reasons": "blink 1",
        "time_span_s": 4.0,
        "iris_diameter_mm": 11.7,
    },
    # left: usable MRD1 1.6, 1.4 and a NaN (skipped); blink and eye_closed excluded.
    ("a.mp4", "left"): {
        "frames_used": 3,
        "frames_excluded": 2,
        "mrd1_mm_median": 1.5,
        "mrd1_mm_q25": 1.45,
        "mrd1_mm_q75": 1.55,
        "mrd1_mm_n": 2,
        "mrd1_mm_slope_per_s": NAN,  # 2 points < 3
        "mrd1_slope_n": 0,
        # Only 2 usable MRD1 values (< 3): the ptotic-looking eye is not assessable.
        "indicator_mrd1_le_2mm": "not assessable",
        # One frame per main reason: the eye_closed frame's iris_not_found is not counted
        # again, so the counts add up to frames_excluded (issue 20.6).
        "frames_excluded_reasons": "blink 1; eye_closed 1",
    },
    # right − left: 4.0 − 1.5 = 2.5 mm, but the left eye is not assessable.
    ("a.mp4", "right-left"): {
        "mrd1_mm_right_minus_left": 2.5,
        "mrd1_right_over_left": 4.0 / 1.5,
        "visible_iris_fraction_right_minus_left": 0.35,
        "visible_iris_fraction_right_over_left": 0.95 / 0.6,
        "fissure_height_mm_right_minus_left": 2.0,
        "fissure_height_right_over_left": 1.25,
        "indicator_asymmetry_ge_1mm": "not assessable",
        "indicator_asymmetry_ge_2mm": "not assessable",
        "indicator_mrd1_le_2mm": "",
        "frames_used": None,
        "mrd1_mm_median": NAN,
    },
    # b.mp4, time series over 20 s: right 4 − 0.15 t, left 4.0.
    ("b.mp4", "right"): {
        "mrd1_mm_median": 2.5,
        "mrd1_mm_slope_per_s": -0.15,
        "mrd1_mm_fitted_change": -3.0,  # −0.15 mm/s over 20 s
        "fatigue_span_s": 20.0,
        "mrd1_mm_start_median": 3.85,  # t = 0, 1, 2 (first 10 % = 2 s)
        "mrd1_mm_end_median": 1.15,  # t = 18, 19, 20
        "mrd1_mm_fatigue_drop": 2.7,
        "indicator_fatigable_ge_2mm": "yes",
    },
    ("b.mp4", "left"): {
        "mrd1_mm_slope_per_s": 0.0,
        "mrd1_mm_fatigue_drop": 0.0,
        "indicator_fatigable_ge_2mm": "no",
    },
    ("b.mp4", "right-left"): {
        "mrd1_mm_right_minus_left": -1.5,
        "indicator_asymmetry_ge_1mm": "yes",
        "indicator_asymmetry_ge_2mm": "no",
    },
}
CASES = [
    (input_name, side, column, expected)
    for (input_name, side), cells in EXPECTED.items()
    for column, expected in cells.items()
]


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    rows = keyframe_rows() + timeseries_rows()
    return summarise(measurements_frame_of(rows, MEASUREMENT_COLUMNS))


def _cell(summary: pd.DataFrame, input_name: str, side: str, column: str):
    match = summary[(summary["input"] == input_name) & (summary["side"] == side)]
    assert len(match) == 1
    return match.iloc[0][column]


@pytest.mark.parametrize(("input_name", "side", "column", "expected"), CASES)
def test_summary_values(summary, input_name, side, column, expected) -> None:
    value = _cell(summary, input_name, side, column)
    if expected is None:
        assert value is pd.NA
    elif isinstance(expected, bool):
        assert bool(value) is expected
    elif column == "frames_excluded_reasons":
        assert reason_counts_cell(value) == expected  # typed counts, written as in the CSV
    elif isinstance(expected, str):
        assert value == expected
    elif isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(value)
    else:
        assert value == pytest.approx(expected, abs=1e-9)


def test_layout_three_rows_per_input_in_order(summary) -> None:
    assert list(summary.columns) == list(SUMMARY_COLUMNS)
    assert list(summary["input"]) == ["a.mp4"] * 3 + ["b.mp4"] * 3
    assert list(summary["side"]) == ["right", "left", "right-left"] * 2
    assert set(summary["indicator_mrd1_le_2mm"]) <= {"yes", "no", "not assessable", ""}
    assert summary["frames_used"].dtype == "Int64"


def test_excluded_frames_do_not_enter_the_medians() -> None:
    # The blink frame's MRD1 of 0.5 mm would pull the right median below 4.0 if counted.
    rows = [r for r in keyframe_rows() if r["side"] == "right"]
    with_blink = summarise(measurements_frame_of(rows))
    without = summarise(measurements_frame_of([r for r in rows if not r["blink"]]))
    for column in ("mrd1_mm_median", "mrd1_mm_q25", "mrd1_mm_q75", "mrd1_mm_slope_per_s"):
        assert with_blink.loc[0, column] == pytest.approx(without.loc[0, column])
    assert with_blink.loc[0, "frames_excluded"] == 1
    assert without.loc[0, "frames_excluded"] == 0


def test_usable_mask_matches_flags_and_blinks() -> None:
    df = measurements_frame_of(keyframe_rows())
    mask = usable_mask(df)
    excluded = df[~mask]
    assert set(zip(excluded["frame_index"], excluded["side"], strict=True)) == {
        (3, "right"),
        (3, "left"),
        (4, "left"),
    }
    # at_border alone does not exclude a frame.
    assert mask[(df["frame_index"] == 2) & (df["side"] == "left")].all()


def test_excluded_flags_are_configurable() -> None:
    df = measurements_frame_of(keyframe_rows())
    params = ReportParams(exclude_flags=("eye_closed", "iris_not_found", "at_border"))
    summary = summarise(df, params)
    assert summary.loc[1, "frames_used"] == 2  # left frame 2 is now excluded too
    keep_blinks = summarise(df, ReportParams(exclude_blinks=False))
    assert keep_blinks.loc[0, "frames_used"] == 5


def test_keyframe_slope_needs_more_than_one_second() -> None:
    # Three usable frames within 0.5 s: too short for a key-frame slope ...
    rows = [make_row("c.mp4", i, i * 0.25, "right", mrd1_mm=4.0 - i) for i in range(3)]
    summary = summarise(measurements_frame_of(rows))
    assert math.isnan(summary.loc[0, "mrd1_mm_slope_per_s"])
    assert summary.loc[0, "mrd1_slope_n"] == 0
    # ... but fine in a time series.
    rows = [
        make_row("c.mp4", i, i * 0.25, "right", mode="timeseries", mrd1_mm=4.0 - i)
        for i in range(3)
    ]
    summary = summarise(measurements_frame_of(rows))
    assert summary.loc[0, "mrd1_mm_slope_per_s"] == pytest.approx(-4.0)
    assert summary.loc[0, "mrd1_slope_n"] == 3


def test_short_timeseries_is_not_assessed_for_fatigability() -> None:
    summary = summarise(measurements_frame_of(timeseries_rows(n_frames=4, step_s=1.0)))
    right = summary.iloc[0]
    assert right["indicator_fatigable_ge_2mm"] == "not assessable"
    assert math.isnan(right["mrd1_mm_fatigue_drop"])
    assert right["fatigue_span_s"] == pytest.approx(3.0)
    assert "fatigability not assessed" in right["screening_notes"]
    # The slope is still reported: 4 frames over 3 s.
    assert right["mrd1_mm_slope_per_s"] == pytest.approx(-0.15)


def test_missing_eye_gives_an_empty_row_not_no_row() -> None:
    rows = [r for r in keyframe_rows() if r["side"] == "right"]
    summary = summarise(measurements_frame_of(rows))
    assert list(summary["side"]) == ["right", "left", "right-left"]
    left = summary.iloc[1]
    assert left["frames_total"] == 0
    assert left["indicator_mrd1_le_2mm"] == "not assessable"
    assert "never analysed" in left["screening_notes"]
    comparison = summary.iloc[2]
    assert comparison["indicator_asymmetry_ge_1mm"] == "not assessable"
    assert math.isnan(comparison["mrd1_mm_right_minus_left"])


@pytest.mark.parametrize(
    ("right_mm", "left_mm", "ge_1", "ge_2", "left_low"),
    [
        (3.3, 2.3, True, False, False),  # 1.0 mm despite 3.3 − 2.3 = 0.99999… in floats
        (4.0, 2.0, True, True, True),  # exactly on both thresholds
        (4.0, 3.1, False, False, False),
        (1.0, 4.5, True, True, False),  # sign does not matter
    ],
)
def test_indicator_thresholds_are_inclusive(right_mm, left_mm, ge_1, ge_2, left_low) -> None:
    rows = [
        make_row("d.mp4", 0, 0.0, "right", mrd1_mm=right_mm),
        make_row("d.mp4", 0, 0.0, "left", mrd1_mm=left_mm),
    ]
    summary = summarise(measurements_frame_of(rows))  # a still image: its one frame suffices

    def word(flag: bool) -> str:
        return "yes" if flag else "no"

    assert summary.loc[2, "indicator_asymmetry_ge_1mm"] == word(ge_1)
    assert summary.loc[2, "indicator_asymmetry_ge_2mm"] == word(ge_2)
    assert summary.loc[1, "indicator_mrd1_le_2mm"] == word(left_low)


def test_ratio_is_empty_when_a_median_is_not_positive() -> None:
    rows = [
        make_row("e.mp4", 0, 0.0, "right", mrd1_mm=3.0),
        make_row("e.mp4", 0, 0.0, "left", mrd1_mm=-0.5),  # lid below the iris centre
    ]
    summary = summarise(measurements_frame_of(rows))
    assert summary.loc[2, "mrd1_mm_right_minus_left"] == pytest.approx(3.5)
    assert math.isnan(summary.loc[2, "mrd1_right_over_left"])


def test_notes_state_the_thresholds_used() -> None:
    df = measurements_frame_of(keyframe_rows())
    summary = summarise(df, ReportParams(mrd1_low_mm=2.5, indicator_min_frames=2))
    assert "≤ 2.5 mm" in summary.loc[1, "screening_notes"]
    assert "asymmetric-ptosis range" in summary.loc[2, "screening_notes"]


def test_empty_measurements_give_an_empty_summary() -> None:
    summary = summarise(measurements_frame_of([]))
    assert summary.empty
    assert list(summary.columns) == list(SUMMARY_COLUMNS)


def test_missing_required_column_is_an_error() -> None:
    df = measurements_frame_of(keyframe_rows()).drop(columns=["mrd2_mm"])
    with pytest.raises(ReportError, match="mrd2_mm"):
        summarise(df)


def test_params_are_frozen_and_strict() -> None:
    params = ReportParams()
    assert (params.mrd1_low_mm, params.asymmetry_noticeable_mm) == (2.0, 1.0)
    assert (params.asymmetry_marked_mm, params.fatigue_drop_mm) == (2.0, 2.0)
    with pytest.raises(ValidationError):
        ReportParams(mrd1_low=2.5)  # misspelt key
    with pytest.raises(ValidationError):
        params.mrd1_low_mm = 3.0  # type: ignore[misc]
    with pytest.raises(ValidationError, match="asymmetry_marked_mm"):
        ReportParams(asymmetry_noticeable_mm=2.0, asymmetry_marked_mm=1.0)
    with pytest.raises(ValidationError):
        ReportParams(fatigue_window_fraction=0.0)


def test_not_assessable_note_names_the_counts_and_reasons() -> None:
    summary = summarise(measurements_frame_of(keyframe_rows()))
    note = summary.loc[1, "screening_notes"]
    assert note.startswith("not assessable: 2 of 5 analysed frames")
    assert "needs ≥ 3" in note and "eye_closed 1" in note


def test_failed_gates_exclude_frames_and_are_counted() -> None:
    rows = timeseries_rows(n_frames=6)
    rows[0]["gates_failed"] = "mrd1_out_of_range"  # b.mp4 frame 0, right eye
    rows[2]["gates_failed"] = "low_quality;iris_size_implausible"  # frame 1, right
    summary = summarise(measurements_frame_of(rows))
    right = summary.iloc[0]
    assert right["frames_used"] == 4
    assert right["frames_excluded_reasons"] == (
        ReasonCount("mrd1_out_of_range", 1),
        ReasonCount("low_quality", 1),  # its frame's iris_size_implausible: same frame
    )
    # MRD1 4 − 0.15 t over t = 2 … 5 only: median 3.475.
    assert right["mrd1_mm_median"] == pytest.approx(3.475)


def test_most_frames_failing_makes_the_eye_not_assessable() -> None:
    rows = [
        make_row("f.mp4", i, float(i), "right", mrd1_mm=1.0, gates_failed="" if i < 3 else "x")
        for i in range(8)
    ]
    right = summarise(measurements_frame_of(rows)).iloc[0]
    assert right["frames_used"] == 3
    assert right["indicator_mrd1_le_2mm"] == "not assessable"  # 3 of 8 < 50 %
    assert "3 of 8" in right["screening_notes"]
    relaxed = summarise(measurements_frame_of(rows), ReportParams(indicator_min_used_fraction=0.3))
    assert relaxed.iloc[0]["indicator_mrd1_le_2mm"] == "yes"


def test_mark_used_adds_the_column_after_gates_failed() -> None:
    df = mark_used(measurements_frame_of(keyframe_rows()))
    columns = list(df.columns)
    assert columns[columns.index("gates_failed") + 1] == "used"
    assert df["used"].tolist() == usable_mask(df).tolist()
    assert int((~df["used"]).sum()) == 3
