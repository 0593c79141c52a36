"""Tidy tables of one run and the CSV files written from them.

``measurements_frame`` turns the pipeline's measurement rows (one ``core.records.EyeRow``
per eye per analysed frame) into a DataFrame with a fixed column order; ``errors_frame``
and ``warnings_frame`` do the same for the error and warning records; ``write_tables``
writes ``measurements.csv``, ``summary.csv`` and ``errors.csv``, each atomically.

Column order of ``measurements.csv``
    1. identity: ``input``, ``frame_index``, ``timestamp_s`` (s from the start of the
       video), ``side`` (patient's side: ``right`` = OD, ``left`` = OS), ``mode``
       (``keyframes`` | ``timeseries``), ``flags`` (``;``-joined measurement flags, ``""``
       when none), ``gates_failed`` (``;``-joined names of the failed quality gates, see
       ``stages.gates``; ``""`` when all passed), and — in the written file — ``used``
       (True when the row enters medians, slopes and indicators; added by
       ``report.summary.mark_used``);
    2. frame quality: ``blink`` (bool), ``sharpness`` (variance of the Laplacian),
       ``ear`` (eye aspect ratio), ``quality`` (segmentation quality signal, 0–1, the
       smaller of ``mirror_agreement`` and ``outline_agreement``; see ``stages.quality``);
    3. measurements, units in the names (``_px`` crop px, ``_frame_px`` frame px, ``_mm``
       millimetres, no suffix = ratio / fraction / count): in ``measurement_columns``
       order (``stages.measure.MEASUREMENT_COLUMNS``);
    4. ``cleaned`` (bool: the label map was cleaned up), ``landmark_gate_removed_px``
       (crop px the landmark gate removed) and ``overlay`` (the overlay PNG's path
       relative to the output folder, ``""`` if none).

In memory ``flags`` and ``gates_failed`` are tuples of names; ``write_csv`` joins them
with ``;`` (and an eye's exclusion counts as ``"name n; …"``).

Rows are sorted stably by ``input``, ``frame_index``, then ``side`` (right before left).

CSV conventions (all report CSVs)
    Text that would start like a spreadsheet formula (``=``, ``+``, ``-``, ``@``, tab,
    carriage return) gets a leading ``'`` so Excel shows it as text instead of running it
    (a file named ``=HYPERLINK(...).mp4``); file-name bytes that are not UTF-8 are shown
    as ``\\xNN``. UTF-8 with a byte-order mark, so Excel shows non-ASCII text (``≤``,
    ``−``, accented file names) correctly when the file is double-clicked; ``pandas.read_csv`` and
    ``csv`` with ``encoding="utf-8-sig"`` read it transparently. Floats are rounded to
    ``CSV_DECIMALS`` (4) decimal places, far below the measurement error (~0.05 mm, ~1 crop
    px), and written without trailing zeros; NaN / missing is an empty cell; booleans are
    ``True`` / ``False``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ocularseg.core.errors import OcularsegError, ReportError
from ocularseg.core.records import (
    ERROR_COLUMNS,
    EYE_ROW_LEAD_COLUMNS,
    EYE_ROW_TAIL_COLUMNS,
    WARNING_COLUMNS,
    ErrorRecord,
    EyeRow,
    ReasonCount,
    WarningRecord,
    join_names,
    reason_counts_cell,
)
from ocularseg.core.text import safe_cell
from ocularseg.io.atomic import write_with_atomic

#: Columns of ``measurements.csv`` before and after the measurements (``core.records``).
LEAD_COLUMNS: tuple[str, ...] = EYE_ROW_LEAD_COLUMNS
TRAILING_COLUMNS: tuple[str, ...] = EYE_ROW_TAIL_COLUMNS

SIDES: tuple[str, ...] = ("right", "left")
MODES: tuple[str, ...] = ("keyframes", "timeseries")

MEASUREMENTS_CSV_NAME = "measurements.csv"
SUMMARY_CSV_NAME = "summary.csv"
ERRORS_CSV_NAME = "errors.csv"
WARNINGS_CSV_NAME = "warnings.csv"

#: Decimal places kept for floats in the CSV files.
CSV_DECIMALS = 4
#: Encoding of the CSV files: UTF-8 with a BOM, which is what makes Excel read UTF-8.
CSV_ENCODING = "utf-8-sig"

_SIDE_ORDER = {side: rank for rank, side in enumerate(SIDES)}
_NAME_COLUMNS = ("flags", "gates_failed")
_FLOAT_COLUMNS = (
    "timestamp_s",
    "sharpness",
    "ear",
    "quality",
    "mirror_agreement",
    "outline_agreement",
)


def measurements_frame(
    rows: Iterable[EyeRow], measurement_columns: Sequence[str] = ()
) -> pd.DataFrame:
    """Build the tidy per-eye-per-frame table from the pipeline's measurement rows.

    Args:
        rows: one :class:`~ocularseg.core.records.EyeRow` per eye per analysed frame.
        measurement_columns: the measurement columns in report order (normally
            ``ocularseg.stages.measure.MEASUREMENT_COLUMNS``, passed in because ``report``
            does not import ``stages``): the header of a table with no rows, and the
            order of the measurements; keys a row lacks are NaN.

    Returns:
        DataFrame with the column order of the module docstring, sorted stably by
        ``input``, ``frame_index``, ``side`` (right before left), index 0..n-1. Dtypes:
        ``frame_index`` and ``landmark_gate_removed_px`` int64, ``blink`` and ``cleaned``
        bool, ``flags`` and ``gates_failed`` tuples of names (joined with ``;`` only when
        a CSV is written), other text columns str, everything else float64.

    Raises:
        ReportError: a row has an unknown ``side`` or ``mode`` (the row number is named).
    """
    rows = list(rows)
    for number, row in enumerate(rows):
        if row.side not in _SIDE_ORDER:
            raise ReportError(
                f"measurement row {number}: side {row.side!r} is not one of {list(SIDES)}"
            )
        if row.mode not in MODES:
            raise ReportError(
                f"measurement row {number}: mode {row.mode!r} is not one of {list(MODES)}"
            )
    seen: dict[str, None] = dict.fromkeys(measurement_columns)
    for row in rows:
        seen.update((key, None) for key in row.values)
    value_columns = list(seen)
    columns = [*LEAD_COLUMNS, *value_columns, *TRAILING_COLUMNS]
    records = [row.cells() for row in rows]
    df = (
        pd.DataFrame.from_records(records, columns=columns)
        if records
        else pd.DataFrame(columns=columns)
    )
    for column in ("input", "side", "mode", "overlay"):
        df[column] = df[column].map(_text).astype(object)
    for column in _NAME_COLUMNS:
        df[column] = df[column].map(lambda v: tuple(str(n) for n in v)).astype(object)
    df["frame_index"] = df["frame_index"].astype(np.int64)
    df["landmark_gate_removed_px"] = df["landmark_gate_removed_px"].astype(np.int64)
    df["blink"] = df["blink"].astype(bool)
    df["cleaned"] = df["cleaned"].astype(bool)
    for column in (*_FLOAT_COLUMNS, *value_columns):
        df[column] = pd.to_numeric(df[column].map(_none_to_nan)).astype(np.float64)
    order = df.sort_values(
        ["input", "frame_index", "side"],
        key=lambda s: s.map(_SIDE_ORDER) if s.name == "side" else s,
        kind="stable",
    ).index
    return df.loc[order].reset_index(drop=True)


def errors_frame(records: Iterable[ErrorRecord]) -> pd.DataFrame:
    """Build the errors table (one row per error the pipeline recorded).

    Returns:
        DataFrame with ``ERROR_COLUMNS`` (``frame_index`` nullable Int64), in the order
        given; empty with those columns when there are no errors.
    """
    return _issues_frame([asdict(r) for r in records], ERROR_COLUMNS, "error")


def warnings_frame(records: Iterable[WarningRecord]) -> pd.DataFrame:
    """Build the warnings table: ``WARNING_COLUMNS``, as :func:`errors_frame` with ``warning``.

    Warnings do not make an input fail (several faces in a frame, an assumed frame rate,
    a file skipped inside a folder); each names its file.
    """
    return _issues_frame([asdict(r) for r in records], WARNING_COLUMNS, "warning")


def _issues_frame(rows: list[dict[str, Any]], columns_: Sequence[str], what: str) -> pd.DataFrame:
    columns = list(columns_)
    df = pd.DataFrame.from_records(rows, columns=columns) if rows else pd.DataFrame(columns=columns)
    for column in ("input", "stage", what):
        # A multi-line message would break the one-message-per-line reading of the CSV.
        df[column] = df[column].map(lambda v: " ".join(_text(v).split())).astype(object)
    df["frame_index"] = df["frame_index"].map(_none_to_nan).astype("Int64")
    return df


def write_tables(
    out_dir: str | os.PathLike[str],
    measurements_df: pd.DataFrame,
    summary_df: pd.DataFrame,
    errors_df: pd.DataFrame | None = None,
) -> dict[str, Path]:
    """Write ``measurements.csv``, ``summary.csv`` and ``errors.csv`` into ``out_dir``.

    Each file is written atomically; ``errors.csv`` is always written, with its header,
    even when there were no errors (so "no errors" is distinguishable from "not run").

    Args:
        out_dir: output folder (created if missing).
        measurements_df: from :func:`measurements_frame`.
        summary_df: from :func:`ocularseg.report.summary.summarise`.
        errors_df: from :func:`errors_frame`; None means no errors.

    Returns:
        ``{"measurements": path, "summary": path, "errors": path}``.

    Raises:
        ReportError: a file could not be written (the path is named).
    """
    out_dir = Path(out_dir)
    if errors_df is None:
        errors_df = errors_frame([])
    paths = {
        "measurements": out_dir / MEASUREMENTS_CSV_NAME,
        "summary": out_dir / SUMMARY_CSV_NAME,
        "errors": out_dir / ERRORS_CSV_NAME,
    }
    for key, df in (
        ("measurements", measurements_df),
        ("summary", summary_df),
        ("errors", errors_df),
    ):
        write_csv(paths[key], df)
    return paths


def write_csv(path: str | os.PathLike[str], df: pd.DataFrame) -> None:
    """Write one table as CSV atomically with the conventions of the module docstring.

    Raises:
        ReportError: the file could not be written (the path is named).
    """
    rounded = escape_text(round_floats(joined_cells(df), CSV_DECIMALS))
    write_atomic(
        path,
        lambda tmp: rounded.to_csv(
            tmp, index=False, na_rep="", float_format="%.10g", encoding=CSV_ENCODING
        ),
    )


def joined_cells(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` with every cell that holds names (a tuple of flags, gates or
    ``ReasonCount``) written as its one-cell text (``core.records``)."""
    out = df.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(cell_text)
    return out


