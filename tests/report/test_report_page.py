"""The one-page report: nothing cut off or left out, whatever the length of the text.

Worst cases: many exclusion reasons with long names, many long errors and warnings and a
long file name. The PDF's own text (uncompressed, read back here) must hold every reason,
error and warning in full; every drawn text must lie inside its page.
"""

from __future__ import annotations

import re

import matplotlib
import pandas as pd
import pytest
from report_cases import keyframe_rows, measurements_frame_of, timeseries_rows

from ocularseg.core.records import ErrorRecord, ReasonCount, WarningRecord
from ocularseg.io.images import read_image_rgb
from ocularseg.report import page
from ocularseg.report.page import PageContext, write_input_report
from ocularseg.report.summary import summarise
from ocularseg.report.tables import errors_frame, warnings_frame
from ocularseg.report.text_flow import TextRegion, paginate, wrap_text
from tests.pdf_text import comparable, pdf_text

LONG_NAME = "patient_" + "very_long_recording_name_" * 9 + "end.mp4"
#: Longer than the page is wide even at the smallest footer size: it wraps.
PROVENANCE = "Model m: trained on " + "phantoms and real eyes; " * 14 + "validated on held-out eyes"


def photo_rows() -> list[dict]:
    """One frame of each eye: a still image."""
    return [row for row in keyframe_rows() if row["frame_index"] == 0]


def _reasons(count: int) -> tuple[ReasonCount, ...]:
    return tuple(ReasonCount(f"reason_{i}", i + 1) for i in range(count))


def _words() -> dict[str, str]:
    return {
        f"reason_{i}": f"reason number {i} with a long explanation of why the frame was "
        f"left out of the results (gate {i})"
        for i in range(40)
    }


def _tables(rows: list[dict], n_errors: int, n_warnings: int, reasons: int, name=LONG_NAME):
    for row in rows:
        row["input"] = name
    measurements = measurements_frame_of(rows)
    summary = summarise(measurements)
    eyes = summary["side"].isin(["right", "left"])
    summary["frames_excluded_reasons"] = summary["frames_excluded_reasons"].astype(object)
    for index in summary.index[eyes]:
        summary.at[index, "frames_excluded_reasons"] = _reasons(reasons)
        summary.at[index, "frames_excluded"] = reasons
    errors = errors_frame(
        [
            ErrorRecord(name, "measure", f"{name}: error {i} " + "why it failed " * 12)
            for i in range(n_errors)
        ]
    )
    warnings = warnings_frame(
        [
            WarningRecord(name, "face", f"{name}: warning {i} " + "read this " * 15)
            for i in range(n_warnings)
        ]
    )
    return measurements, summary, errors, warnings


@pytest.fixture
def drawn(monkeypatch):
    """The figures of the last report written (each page), captured as it is saved."""
    figures: list = []
    save_pdf = page._save_pdf

    def capture(pages, path):
        figures[:] = pages
        save_pdf(pages, path)

    monkeypatch.setattr(page, "_save_pdf", capture)
    monkeypatch.setitem(matplotlib.rcParams, "pdf.compression", 0)
    return figures


def _write(tmp_path, tables):
    measurements, summary, errors, warnings = tables
    context = PageContext(provenance=PROVENANCE, version="0.1.0", exclusion_text=_words())
    folder = tmp_path / "input"
    return write_input_report(
        folder, tmp_path, measurements, summary, errors, context, warnings=warnings
    )


@pytest.mark.slow
@pytest.mark.parametrize("rows", [photo_rows, timeseries_rows], ids=["photo", "video"])
def test_every_reason_error_and_warning_is_in_the_pdf_in_full(tmp_path, drawn, rows) -> None:
    tables = _tables(rows(), n_errors=10, n_warnings=6, reasons=20)
    paths = _write(tmp_path, tables)
    text = comparable(pdf_text(paths["pdf"]))
    _, summary, errors, warnings = tables
    for number in range(20):
        assert comparable(_words()[f"reason_{number}"]) in text
    for message in [*errors["error"], *warnings["warning"]]:
        assert comparable(message) in text
    assert comparable(LONG_NAME) in text
    assert comparable(PROVENANCE) in text
    # More pages: in the PDF, and one below the other in the PNG.
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", paths["pdf"].read_bytes()))
    assert pages == len(drawn) >= 2
    png = read_image_rgb(paths["png"])
    assert png.shape[0] > png.shape[1] * 1.5
    assert "(continuedonpage2of" in text  # a note where the text breaks


