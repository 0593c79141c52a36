"""Tidy tables and CSV files: column order, sorting, dtypes, NaN as empty, atomic writes."""

from __future__ import annotations

import csv
import math
import random

import pandas as pd
import pytest
from report_cases import keyframe_rows, make_row, measurements_frame_of, timeseries_rows

from ocularseg.core.errors import ReportError
from ocularseg.core.records import ErrorRecord
from ocularseg.report import tables
from ocularseg.report.summary import SUMMARY_COLUMNS, summarise
from ocularseg.report.tables import (
    ERROR_COLUMNS,
    LEAD_COLUMNS,
    TRAILING_COLUMNS,
    cell_text,
    errors_frame,
    write_tables,
)
from ocularseg.stages.measure import MEASUREMENT_COLUMNS

EXPECTED_COLUMNS = [*LEAD_COLUMNS, *MEASUREMENT_COLUMNS, *TRAILING_COLUMNS]


def _read_csv(path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def test_columns_identity_first_then_measurements() -> None:
    df = measurements_frame_of(keyframe_rows(), MEASUREMENT_COLUMNS)
    assert list(df.columns) == EXPECTED_COLUMNS


def test_missing_measurements_become_nan_columns() -> None:
    row = {k: v for k, v in make_row("a.mp4", 0, 0.0, "right").items() if k != "mrd2_mm"}
    df = measurements_frame_of([row], MEASUREMENT_COLUMNS)
    assert list(df.columns) == EXPECTED_COLUMNS
    assert math.isnan(df.loc[0, "mrd2_mm"])


def test_rows_sorted_by_input_frame_then_right_before_left() -> None:
    rows = keyframe_rows() + timeseries_rows(n_frames=3)
    random.Random(0).shuffle(rows)
    df = measurements_frame_of(rows)
    keys = list(zip(df["input"], df["frame_index"], df["side"], strict=True))
    expected = [
        (name, frame, side)
        for name, n in (("a.mp4", 5), ("b.mp4", 3))
        for frame in range(n)
        for side in ("right", "left")
    ]
    assert keys == expected
    assert list(df.index) == list(range(len(df)))


def test_dtypes() -> None:
    df = measurements_frame_of(keyframe_rows())
    assert df["frame_index"].dtype == "int64"
    assert df["blink"].dtype == bool
    assert df["mrd1_mm"].dtype == "float64"
    assert df["cleaned"].dtype == bool
    assert df["landmark_gate_removed_px"].dtype == "int64"
    # Flags stay names in memory; a CSV cell joins them.
    assert df["flags"].tolist()[:6] == [(), (), (), (), (), ("at_border",)]
    left = df.loc[9, "flags"]
    assert left == ("eye_closed", "iris_not_found") and cell_text(left) == (
        "eye_closed;iris_not_found"
    )


def test_flags_are_joined_in_the_csv(tmp_path) -> None:
    df = measurements_frame_of(keyframe_rows())
    write_tables(tmp_path, df, summarise(df), None)
    back = pd.read_csv(tmp_path / "measurements.csv", encoding="utf-8-sig", keep_default_na=False)
    assert back["flags"].tolist()[9] == "eye_closed;iris_not_found"
    assert back["flags"].tolist()[0] == ""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"side": "OD"}, "side 'OD'"),
        ({"mode": "video"}, "mode 'video'"),
    ],
)
def test_bad_rows_are_errors(change, message) -> None:
    row = make_row("a.mp4", 0, 0.0, "right")
    row.update(change)
    with pytest.raises(ReportError, match=message):
        measurements_frame_of([row])


def test_empty_rows_give_an_empty_table_with_columns() -> None:
    df = measurements_frame_of([], MEASUREMENT_COLUMNS)
    assert df.empty
    assert list(df.columns) == EXPECTED_COLUMNS


def test_errors_frame() -> None:
    df = errors_frame(
        [
            ErrorRecord(input="x.mp4", stage="face", error="no face\nfound", frame_index=3),
            ErrorRecord(input="y.mp4", stage="video", error="cannot open"),
        ]
    )
    assert list(df.columns) == list(ERROR_COLUMNS)
    assert df["frame_index"].dtype == "Int64"
    assert df.loc[0, "error"] == "no face found"  # one line per error
    assert df.loc[1, "frame_index"] is pd.NA