def cell_text(value: Any) -> Any:
    """A tuple cell as text: names ``;``-joined, reason counts ``"name n; …"``; other
    values unchanged."""
    if isinstance(value, tuple):
        if value and all(isinstance(v, ReasonCount) for v in value):
            return reason_counts_cell(value)
        return join_names(value)
    return value


def escape_text(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` with every text cell made safe for a spreadsheet and for UTF-8
    (``core.text.spreadsheet_safe`` and ``printable``); other cells unchanged."""
    out = df.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column].dtype):
            out[column] = out[column].map(safe_cell)
    return out


def round_floats(df: pd.DataFrame, decimals: int) -> pd.DataFrame:
    """Copy of ``df`` with every float column rounded to ``decimals`` places."""
    out = df.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column].dtype):
            out[column] = out[column].round(decimals)
    return out


def write_atomic(path: str | os.PathLike[str], writer: Callable[[Path], None]) -> None:
    """``io.atomic.write_with_atomic`` with OS / encoder failures turned into ReportError.

    Args:
        path: the target file.
        writer: called with a temporary path beside ``path``; renamed onto ``path`` only
            when it returns normally, so a failure leaves no partial file.

    Raises:
        ReportError: ``writer`` or the rename failed with an OSError or ValueError (a full
            disk, a read-only folder, an unencodable value); the message names ``path``.
    """
    try:
        write_with_atomic(path, writer)
    except OcularsegError:
        raise
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ReportError(f"cannot write {path}: {reason}") from exc


def _text(value: Any) -> str:
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)


def _none_to_nan(value: Any) -> Any:
    return math.nan if value is None or value is pd.NA else value