def _drawn_texts(figure) -> list:
    """The page's own texts: running text, header, footer, panel titles and table cells."""
    texts = list(figure.texts)
    for axes in figure.axes:
        texts += [axes.title, axes._left_title, axes._right_title]
        texts += [cell.get_text() for table in axes.tables for cell in table.get_celld().values()]
    return [t for t in texts if t.get_visible() and t.get_text()]


@pytest.mark.slow
@pytest.mark.parametrize("rows", [photo_rows, timeseries_rows], ids=["photo", "video"])
def test_no_text_is_drawn_past_the_page_edge(tmp_path, drawn, rows) -> None:
    _write(tmp_path, _tables(rows(), n_errors=8, n_warnings=8, reasons=12))
    for figure in drawn:
        renderer = figure.canvas.get_renderer()
        page_box = figure.bbox
        for artist in _drawn_texts(figure):
            box = artist.get_window_extent(renderer)
            assert page_box.x0 - 1 <= box.x0 and box.x1 <= page_box.x1 + 1, artist.get_text()
            assert page_box.y0 - 1 <= box.y0 and box.y1 <= page_box.y1 + 1, artist.get_text()


@pytest.mark.slow
def test_a_short_report_stays_one_page(tmp_path, drawn) -> None:
    tables = _tables(photo_rows(), n_errors=1, n_warnings=1, reasons=2, name="face.png")
    paths = _write(tmp_path, tables)
    assert len(drawn) == 1
    png = read_image_rgb(paths["png"])
    assert png.shape[1] > png.shape[0] > 1000  # A4 landscape at 150 dpi


@pytest.mark.slow
def test_warnings_are_listed_under_errors_and_warnings(tmp_path, drawn) -> None:
    measurements, summary, _, _ = _tables(keyframe_rows(), 0, 0, 1)
    warnings = warnings_frame([WarningRecord(LONG_NAME, "face", "2 faces: check the patient")])
    errors = errors_frame([])
    paths = _write(tmp_path, (measurements, summary, errors, warnings))
    text = pdf_text(paths["pdf"])
    assert "Errors and warnings recorded for this input:" in text
    assert "warning (face): 2 faces: check the patient" in text
    assert "none recorded" not in text


@pytest.mark.slow
def test_a_difference_that_rounds_to_zero_has_no_sign(tmp_path, drawn) -> None:
    measurements, summary, errors, warnings = _tables(keyframe_rows(), 0, 0, 1)
    both = summary["side"] == "right-left"
    summary.loc[both, "mrd1_mm_right_minus_left"] = -0.001
    _write(tmp_path, (measurements, summary, errors, warnings))
    texts = [t.get_text() for t in _drawn_texts(drawn[0])]
    assert "0.00" in texts
    assert not [t for t in texts if re.search(r"[−+-]0\.0+(?![0-9])", t)]


def _chars(text: str, size_pt: float, weight: str) -> float:
    return 5.0 * len(text)  # 5 pt per character, for hand-checked cases


def test_wrap_keeps_every_character_and_breaks_long_words() -> None:
    text = "short words " + "x" * 50 + " end"
    lines = wrap_text(text, 106.0, _chars)  # 20 characters a line after the 6 pt slack
    assert all(len(line) <= 20 for line in lines)
    assert comparable("".join(lines)) == comparable(text)
    # The long word is broken where it stands, not moved to a line of its own first.
    assert lines[:2] == ["short words xxxxxxxx", "      xxxxxxxxxxxxxx"]
    assert wrap_text("  • a bullet", 106.0, _chars) == ["  • a bullet"]


def test_paginate_moves_whole_items_and_notes_the_continuation() -> None:
    first = TextRegion(0, 0.1, 0.056, 1000.0)  # 3 lines
    rest = TextRegion(0, 0.9, 0.79, 1000.0)  # 6 lines
    assert paginate(["a", "b", "c"], first, rest, _chars) == [["a", "b", "c"]]
    long = "y " * 300  # 4 lines of 1000 pt
    pages = paginate(["a", "b", long, "c"], first, rest, _chars)
    # Page 1 keeps a line for "continued": the long item starts the next page whole.
    assert pages == [["a", "b"], [*wrap_text(long, 1000.0, _chars), "c"]]
    assert len(pages[1]) == 5  # the long item takes 4


def test_input_rows_pick_one_input() -> None:
    frame = pd.DataFrame({"input": ["a", "b", "a"], "warning": ["1", "2", "3"]})
    assert list(page.input_rows(frame, "a")["warning"]) == ["1", "3"]
    assert page.input_rows(None, "a").empty
