"""When every frame of an eye is excluded, the report shows the most telling one, and says so."""

from __future__ import annotations

import math
from pathlib import Path

from ocularseg.report.page import _draw_eye, _representative
from ocularseg.report.summary import ReportParams, mark_used, summarise
from tests.report.report_cases import make_row, measurements_frame_of


def _row(*args, quality: float, **values) -> dict:
    row = make_row(*args, **values)
    row["quality"] = quality
    return row


def _all_excluded():
    rows = [
        # Frame 0: blurred skin, nothing found (what the report used to show).
        _row("c.mp4", 0, 0.0, "right", mode="timeseries", flags="eye_closed", quality=0.2),
        # Frame 1: an iris circle but no MRD1.
        _row(
            "c.mp4",
            1,
            0.2,
            "right",
            mode="timeseries",
            gates_failed="low_quality",
            quality=0.6,
            iris_radius_px=40.0,
        ),
        # Frames 2 and 3: an MRD1, the quality decides.
        _row(
            "c.mp4",
            2,
            0.4,
            "right",
            mode="timeseries",
            gates_failed="low_quality",
            quality=0.7,
            iris_radius_px=40.0,
            mrd1_mm=3.0,
        ),
        _row(
            "c.mp4",
            3,
            0.6,
            "right",
            mode="timeseries",
            gates_failed="low_quality",
            quality=0.5,
            iris_radius_px=40.0,
            mrd1_mm=3.1,
        ),
    ]
    measurements = mark_used(measurements_frame_of(rows))
    assert not measurements["used"].any()
    return measurements, summarise(measurements)


def test_best_excluded_frame_is_shown_and_named() -> None:
    from matplotlib.figure import Figure

    measurements, summary = _all_excluded()
    right = measurements[measurements["side"] == "right"]
    assert _representative(right, summary, "right")["frame_index"] == 2
    axes = Figure().add_subplot()
    _draw_eye(axes, Path("."), measurements, summary, "right")
    assert axes.get_title() == "OD (right) — frame 2, 0.40 s (excluded; the best available)"


def test_a_used_frame_is_still_the_one_nearest_the_median() -> None:
    rows = [
        _row("d.mp4", i, 0.2 * i, "right", mode="timeseries", mrd1_mm=v, quality=0.95)
        for i, v in enumerate((3.0, 4.0, 5.0))
    ]
    measurements = mark_used(measurements_frame_of(rows))
    summary = summarise(measurements)
    row = _representative(measurements, summary, "right")
    assert row["frame_index"] == 1 and math.isclose(row["mrd1_mm"], 4.0)


def test_fatigability_of_a_photo_reads_as_in_the_summary() -> None:
    from ocularseg.report.page import _table_rows

    rows = [make_row("p.jpg", 0, 0.0, side, mrd1_mm=3.0) for side in ("right", "left")]
    summary = summarise(mark_used(measurements_frame_of(rows)))
    (row,) = [r for r in _table_rows(summary, "keyframes", ReportParams()) if "fatigab" in r[0]]
    assert row[0].endswith("(needs --fps)")
    assert (
        row[1:3] == (summary.iloc[0]["indicator_fatigable_ge_2mm"],) * 2 == ("not assessable",) * 2
    )
