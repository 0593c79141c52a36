"""``report.xlsx``: the summary, measurements, errors and run provenance in one workbook.

Sheets, in order
    ``summary``       for people: a title, the disclaimer, the model's provenance line and
                      the classes it marks unreliable (when it marks any), then one row
                      per input and eye (OD, OS, and OD − OS for the differences and
                      asymmetry indicators) with the measures' names and units in one
                      header row ("MRD1 (mm) median", …), indicators in words
                      (yes / no / not assessable; "yes" shaded) and why frames were
                      excluded, in words. Below the table, each video's chart of MRD1 and
                      visible iris fraction over time (the picture of its report page).
    ``summary_data``  the :func:`~ocularseg.report.summary.summarise` table as in
                      ``summary.csv`` (one column per value, units in the names); below
                      it, after one empty row, the disclaimer (read the data rows with
                      ``nrows=`` or use ``summary.csv`` when processing by program).
                      "yes" indicator cells are shaded; indicator headers carry a comment
                      with the threshold; the columns of a ratio built on a class the
                      model marks unreliable (``run.json`` ``unreliable_classes``) carry
                      "model marks caruncle unreliable: …".
    ``measurements``  one row per eye per analysed frame; ``overlay`` cells link to the
                      PNG (relative to the workbook's folder); the same ratio comments.
    ``errors``        one row per recorded error; header only when there were none.
    ``run``           ``key`` / ``value`` rows: nested dicts flattened with dotted keys
                      (``config.measure.iris_diameter_mm``), lists written as JSON text.

Every table sheet has a bold, frozen header row (panes at ``A2``), an auto-filter, column
widths fitted to the content (capped) and number formats from the column's unit:
``0.00`` for mm and seconds, ``0.000`` for ratios, fractions and slopes, ``0.0`` for
lengths in px, ``0`` for counts and pixel areas. Values are stored unrounded; only the
display is formatted. Text that starts with ``=`` is stored as text, never as a formula.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ocularseg.core.records import PLAIN_WORDS, reason_counts_text
from ocularseg.core.text import number_text
from ocularseg.report.summary import DISCLAIMER, INDICATOR_COLUMNS, YES, ReportParams
from ocularseg.report.tables import cell_text, errors_frame, write_atomic
from ocularseg.report.unreliable import column_notes, run_marks, unreliable_line

if TYPE_CHECKING:
    from openpyxl.workbook.workbook import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

SHEET_NAMES: tuple[str, ...] = ("summary", "summary_data", "measurements", "errors", "run")
XLSX_NAME = "report.xlsx"

_MIN_WIDTH = 6.0
_MAX_WIDTH = 60.0
_INDICATOR_FILL_RGB = "FFE0B2"  # light orange: visible, not alarming
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def write_xlsx(
    path: str | os.PathLike[str],
    summary_df: pd.DataFrame,
    measurements_df: pd.DataFrame,
    errors_df: pd.DataFrame | None,
    run_info: Mapping[str, Any],
    *,
    params: ReportParams | None = None,
    extra_sheets: Mapping[str, pd.DataFrame] | None = None,
    charts: Mapping[str, str | os.PathLike[str]] | None = None,
    exclusion_text: Mapping[str, str] | None = None,
) -> Path:
    """Write the workbook described in the module docstring, atomically.

    Args:
        path: target ``.xlsx`` file (its folder is created if missing).
        summary_df: from :func:`ocularseg.report.summary.summarise`.
        measurements_df: from :func:`ocularseg.report.tables.measurements_frame`.
        errors_df: from :func:`ocularseg.report.tables.errors_frame`; None = no errors.
        run_info: JSON-able provenance (version, model sha256, effective config, timings).
        params: the thresholds used, quoted in the indicator header comments; defaults to
            ``ReportParams()``.
        extra_sheets: more tables (sheet name -> DataFrame), written after ``run`` with the
            same table layout (the pipeline adds ``warnings``).
        charts: input label -> chart PNG (``report.page.write_chart``) placed under the
            readable summary table.
        exclusion_text: plain words per exclusion reason name; defaults to
            ``core.records.PLAIN_WORDS``.

    Returns:
        ``path`` as a Path.

    Raises:
        ReportError: the workbook could not be written (the path is named); a failure
            leaves no partial file and an existing ``path`` untouched.
    """
    path = Path(path)
    workbook = _workbook(
        summary_df,
        measurements_df,
        errors_frame([]) if errors_df is None else errors_df,
        run_info,
        params or ReportParams(),
        extra_sheets or {},
        charts or {},
        exclusion_text or PLAIN_WORDS,
    )
    write_atomic(path, lambda tmp: workbook.save(tmp))
    return path


def _workbook(
    summary_df: pd.DataFrame,
    measurements_df: pd.DataFrame,
    errors_df: pd.DataFrame,
    run_info: Mapping[str, Any],
    params: ReportParams,
    extra_sheets: Mapping[str, pd.DataFrame],
    charts: Mapping[str, str | os.PathLike[str]],
    exclusion_text: Mapping[str, str],
) -> Workbook:
    """The workbook's sheets, in order (nothing is written to disk)."""
    from openpyxl import Workbook

    workbook = Workbook()
    readable = workbook.active
    readable.title = "summary"
    _write_readable_summary(readable, summary_df, run_info, params, charts, exclusion_text)
    marks = run_marks(run_info)
    summary_sheet = workbook.create_sheet("summary_data")
    comments = {**_indicator_comments(params), **column_notes(marks, map(str, summary_df))}
    _write_table(summary_sheet, summary_df, comments=comments)
    note_row = summary_sheet.max_row + 2
    note = summary_sheet.cell(row=note_row, column=1, value=DISCLAIMER)
    note.font = _font(bold=True, italic=True)
    _write_table(
        workbook.create_sheet("measurements"),
        measurements_df,
        comments=column_notes(marks, map(str, measurements_df)),
        link_column="overlay",
    )
    _write_table(workbook.create_sheet("errors"), errors_df)
    run_df = pd.DataFrame(flatten_run_info(run_info), columns=["key", "value"])
    _write_table(workbook.create_sheet("run"), run_df)
    for sheet_name, table in extra_sheets.items():
        _write_table(workbook.create_sheet(sheet_name), table)
    return workbook


