"""Typed records: a row survives result.json, flags are names, one exclusion rule."""

from __future__ import annotations

import json
import math
from dataclasses import FrozenInstanceError

import pytest

from ocularseg.core.exclusion import exclusion_reasons
from ocularseg.core.records import (
    EYE_ROW_LEAD_COLUMNS,
    EYE_ROW_TAIL_COLUMNS,
    EyeRow,
    Flag,
    Gate,
    ReasonCount,
    count_reasons,
    reason_counts_cell,
)
from ocularseg.pipeline.resume import RESULT_SCHEMA, InputResult
from ocularseg.stages.gates import GATE_NAMES
from ocularseg.stages.measure import MEASUREMENT_COLUMNS
from tests.report.report_cases import eye_row as as_row
from tests.report.report_cases import make_row


def _row(**changes) -> EyeRow:
    row = as_row(make_row("visit 1.mp4", 3, 0.2, "left", mrd1_mm=2.5, iris_radius_px=40.0))
    return EyeRow(**{**row.__dict__, **changes})


def test_flags_and_gates_are_their_names() -> None:
    assert Flag.EYE_CLOSED == "eye_closed" and f"{Gate.NEAR_BLINK}" == "near_blink"
    assert GATE_NAMES[0] == "eye_too_small" and len(GATE_NAMES) == len(set(GATE_NAMES)) == 14


def test_a_row_is_frozen_and_gates_are_added_once() -> None:
    row = _row()
    with pytest.raises(FrozenInstanceError):
        row.blink = True  # type: ignore[misc]
    gated = row.with_gates(Gate.BLURRED, Gate.BLURRED).with_gates(Gate.BLURRED)
    assert gated.gates_failed == ("blurred",) and row.gates_failed == ()


def test_columns_come_from_the_record() -> None:
    cells = _row().cells()
    assert tuple(cells)[: len(EYE_ROW_LEAD_COLUMNS)] == EYE_ROW_LEAD_COLUMNS
    assert (
        tuple(cells)[-len(EYE_ROW_TAIL_COLUMNS) :]
        == EYE_ROW_TAIL_COLUMNS
        == (
            "cleaned",
            "landmark_gate_removed_px",
            "overlay",
        )
    )
    assert "values" not in cells and cells["mrd1_mm"] == 2.5


def test_a_row_survives_result_json() -> None:
    row = _row(
        flags=(Flag.AT_BORDER, Flag.IRIS_RADIUS_SHARED),
        gates_failed=(Gate.LOW_QUALITY,),
        landmark_gate_removed_px=12,
    )
    result = InputResult(label="visit 1.mp4", key="k", rows=[row])
    back = InputResult.from_json(json.loads(json.dumps(result.to_json())))
    restored = back.rows[0]
    assert restored.flags == ("at_border", "iris_radius_shared")
    assert isinstance(restored.flags[0], Flag) and isinstance(restored.gates_failed[0], Gate)
    assert restored.landmark_gate_removed_px == 12 and restored.value("mrd1_mm") == 2.5
    assert math.isnan(restored.value("mrd2_mm"))
    assert tuple(restored.values) == MEASUREMENT_COLUMNS


def test_a_result_saved_by_an_older_layout_is_not_reused() -> None:
    saved = InputResult(label="a.mp4", key="k", rows=[_row()]).to_json()
    saved["schema"] = RESULT_SCHEMA - 1
    with pytest.raises(ValueError, match="layout"):
        InputResult.from_json(saved)
    saved = InputResult(label="a.mp4", key="k", rows=[_row()]).to_json()
    saved["rows"][0]["flags"] = "at_border;eye_closed"  # joined text is a CSV cell only
    with pytest.raises(ValueError, match="flags"):
        InputResult.from_json(saved)


@pytest.mark.parametrize(
    ("blink", "flags", "gates"),
    [
        (False, (), ()),
        (True, (Flag.AT_BORDER,), ()),
        (False, (Flag.EYE_CLOSED, Flag.IRIS_NOT_FOUND), (Gate.LOW_QUALITY,)),
        (True, (Flag.PARTIAL_VIDEO,), (Gate.BLURRED, Gate.NEAR_BLINK)),
    ],
)
def test_one_exclusion_rule_for_rows_and_csv_cells(blink, flags, gates) -> None:
    row = _row(blink=blink, flags=flags, gates_failed=gates)
    csv_cells = {"blink": blink, "flags": ";".join(flags), "gates_failed": ";".join(gates)}
    assert row.exclusion_reasons() == exclusion_reasons(csv_cells)
    assert row.exclusion_reasons(exclude_blinks=False) == exclusion_reasons(
        csv_cells, exclude_blinks=False
    )


def test_reason_counts_are_typed_and_written_as_one_cell() -> None:
    counts = count_reasons([["blink"], ["low_quality", "blink"], [], ["blink", "blurred"]])
    assert counts == (ReasonCount("blink", 2), ReasonCount("low_quality", 1))
    assert reason_counts_cell(counts) == "blink 2; low_quality 1"


def test_reason_counts_add_up_to_the_excluded_frames() -> None:
    # Issue 20.6: "1 frame(s) excluded — iris circle not found (1), frame blurred (1)".
    rows = [["iris_not_found", "blurred"], ["blurred"], [], ["blink", "eye_closed", "low_quality"]]
    counts = count_reasons(rows)
    assert sum(c.frames for c in counts) == 3  # the excluded rows, each once
    assert all(c.reason for c in counts)
