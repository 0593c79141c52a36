"""Tidy tables of one run and the CSV files written from them.

``measurements_frame`` turns the pipeline's measurement rows (one dict per eye per analysed
frame) into a DataFrame with a fixed column order; ``errors_frame`` does the same for the
error rows; ``write_tables`` writes ``measurements.csv``, ``summary.csv`` and
``errors.csv``, each atomically.

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
       order when given (pass ``stages.measure.MEASUREMENT_COLUMNS``), else in the order
       the keys first appear in the rows; then any other keys the rows carry;
    4. ``overlay``: the overlay PNG's path relative to the output folder (``""`` if none).

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
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ocularseg.core.errors import OcularsegError, ReportError
from ocularseg.core.text import safe_cell
from ocularseg.io.atomic import write_with_atomic

#: Identity columns of a measurement row, first in ``measurements.csv``.
IDENTITY_COLUMNS: tuple[str, ...] = (
    "input",
    "frame_index",
    "timestamp_s",
    "side",
    "mode",
    "flags",
    "gates_failed",
)
#: Frame-quality columns, after the identity columns.
QUALITY_COLUMNS: tuple[str, ...] = (
    "blink",
    "sharpness",
    "ear",
    "quality",
    "mirror_agreement",
    "outline_agreement",
)
#: Columns a row may lack (rows saved by an older version): "" or NaN then.
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "flags",
    "gates_failed",
    "quality",
    "mirror_agreement",
    "outline_agreement",
)
#: Columns after the measurements.
TRAILING_COLUMNS: tuple[str, ...] = ("overlay",)
#: Columns of ``errors.csv``.
ERROR_COLUMNS: tuple[str, ...] = ("input", "stage", "frame_index", "error")
#: Columns of ``warnings.csv``: like ``errors.csv``, with ``warning`` for the message.
WARNING_COLUMNS: tuple[str, ...] = ("input", "stage", "frame_index", "warning")

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
_STRING_COLUMNS = ("input", "side", "mode", "flags", "gates_failed", "overlay")
_FLOAT_COLUMNS = (
    "timestamp_s",
    "sharpness",
    "ear",
    "quality",
    "mirror_agreement",
    "outline_agreement",
)


def measurements_frame(
    rows: Iterable[Mapping[str, Any]],
    measurement_columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Build the tidy per-eye-per-frame table from the pipeline's measurement rows.

    Args:
        rows: one mapping per eye per analysed frame with the keys of
            ``IDENTITY_COLUMNS``, ``QUALITY_COLUMNS`` and ``overlay`` (``flags`` and
            ``overlay`` may be missing or None, meaning ``""``), plus the measurements
            (floats, NaN when undefined; units in the names).
        measurement_columns: the measurement columns in report order (normally
            ``ocularseg.stages.measure.MEASUREMENT_COLUMNS``, passed in because ``report``
            does not import ``stages``). Missing keys become NaN. When None, the
            measurement columns are the rows' other keys in order of first appearance.

    Returns:
        DataFrame with the column order of the module docstring, sorted stably by
        ``input``, ``frame_index``, ``side`` (right before left), index 0..n-1. Dtypes:
        ``frame_index`` int64, ``blink`` bool, text columns str, everything else float64.
        With no rows, an empty frame with those columns.

    Raises:
        ReportError: a row lacks a required key, has an unknown ``side`` or ``mode``, or a
            value that is not a number where one is expected (the row number is named).
    """
    rows = [dict(row) for row in rows]
    required = (*IDENTITY_COLUMNS, *QUALITY_COLUMNS)
    for number, row in enumerate(rows):
        missing = [key for key in required if key not in row and key not in OPTIONAL_COLUMNS]
        if missing:
            raise ReportError(
                f"measurement row {number} lacks {', '.join(missing)} "
                f"(has {', '.join(sorted(row)) or 'no keys'})"
            )
        if row["side"] not in _SIDE_ORDER:
            raise ReportError(
                f"measurement row {number}: side {row['side']!r} is not one of {list(SIDES)}"
            )
        if row["mode"] not in MODES:
            raise ReportError(
                f"measurement row {number}: mode {row['mode']!r} is not one of {list(MODES)}"
            )

    known = {*required, *TRAILING_COLUMNS}
    seen: dict[str, None] = dict.fromkeys(measurement_columns or ())
    for row in rows:
        seen.update((key, None) for key in row if key not in known)
    value_columns = list(seen)
    columns = [*IDENTITY_COLUMNS, *QUALITY_COLUMNS, *value_columns, *TRAILING_COLUMNS]

    df = pd.DataFrame.from_records(rows, columns=columns) if rows else pd.DataFrame(columns=columns)
    for column in _STRING_COLUMNS:
        df[column] = df[column].map(_text).astype(object)
    try:
        df["frame_index"] = df["frame_index"].astype(np.int64)
        df["blink"] = df["blink"].map(_flag).astype(bool)
        for column in (*_FLOAT_COLUMNS, *value_columns):
            df[column] = pd.to_numeric(df[column].map(_none_to_nan), errors="raise").astype(
                np.float64
            )
    except (TypeError, ValueError) as exc:
        raise ReportError(f"measurement rows: a value is not a number: {exc}") from exc

    order = df.sort_values(
        ["input", "frame_index", "side"],
        key=lambda s: s.map(_SIDE_ORDER) if s.name == "side" else s,
        kind="stable",
    ).index
    return df.loc[order].reset_index(drop=True)


def errors_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Build the errors table (one row per error the pipeline recorded).

    Args:
        rows: mappings with ``input``, ``stage``, ``error`` (one-line message) and
            ``frame_index`` (int or None when the error is not tied to a frame).

    Returns:
        DataFrame with ``ERROR_COLUMNS`` (``frame_index`` nullable Int64), in the order
        given; empty with those columns when there are no errors.

    Raises:
        ReportError: a row lacks one of the keys.
    """
    return _issues_frame(rows, ERROR_COLUMNS, "error")


def warnings_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Build the warnings table: ``WARNING_COLUMNS``, as :func:`errors_frame` with ``warning``.

    Warnings do not make an input fail (several faces in a frame, an assumed frame rate,
    a file skipped inside a folder); each names its file.

    Raises:
        ReportError: a row lacks one of the keys.
    """
    return _issues_frame(rows, WARNING_COLUMNS, "warning")


def _issues_frame(
    rows: Iterable[Mapping[str, Any]], columns_: Sequence[str], what: str
) -> pd.DataFrame:
    rows = [dict(row) for row in rows]
    for number, row in enumerate(rows):
        missing = [key for key in columns_ if key not in row]
        if missing:
            raise ReportError(f"{what} row {number} lacks {', '.join(missing)}")
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
    rounded = escape_text(round_floats(df, CSV_DECIMALS))
    write_atomic(
        path,
        lambda tmp: rounded.to_csv(
            tmp, index=False, na_rep="", float_format="%.10g", encoding=CSV_ENCODING
        ),
    )


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
    if isinstance(value, (list, tuple)):
        # Flags handed over as a sequence rather than the agreed ';'-joined string.
        return ";".join(str(item) for item in value)
    return str(value)


def _flag(value: Any) -> bool:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return False
    if isinstance(value, (bool, np.bool_, int, np.integer)):
        return bool(value)
    raise ValueError(f"blink must be a bool, got {value!r}")


def _none_to_nan(value: Any) -> Any:
    return math.nan if value is None or value is pd.NA else value