#: Columns of the readable summary sheet: (header with unit, summary column, number format).
#: Measures are medians over the used frames; "IQR" columns hold "q25 to q75".
READABLE_COLUMNS: tuple[tuple[str, str, str | None], ...] = (
    ("Input", "input", None),
    ("Eye", "side", None),
    ("Frames used", "frames_used", "0"),
    ("Frames analysed", "frames_total", "0"),
    ("Frames looked at", "frames_looked_at", "0"),
    ("Frames with no face", "frames_no_face", "0"),
    ("Blink frames", "frames_blink", "0"),
    ("MRD1 (mm) median", "mrd1_mm_median", "0.00"),
    ("MRD1 (mm) IQR", "mrd1_mm_iqr", None),
    ("MRD2 (mm) median", "mrd2_mm_median", "0.00"),
    ("Fissure height (mm) median", "fissure_height_mm_median", "0.00"),
    ("Visible iris fraction median", "visible_iris_fraction_median", "0.00"),
    ("MRD1 slope (mm/s)", "mrd1_mm_slope_per_s", "0.000"),
    ("MRD1 fitted change over the recording (mm)", "mrd1_mm_fitted_change", "0.00"),
    ("Recording span used (s)", "time_span_s", "0.0"),
    ("MRD1 OD − OS (mm)", "mrd1_mm_right_minus_left", "0.00"),
    ("MRD1 ≤ 2 mm", "indicator_mrd1_le_2mm", None),
    ("Fatigable: MRD1 fell ≥ 2 mm", "indicator_fatigable_ge_2mm", None),
    ("Asymmetry ≥ 1 mm", "indicator_asymmetry_ge_1mm", None),
    ("Asymmetry ≥ 2 mm", "indicator_asymmetry_ge_2mm", None),
    ("Segmentation quality median (0–1)", "quality_median", "0.00"),
    ("Frames excluded, why", "frames_excluded_reasons", None),
    ("Notes", "screening_notes", None),
)
_EYE_WORDS = {"right": "OD (right)", "left": "OS (left)", "right-left": "OD − OS"}
_CHART_ROWS = 20  # worksheet rows one chart image takes


