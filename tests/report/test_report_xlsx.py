"""report.xlsx: sheets, frozen bold header, values, number formats, run sheet, atomicity."""

from __future__ import annotations

import json

import openpyxl
import pytest
from report_cases import keyframe_rows, measurements_frame_of, timeseries_rows

from ocularseg.core.errors import ReportError
from ocularseg.core.records import ErrorRecord
from ocularseg.report.summary import DISCLAIMER, summarise
from ocularseg.report.tables import errors_frame
from ocularseg.report.xlsx import SHEET_NAMES, flatten_run_info, number_format, write_xlsx
from ocularseg.stages.measure import MEASUREMENT_COLUMNS

RUN_INFO = {
    "version": "0.1.0",
    "model": {"name": "unet", "sha256": "ab" * 32},
    "config": {"measure": {"iris_diameter_mm": 11.7, "iris_fit": {"min_points": 12}}},
    "providers": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "timings_s": {"segment": 1.25},
    "empty": {},
    "note": None,
}

# column -> Excel number format, from the unit in the name.
FORMAT_CASES = [
    ("mrd1_mm", "0.00"),
    ("mrd1_mm_median", "0.00"),
    ("mrd1_mm_right_minus_left", "0.00"),
    ("timestamp_s", "0.00"),
    ("iris_opening_ratio_q25", "0.000"),
    ("visible_iris_fraction", "0.000"),
    ("mrd1_right_over_left", "0.000"),
    ("mrd1_mm_slope_per_s", "0.000"),
    ("mrd1_px", "0.0"),
    ("mrd1_px_median", "0.0"),
    ("area_sclera_px", "0"),
    ("area_sclera_frame_px", "0.0"),
    ("frames_used", "0"),
    ("mrd1_mm_n", "0"),
    ("frame_index", "0"),
    ("mm_per_crop_px", "0.0000"),
    ("input", None),
    ("indicator_mrd1_le_2mm", None),
]


@pytest.fixture(scope="module")
def tables():
    df = measurements_frame_of(keyframe_rows() + timeseries_rows(), MEASUREMENT_COLUMNS)
    errors = errors_frame([ErrorRecord(input="=c.mp4", stage="face", error="no face found")])
    return df, summarise(df), errors


@pytest.fixture(scope="module")
def workbook(tables, tmp_path_factory):
    df, summary, errors = tables
    path = tmp_path_factory.mktemp("xlsx") / "report.xlsx"
    assert write_xlsx(path, summary, df, errors, RUN_INFO) == path
    return openpyxl.load_workbook(path)


def _header(sheet) -> list[str]:
    return [cell.value for cell in sheet[1]]


def test_sheets_frozen_bold_headers(workbook, tables) -> None:
    df, summary, errors = tables
    assert workbook.sheetnames == list(SHEET_NAMES)
    for name, table in (("summary_data", summary), ("measurements", df), ("errors", errors)):
        sheet = workbook[name]
        assert sheet.freeze_panes == "A2"
        assert _header(sheet) == list(table.columns)
        assert all(cell.font.bold for cell in sheet[1])
        assert sheet.auto_filter.ref.startswith("A1:")
    assert workbook["run"].freeze_panes == "A2"


def test_summary_values_match(workbook, tables) -> None:
    _, summary, _ = tables
    sheet = workbook["summary_data"]
    header = _header(sheet)

    def cell(row: int, column: str):
        return sheet.cell(row=row + 2, column=header.index(column) + 1)

    assert cell(0, "mrd1_mm_median").value == pytest.approx(4.0)
    assert cell(0, "mrd1_mm_median").number_format == "0.00"
    assert cell(0, "mrd1_mm_q25").value == pytest.approx(3.95)
    assert cell(1, "indicator_mrd1_le_2mm").value == "not assessable"
    assert cell(3, "indicator_fatigable_ge_2mm").value == "yes"
    assert cell(3, "indicator_fatigable_ge_2mm").fill.start_color.rgb.endswith("FFE0B2")
    assert cell(0, "indicator_mrd1_le_2mm").value == "no"
    assert cell(0, "indicator_asymmetry_ge_1mm").value is None  # NA -> empty cell
    assert cell(2, "mrd1_right_over_left").value == pytest.approx(4.0 / 1.5)
    assert cell(2, "mrd1_right_over_left").number_format == "0.000"
    assert cell(2, "frames_used").value is None
    assert cell(3, "mrd1_mm_slope_per_s").value == pytest.approx(-0.15)
    assert cell(5, "side").value == "right-left"
    assert "fell 2.70 mm" in cell(3, "screening_notes").value
    assert sheet.cell(row=1, column=header.index("indicator_mrd1_le_2mm") + 1).comment


def test_disclaimer_note_below_the_table(workbook, tables) -> None:
    _, summary, _ = tables
    sheet = workbook["summary_data"]
    assert sheet.cell(row=len(summary) + 2, column=1).value is None  # one empty row
    note = sheet.cell(row=len(summary) + 3, column=1)
    assert note.value == DISCLAIMER
    assert note.value.startswith("Screening indicators, not diagnoses")
    assert note.font.bold


def test_measurements_values_and_links(workbook, tables) -> None:
    df, _, _ = tables
    sheet = workbook["measurements"]
    header = _header(sheet)
    assert sheet.max_row == len(df) + 1
    mrd1 = [row[header.index("mrd1_mm")] for row in sheet.iter_rows(min_row=2, values_only=True)]
    expected = [None if v != v else pytest.approx(v) for v in df["mrd1_mm"]]
    assert mrd1 == expected
    overlay = sheet.cell(row=2, column=header.index("overlay") + 1)
    assert overlay.hyperlink.target == df.loc[0, "overlay"]


