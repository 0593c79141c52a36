"""Issue 20.4 and 20.6: every frame and every input counted once, honest exit codes.

The closing line counts inputs by how many eyes were measured; an analysed input whose eye
was never measurable exits 0 with its reason in errors.csv; frames with no face are counted
in summary.csv, the workbook, run.json and the page, and marked on the chart.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openpyxl
import pytest

from ocularseg.cli.analyze_cmd import closing_line
from ocularseg.core.records import ErrorRecord, EyeRow
from ocularseg.pipeline.resume import InputResult
from ocularseg.pipeline.run import AnalysisResult, RunTally
from tests.pipeline.cli_helpers import read_csv, run_analyze
from tests.pipeline.media_helpers import write_video
from tests.report.report_cases import eye_row, make_row

OUT = Path("out")


def _row(label: str, side: str, *, used: bool) -> EyeRow:
    return eye_row(make_row(label, 0, 0.0, side, gates_failed="" if used else "low_quality"))


def _input(label: str, used_sides: tuple[str, ...], *, failed: bool = False) -> InputResult:
    result = InputResult(label=label, key=label)
    if failed:
        result.errors.append(ErrorRecord(input=label, stage="frames", error=f"{label}: bad"))
        return result
    result.rows = [_row(label, side, used=side in used_sides) for side in ("right", "left")]
    for side in {"right", "left"} - set(used_sides):
        error = f"{label}: {side} eye not measurable"
        result.errors.append(
            ErrorRecord(input=label, stage="measure", error=error, input_failed=False)
        )
    return result


def test_tally_counts_each_input_once_by_eyes_measured() -> None:
    result = AnalysisResult(out_dir=OUT)
    result.inputs = [
        _input("a.png", ("right", "left")),
        _input("b.png", ("right",)),
        _input("c.png", ()),
        _input("d.png", (), failed=True),
    ]
    result.resumed = ["a.png", "b.png"]
    tally = result.tally()
    assert tally == RunTally(
        inputs=4, resumed=2, both_eyes=1, one_eye=1, neither_eye=1, failed=1, eyes_measured=3
    )
    assert result.exit_code == 1  # d.png could not be analysed


def test_an_unmeasurable_eye_is_not_a_failed_input() -> None:
    # Issue 20.6: a photo with one unmeasurable eye made the exit code 1.
    result = AnalysisResult(out_dir=OUT)
    result.inputs = [_input("a.png", ("right",)), _input("b.png", ())]
    assert result.exit_code == 0
    assert not result.failed and len(result.errors) == 3  # the reasons stay recorded


CLOSING_CASES = [
    # (tally, words the line must hold, words it must not)
    (
        RunTally(30, 0, 12, 6, 12, 0, 30),
        [
            "30 inputs analysed: 12 both eyes measured, 6 one eye, 12 neither eye "
            "(reasons in out/errors.csv); 30 eyes measured"
        ],
        ["resumed", "could not"],
    ),
    (
        RunTally(30, 30, 30, 0, 0, 0, 60),
        ["30 inputs analysed: 30 both eyes measured", "30 resumed from an earlier run, 0 done now"],
        ["errors.csv", " of 30"],
    ),
    (
        RunTally(3, 0, 1, 1, 0, 1, 3),
        ["3 inputs: 2 analysed (1 both eyes measured, 1 one eye, 0 neither eye)"],
        ["resumed"],
    ),
    (RunTally(1, 0, 0, 0, 1, 0, 0), ["1 input analysed:", "0 eyes measured"], []),
]


@pytest.mark.parametrize(("tally", "present", "absent"), CLOSING_CASES)
def test_closing_line_adds_up(tally, present, absent) -> None:
    line = closing_line(tally, OUT)
    for words in present:
        assert words in line
    for words in absent:
        assert words not in line
    assert "1 could not be analysed" in line if tally.failed else "could not" not in line


@pytest.mark.slow
def test_unmeasurable_photo_exits_0_and_says_why(tmp_path, face_inputs, tiny_model_dir):
    # The untrained tiny model measures neither eye of the astronaut: analysed, not failed.
    out = tmp_path / "out"
    result = run_analyze(face_inputs["png"], "--out", out, "--model", tiny_model_dir)
    assert result.exit_code == 0, result.output
    assert "1 input analysed: 0 both eyes measured, 0 one eye, 1 neither eye" in result.output
    assert "0 eyes measured" in result.output and "eye measurement" not in result.output
    assert {e["stage"] for e in read_csv(out / "errors.csv")} == {"measure"}
    run = json.loads((out / "run.json").read_text())
    assert run["inputs_failed"] == [] and run["inputs_by_eyes_measured"]["neither"] == 1
    # A file that cannot be analysed at all still makes the run exit 1.
    bad = run_analyze(face_inputs["no_face"], "--out", tmp_path / "o2", "--model", tiny_model_dir)
    assert bad.exit_code == 1 and "1 could not be analysed" in bad.output


@pytest.mark.slow
def test_resumed_run_says_resumed_apart_from_analysed(tmp_path, face_inputs, eye_prior_model_dir):
    # Issue 20.6: "12 of 30 analysed (30 resumed)".
    out = tmp_path / "out"
    args = [face_inputs["png"], face_inputs["jpg"], "--out", out, "--model", eye_prior_model_dir]
    first = run_analyze(*args)
    assert first.exit_code == 0, first.output
    again = run_analyze(*args, "--resume")
    assert "2 inputs analysed: 2 both eyes measured" in again.output
    assert "2 resumed from an earlier run, 0 done now; 4 eyes measured" in again.output


@pytest.fixture(scope="module")
def no_face_run(tmp_path_factory, astronaut, eye_prior_model_dir) -> Path:
    """A 2 s clip at 10 fps whose frames 5–9 show no face (grey), analysed at 10 Hz."""
    root = tmp_path_factory.mktemp("no_face")
    frames = [np.roll(astronaut, shift, axis=1) for shift in range(0, 40, 2)]
    for index in range(5, 10):
        frames[index] = np.full_like(astronaut, 128)
    video = write_video(root / "gap.mp4", frames)
    out = root / "out"
    result = run_analyze(video, "--out", out, "--model", eye_prior_model_dir, "--fps", 10)
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.slow
def test_frames_with_no_face_are_counted_everywhere(no_face_run) -> None:
    # Issue 20.4: only result.json knew "no_face: N".
    rows = read_csv(no_face_run / "summary.csv")
    eyes = [r for r in rows if r["side"] in ("right", "left")]
    for eye in eyes:
        assert (eye["frames_looked_at"], eye["frames_no_face"], eye["frames_total"]) == (
            "20",
            "5",
            "15",
        )
        assert int(eye["frames_used"]) + int(eye["frames_excluded"]) == 15
        assert eye["frames_blink"].isdigit()
    run = json.loads((no_face_run / "run.json").read_text())
    assert run["frames_no_face"] == 5 and run["frames_analysed"] == 15
    sheet = openpyxl.load_workbook(no_face_run / "report.xlsx")["summary"]
    header = [c.value for c in sheet[5]]
    column = header.index("Frames with no face")
    assert [sheet.cell(row=r, column=column + 1).value for r in (6, 7)] == [5, 5]
    (saved,) = no_face_run.glob("inputs/*/result.json")
    times = json.loads(saved.read_text())["no_face_times_s"]
    assert times == pytest.approx([0.5, 0.6, 0.7, 0.8, 0.9])


def test_saved_result_keeps_what_failed_and_the_no_face_times() -> None:
    # --resume must not turn a reused unmeasurable eye back into a failed input.
    result = _input("a.png", ("right",))
    result.frames = {"decoded": 4, "no_face": 2, "analysed": 1}
    result.no_face_times_s = [0.1, 0.2]
    again = InputResult.from_json(json.loads(json.dumps(result.to_json())))
    assert not again.failed and again.errors == result.errors
    assert again.frame_counts().no_face_times_s == (0.1, 0.2)
    assert again.frame_counts().not_chosen == 1