def _write_readable_summary(
    sheet: Worksheet,
    summary_df: pd.DataFrame,
    run_info: Mapping[str, Any],
    params: ReportParams,
    charts: Mapping[str, str | os.PathLike[str]],
    exclusion_text: Mapping[str, str],
) -> None:
    from openpyxl.styles import Alignment, PatternFill
    from openpyxl.utils import get_column_letter

    sheet.cell(row=1, column=1, value="ocularseg summary").font = _font(bold=True, size=14)
    sheet.cell(row=2, column=1, value=DISCLAIMER).font = _font(italic=True)
    provenance = run_info.get("model_provenance")
    if provenance:
        _set_value(sheet.cell(row=3, column=1), str(provenance))
    marked = unreliable_line(run_marks(run_info))
    if marked:
        _set_value(sheet.cell(row=4, column=1), marked)
    header_row = 5
    fill = PatternFill("solid", start_color=_INDICATOR_FILL_RGB, end_color=_INDICATOR_FILL_RGB)
    widths = []
    for col, (header, _, _) in enumerate(READABLE_COLUMNS, start=1):
        cell = sheet.cell(row=header_row, column=col, value=header)
        cell.font = _font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        widths.append(min(max(len(header) / 2.0 + 2.0, 9.0), 24.0))
    row_number = header_row
    for _, record in summary_df.iterrows():
        row_number += 1
        side = str(record.get("side", ""))
        for col, (_, column, fmt) in enumerate(READABLE_COLUMNS, start=1):
            value = _readable_value(record, column, side, exclusion_text)
            cell = sheet.cell(row=row_number, column=col)
            _set_value(cell, value)
            if fmt is not None and isinstance(cell.value, (int, float)):
                cell.number_format = fmt
            if cell.value == YES:
                cell.fill = fill
                cell.font = _font(bold=True)
            if isinstance(cell.value, str):
                widths[col - 1] = max(widths[col - 1], min(len(cell.value) + 1.0, _MAX_WIDTH))
    for col, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(col)].width = width
    sheet.row_dimensions[header_row].height = 45
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=3)
    _add_charts(sheet, charts, row_number + 2)


def _readable_value(
    record: Mapping[str, Any], column: str, side: str, exclusion_text: Mapping[str, str]
) -> Any:
    per_eye = side in ("right", "left")
    if column == "side":
        return _EYE_WORDS.get(side, side)
    if column == "mrd1_mm_iqr":
        low, high = record.get("mrd1_mm_q25"), record.get("mrd1_mm_q75")
        used = record.get("frames_used")
        if not per_eye or low is None or pd.isna(low) or pd.isna(high) or pd.isna(used):
            return None
        if used < 2:
            return None  # one frame: no spread
        return f"{number_text(low, '.2f')} to {number_text(high, '.2f')}"
    if column == "time_span_s" and pd.isna(record.get("mrd1_mm_slope_per_s")):
        return None  # a span without a slope (one frame, key frames < 1 s) says nothing
    if column == "screening_notes":
        # The reason names repeat "Frames excluded, why" in words; keep the counts only.
        return str(record.get(column) or "").split("; excluded:")[0] or None
    if column == "frames_excluded_reasons":
        counts = record.get(column)
        if not isinstance(counts, tuple) or not counts:
            return None
        return reason_counts_text(counts, exclusion_text)
    value = record.get(column)
    if isinstance(value, str) and value == "" and column.startswith("indicator_"):
        return None
    return value


def _add_charts(sheet: Worksheet, charts: Mapping[str, Any], first_row: int) -> None:
    """Place each chart PNG under the table, its input's name above it."""
    if not charts:
        return
    try:
        from openpyxl.drawing.image import Image
    except ImportError:  # pragma: no cover - openpyxl without its image support
        return
    row = first_row
    sheet.cell(row=row, column=1, value="MRD1 and visible iris fraction over time").font = _font(
        bold=True
    )
    for label, path in charts.items():
        row += 1
        _set_value(sheet.cell(row=row, column=1), str(label))
        try:
            image = Image(str(path))
        except (OSError, ValueError, ImportError):
            continue
        image.anchor = f"A{row + 1}"
        sheet.add_image(image)
        row += _CHART_ROWS + 1