def test_errors_sheet_keeps_formula_like_text_as_text(workbook) -> None:
    sheet = workbook["errors"]
    assert _header(sheet) == ["input", "stage", "frame_index", "error"]
    assert sheet["A2"].value == "=c.mp4"
    assert sheet["A2"].data_type == "s"
    assert sheet["C2"].value is None


def test_run_sheet_key_values(workbook) -> None:
    rows = list(workbook["run"].iter_rows(values_only=True))
    assert rows[0] == ("key", "value")
    values = dict(rows[1:])
    assert values["version"] == "0.1.0"
    assert values["model.sha256"] == "ab" * 32
    assert values["config.measure.iris_diameter_mm"] == 11.7
    assert values["config.measure.iris_fit.min_points"] == 12
    assert json.loads(values["providers"]) == RUN_INFO["providers"]
    assert values["empty"] == "{}"
    assert values["note"] is None


def test_flatten_run_info_order() -> None:
    assert flatten_run_info({"b": 1, "a": {"y": 2, "x": [1]}}) == [
        ("b", 1),
        ("a.y", 2),
        ("a.x", "[1]"),
    ]


@pytest.mark.parametrize(("column", "expected"), FORMAT_CASES)
def test_number_format(column, expected) -> None:
    assert number_format(column) == expected


def test_empty_tables_still_give_four_sheets(tmp_path) -> None:
    df = measurements_frame_of([], MEASUREMENT_COLUMNS)
    path = write_xlsx(tmp_path / "r.xlsx", summarise(df), df, None, {})
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == list(SHEET_NAMES)
    assert book["errors"].max_row == 1
    assert _header(book["errors"]) == ["input", "stage", "frame_index", "error"]


def test_failed_save_leaves_no_partial_file(tables, tmp_path, monkeypatch) -> None:
    df, summary, errors = tables
    target = tmp_path / "report.xlsx"
    target.write_bytes(b"previous report")

    def half_then_fail(self, filename):
        with open(filename, "wb") as handle:
            handle.write(b"PK\x03\x04 truncated")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(openpyxl.Workbook, "save", half_then_fail)
    with pytest.raises(ReportError, match="report.xlsx.*No space left"):
        write_xlsx(target, summary, df, errors, RUN_INFO)
    assert target.read_bytes() == b"previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.xlsx"]


def test_readable_summary_sheet(tables, tmp_path) -> None:
    df, summary, errors = tables
    chart = tmp_path / "chart.png"
    from ocularseg.io.images import write_image_atomic

    write_image_atomic(chart, __import__("numpy").full((40, 60, 3), 200, "uint8"))
    info = {**RUN_INFO, "model_provenance": "Model unet: trained on phantoms; validated on X"}
    path = write_xlsx(
        tmp_path / "r.xlsx",
        summary,
        df,
        errors,
        info,
        charts={"b.mp4": chart},
        exclusion_text={"blink": "a blink"},
    )
    sheet = openpyxl.load_workbook(path)["summary"]
    assert sheet["A1"].value == "ocularseg summary"
    assert sheet["A2"].value == DISCLAIMER
    assert sheet["A3"].value.startswith("Model unet: trained on phantoms")
    header = [cell.value for cell in sheet[5]]
    assert header[:4] == ["Input", "Eye", "Frames used", "Frames analysed"]
    assert "MRD1 (mm) median" in header and "MRD1 ≤ 2 mm" in header
    rows = [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(6, 11, values_only=True)]
    assert [r["Eye"] for r in rows] == ["OD (right)", "OS (left)", "OD − OS"] * 2
    assert rows[0]["MRD1 (mm) median"] == pytest.approx(4.0)
    assert rows[0]["MRD1 (mm) IQR"] == "3.95 to 4.05"
    assert rows[0]["MRD1 ≤ 2 mm"] == "no"
    assert rows[1]["MRD1 ≤ 2 mm"] == "not assessable"
    assert rows[3]["Fatigable: MRD1 fell ≥ 2 mm"] == "yes"
    assert rows[0]["Frames excluded, why"] == "a blink (1)"
    assert rows[5]["Asymmetry ≥ 1 mm"] == "yes"
    assert len(sheet._images) == 1  # the chart under the table


def test_ratios_on_classes_the_model_marks_unreliable_are_labelled(tables, tmp_path) -> None:
    df, summary, errors = tables
    marks = {"caruncle": "phantom Dice low", "pupil": "often off-centre"}
    info = {**RUN_INFO, "unreliable_classes": marks}
    book = openpyxl.load_workbook(write_xlsx(tmp_path / "r.xlsx", summary, df, errors, info))
    for sheet_name, column in (
        ("summary_data", "caruncle_opening_ratio_median"),
        ("summary_data", "pupil_iris_ratio_q25"),
        ("measurements", "caruncle_opening_ratio"),
        ("measurements", "pupil_iris_ratio"),
    ):
        sheet = book[sheet_name]
        comment = sheet.cell(row=1, column=_header(sheet).index(column) + 1).comment
        name = column.split("_")[0]
        assert comment is not None, (sheet_name, column)
        assert comment.text == f"model marks {name} unreliable: {marks[name]}"
    lead = "Unreliable in this model (do not trust their outlines or ratios): "
    assert book["summary"]["A4"].value.startswith(lead)
    assert "caruncle: phantom Dice low (caruncle_opening_ratio rests on it)" in (
        book["summary"]["A4"].value
    )
    # Column names stay as downstream scripts know them.
    assert "pupil_iris_ratio" in _header(book["measurements"])


def test_no_ratio_comment_when_the_model_marks_nothing(workbook) -> None:
    sheet = workbook["measurements"]
    column = _header(sheet).index("pupil_iris_ratio") + 1
    assert sheet.cell(row=1, column=column).comment is None
    assert workbook["summary"]["A4"].value is None