def test_write_tables_headers_and_nan_as_empty(tmp_path) -> None:
    df = measurements_frame_of(keyframe_rows(), MEASUREMENT_COLUMNS)
    summary = summarise(df)
    errors = errors_frame(
        [ErrorRecord(input="z.mp4", stage="face", error="no face", frame_index=7)]
    )
    paths = write_tables(tmp_path / "out", df, summary, errors)
    assert set(paths) == {"measurements", "summary", "errors"}

    rows = _read_csv(paths["measurements"])
    assert rows[0] == EXPECTED_COLUMNS
    assert len(rows) == 1 + len(df)
    header = rows[0]
    left_nan = rows[6]  # a.mp4 frame 2 left: MRD1 NaN
    assert left_nan[header.index("side")] == "left"
    assert left_nan[header.index("mrd1_mm")] == ""
    assert left_nan[header.index("area_sclera_px")] == ""
    assert rows[1][header.index("mrd1_mm")] == "4"
    assert rows[1][header.index("blink")] == "False"

    rows = _read_csv(paths["summary"])
    assert rows[0] == list(SUMMARY_COLUMNS)
    header = rows[0]
    assert rows[1][header.index("mrd1_mm_q25")] == "3.95"
    assert rows[1][header.index("mrd1_mm_slope_per_s")] == "0.0229"  # 4 decimals
    assert rows[1][header.index("indicator_mrd1_le_2mm")] == "no"
    assert rows[1][header.index("indicator_asymmetry_ge_1mm")] == ""  # not for one eye
    assert rows[3][header.index("indicator_asymmetry_ge_2mm")] == "not assessable"

    rows = _read_csv(paths["errors"])
    assert rows == [list(ERROR_COLUMNS), ["z.mp4", "face", "7", "no face"]]


def test_csv_round_trips_through_pandas(tmp_path) -> None:
    df = measurements_frame_of(keyframe_rows(), MEASUREMENT_COLUMNS)
    paths = write_tables(tmp_path, df, summarise(df), None)
    back = pd.read_csv(paths["measurements"], encoding="utf-8-sig", keep_default_na=True)
    pd.testing.assert_series_equal(back["mrd1_mm"], df["mrd1_mm"])
    assert open(paths["summary"], "rb").read(3) == b"\xef\xbb\xbf"  # BOM for Excel


def test_errors_csv_has_header_when_empty(tmp_path) -> None:
    df = measurements_frame_of([], MEASUREMENT_COLUMNS)
    paths = write_tables(tmp_path, df, summarise(df), errors_frame([]))
    assert _read_csv(paths["errors"]) == [list(ERROR_COLUMNS)]
    paths = write_tables(tmp_path / "none", df, summarise(df), None)
    assert _read_csv(paths["errors"]) == [list(ERROR_COLUMNS)]
    assert _read_csv(paths["measurements"]) == [EXPECTED_COLUMNS]


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch) -> None:
    df = measurements_frame_of(keyframe_rows())
    summary = summarise(df)
    target = tmp_path / "measurements.csv"
    target.write_text("old, complete file\n")
    real_to_csv = pd.DataFrame.to_csv

    def half_then_fail(self, path, *args, **kwargs):
        real_to_csv(self.head(1), path, *args, **kwargs)  # something is on disk …
        raise OSError(28, "No space left on device")  # … then the disk fills up

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_fail)
    with pytest.raises(ReportError, match="measurements.csv.*No space left"):
        write_tables(tmp_path, df, summary, None)
    assert target.read_text() == "old, complete file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["measurements.csv"]


def test_unwritable_folder_is_a_report_error(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    df = measurements_frame_of([])
    with pytest.raises(ReportError, match="file"):
        write_tables(blocker / "out", df, summarise(df), None)


def test_round_floats_keeps_other_columns() -> None:
    df = pd.DataFrame({"a": [1.234567], "b": ["x"], "c": [3]})
    out = tables.round_floats(df, 2)
    assert out.loc[0, "a"] == 1.23 and out.loc[0, "b"] == "x" and out.loc[0, "c"] == 3
    assert df.loc[0, "a"] == 1.234567