def flatten_run_info(run_info: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Flatten nested provenance into ``(dotted key, scalar)`` pairs, in insertion order.

    Dicts recurse (``{"a": {"b": 1}}`` → ``("a.b", 1)``; an empty dict → ``("a", "{}")``);
    lists and other non-scalars become JSON text; None stays None (an empty cell).
    """
    items: list[tuple[str, Any]] = []
    for key, value in run_info.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            items.extend(flatten_run_info(value, prefix=f"{name}."))
        elif value is None or isinstance(value, (str, bool, int, float, np.generic)):
            items.append((name, value.item() if isinstance(value, np.generic) else value))
        else:
            items.append((name, json.dumps(value, sort_keys=True, default=str)))
    return items


def number_format(column: str) -> str | None:
    """Excel number format for a column, from the unit in its name (None = General)."""
    if column in ("frame_index", "iris_fit_points", "iris_fit_inliers") or column.startswith(
        "frames_"
    ):
        return "0"
    if column.endswith("_n") or (column.startswith("area_") and column.endswith("_px")):
        if "_frame_px" in column:
            return "0.0"
        return "0"
    if column.startswith("mm_per_"):
        return "0.0000"
    if "slope" in column or any(
        token in column for token in ("ratio", "fraction", "_over_", "confidence")
    ):
        return "0.000"
    if column == "ear":
        return "0.000"
    if "_mm" in column or column.endswith("_s"):
        return "0.00"
    if column.endswith("_px") or "_px_" in column or column.endswith(("_deg", "_hours")):
        return "0.0"
    if column == "sharpness" or column.startswith("scale_"):
        return "0.00"
    return None


def _indicator_comments(params: ReportParams) -> dict[str, str]:
    return {
        "indicator_mrd1_le_2mm": (
            f"Median MRD1 <= {params.mrd1_low_mm:g} mm (usual functional-ptosis "
            "threshold): yes / no only when the whole 95 % interval (mrd1_mm_ci_low.."
            "mrd1_mm_ci_high) is on one side, borderline when it straddles the threshold. "
            "Screening indicator, not a diagnosis."
        ),
        "indicator_asymmetry_ge_1mm": (
            f"|median MRD1 right - left| >= {params.asymmetry_noticeable_mm:g} mm "
            "(noticeable); borderline when the difference's 95 % interval straddles it. "
            "Screening indicator, not a diagnosis."
        ),
        "indicator_asymmetry_ge_2mm": (
            f"|median MRD1 right - left| >= {params.asymmetry_marked_mm:g} mm "
            "(asymmetric ptosis range); borderline when the difference's 95 % interval "
            "straddles it. Screening indicator, not a diagnosis."
        ),
        "indicator_fatigable_ge_2mm": (
            f"Time series only: MRD1 fell >= {params.fatigue_drop_mm:g} mm from the first "
            f"to the last {params.fatigue_window_fraction * 100:g} % of the usable time "
            "span. Screening indicator, not a diagnosis."
        ),
    }


def _write_table(
    sheet: Worksheet,
    df: pd.DataFrame,
    *,
    comments: Mapping[str, str] | None = None,
    link_column: str | None = None,
) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill
    from openpyxl.utils import get_column_letter

    comments = comments or {}
    bold = _font(bold=True)
    fill = PatternFill("solid", start_color=_INDICATOR_FILL_RGB, end_color=_INDICATOR_FILL_RGB)
    columns = [str(c) for c in df.columns]
    for col, name in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=col, value=name)
        cell.font = bold
        if name in comments:
            cell.comment = Comment(comments[name], "ocularseg", width=300, height=90)

    widths = [len(name) + 3.0 for name in columns]  # + room for the filter arrow
    for col, name in enumerate(columns, start=1):
        fmt = number_format(name)
        for row, value in enumerate(df[df.columns[col - 1]].tolist(), start=2):
            cell = sheet.cell(row=row, column=col)
            _set_value(cell, value)
            if cell.value is None:
                continue
            if (
                fmt is not None
                and isinstance(cell.value, (int, float))
                and not isinstance(cell.value, bool)
            ):
                cell.number_format = fmt
            if name in INDICATOR_COLUMNS and cell.value in (True, YES):
                cell.fill = fill
            if name == link_column and isinstance(cell.value, str):
                cell.hyperlink = cell.value.replace(os.sep, "/")
                cell.style = "Hyperlink"
            widths[col - 1] = max(widths[col - 1], _display_width(cell.value))

    for col, width in enumerate(widths, start=1):
        letter = get_column_letter(col)
        sheet.column_dimensions[letter].width = min(max(width, _MIN_WIDTH), _MAX_WIDTH)
    sheet.freeze_panes = "A2"
    if columns:
        last = get_column_letter(len(columns))
        sheet.auto_filter.ref = f"A1:{last}{max(len(df), 1) + 1}"


def _set_value(cell: Any, value: Any) -> None:
    value = _cell_value(value)
    cell.value = value
    if isinstance(value, str) and value.startswith("="):
        # openpyxl turns "=..." into a formula; a file name or message must stay text.
        cell.data_type = "s"


def _cell_value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, tuple):
        value = cell_text(value)  # names and reason counts, as in the CSV
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        return _ILLEGAL_XML.sub("", value) or None
    return _ILLEGAL_XML.sub("", str(value))


def _display_width(value: Any) -> float:
    if isinstance(value, bool):
        return 6.0
    if isinstance(value, (int, float)):
        return 10.0
    return float(len(str(value))) + 1.0


def _font(*, bold: bool = False, italic: bool = False, size: float | None = None) -> Any:
    from openpyxl.styles import Font

    return Font(bold=bold, italic=italic, size=size)
