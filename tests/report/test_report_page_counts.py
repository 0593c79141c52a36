"""Issue 20.4 and 20.6 on the one-page report: every frame looked at is accounted for in
the header, frames with no face are marked on the chart, and the exclusion reasons each
carry their name and add up to the frames excluded."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ocularseg.core.records import FrameCounts
from ocularseg.report.page import (
    PageContext,
    _draw_page,
    _exclusion_lines,
    draw_timeseries,
    frames_line,
)
from ocularseg.report.summary import mark_used, summarise
from ocularseg.report.text_flow import width_measure
from tests.report.report_cases import make_row, measurements_frame_of

FRAMES_CASES = [
    # (analysed, mode, counts, the header's words)
    (
        31,
        "timeseries",
        FrameCounts(46, 15, 31),
        "46 frames looked at: 31 analysed, 15 with no face",
    ),
    (31, "timeseries", FrameCounts(31, 0, 31), "31 frames analysed"),
    (1, "keyframes", None, "1 frame analysed"),
    (
        8,
        "keyframes",
        FrameCounts(120, 1, 8),
        "120 frames looked at: 8 analysed as key frames, 1 with no face, 111 not chosen",
    ),
]


@pytest.mark.parametrize(("analysed", "mode", "counts", "words"), FRAMES_CASES)
def test_header_accounts_for_every_frame_looked_at(analysed, mode, counts, words) -> None:
    assert frames_line(analysed, mode, counts) == words


def _series_with_exclusions():
    """'b.mp4', 10 frames at 1 s: right-eye frames 1–4 excluded, one of them for three
    reasons at once (the case that printed more reasons than frames)."""
    rows = []
    reasons = {
        1: {"blink": True},
        2: {"flags": "eye_closed;iris_not_found", "gates_failed": "low_quality"},
        3: {"gates_failed": "blurred"},
        4: {"gates_failed": "blurred;mrd1_out_of_range"},
    }
    for frame in range(10):
        extra = reasons.get(frame, {})
        for side in ("right", "left"):
            cells = extra if side == "right" else {}
            rows.append(
                make_row(
                    "b.mp4", frame, float(frame), side, mode="timeseries", mrd1_mm=4.0, **cells
                )
            )
    measurements = mark_used(measurements_frame_of(rows))
    return measurements, summarise(measurements)


def _page_text(measurements, summary, frames) -> list[str]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11.69, 8.27))
    context = PageContext("")
    lead, _ = _draw_page(
        figure, Path("."), "b.mp4", measurements, summary, context, width_measure(figure), frames
    )
    # The header is drawn; the running text (exclusion lines) flows from the items.
    return [t.get_text() for t in figure.texts] + lead + _exclusion_lines(summary, context)


def test_exclusion_reasons_have_names_and_add_up() -> None:
    # Issue 20.6: "4 frame(s) excluded — (1), (1), (2), (1)".
    measurements, summary = _series_with_exclusions()
    text = _page_text(measurements, summary, FrameCounts(12, 2, 10))
    (line,) = [t for t in text if t.startswith("OD (right): ")]
    assert "4 frame(s) excluded" in line
    counts = re.findall(r"([a-z][a-z ]+) \((\d+)\)", line.split("—", 1)[1])
    assert [name for name, _ in counts] == ["blink", "eye closed", "frame blurred"]
    assert sum(int(n) for _, n in counts) == 4
    assert any("12 frames looked at: 10 analysed, 2 with no face" in t for t in text)


def test_chart_marks_the_frames_with_no_face() -> None:
    from matplotlib.figure import Figure

    measurements, summary = _series_with_exclusions()
    figure = Figure()
    mrd1, fraction = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    from ocularseg.report.summary import ReportParams

    draw_timeseries(mrd1, fraction, measurements, summary, ReportParams(), (10.0, 11.0))
    legend = [t.get_text() for t in mrd1.get_legend().get_texts()]
    assert "no face found" in legend
    for axes in (mrd1, fraction):
        hatched = [p for p in axes.patches if p.get_hatch()]
        assert len(hatched) == 2
        assert axes.get_xlim()[1] >= 11.0  # the marks are inside the chart
    # Without frames lacking a face, nothing is marked and the legend does not say so.
    figure = Figure()
    mrd1, fraction = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    draw_timeseries(mrd1, fraction, measurements, summary, ReportParams())
    assert "no face found" not in [t.get_text() for t in mrd1.get_legend().get_texts()]
