"""Inputs that used to abort, hang or be skipped silently (issue 11, items 1, 4, 7, 9, 11,
13; issue 10, item 4). Each test starts from the case the audit found."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ocularseg.pipeline.inputs import InputItem, discover_inputs
from tests.pipeline.cli_helpers import read_csv, run_analyze
from tests.pipeline.media_helpers import (
    jpeg_with_exif_orientation,
    make_fast_start,
    make_special_entries,
    make_variable_rate,
    write_video,
)

pytest.importorskip("onnxruntime")

NON_UTF8_NAME = os.fsdecode(b"b\xe9.png")  # Latin-1 'é' as a Linux file name holds it


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="needs a file system that stores bytes")
def test_file_name_that_is_not_utf8_is_analysed_and_reported(
    tmp_path, face_inputs, eye_prior_model_dir
):
    # Issue 11.1: UnicodeEncodeError in InputItem.key aborted the batch with no report.
    folder = tmp_path / "d"
    folder.mkdir()
    shutil.copy(face_inputs["png"], folder / "a.png")
    shutil.copy(face_inputs["png"], folder / NON_UTF8_NAME)
    out = tmp_path / "o"
    result = run_analyze(folder, "--out", out, "--model", eye_prior_model_dir)
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    inputs = {r["input"] for r in read_csv(out / "measurements.csv")}
    assert inputs == {f"{folder}/a.png", f"{folder}/b\\xe9.png"}
    assert len(list(out.glob("inputs/*/result.json"))) == 2
    resumed = run_analyze(folder, "--out", out, "--model", eye_prior_model_dir, "--resume")
    assert "2 resumed" in resumed.output


def test_key_of_a_non_utf8_name_is_the_hash_of_its_bytes():
    item = InputItem(Path("/x") / NON_UTF8_NAME, "image", "x")
    assert item.key == "b_-" + hashlib.sha1(b"/x/b\xe9.png").hexdigest()[:8]


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_named_fifo_and_dev_zero_are_error_rows_not_hangs(
    tmp_path, face_inputs, eye_prior_model_dir
):
    # Issue 11.11: sha256 of a FIFO blocked forever; of /dev/zero never ended.
    os.mkfifo(tmp_path / "pipe.mp4")
    (tmp_path / "zero.mp4").symlink_to("/dev/zero")
    out = tmp_path / "o"
    args = [tmp_path / "pipe.mp4", tmp_path / "zero.mp4", face_inputs["png"], "--out", out]
    done = subprocess.run(
        [sys.executable, "-m", "ocularseg", "analyze", *map(str, args)]
        + ["--model", str(eye_prior_model_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    errors = {e["input"]: e["error"] for e in read_csv(out / "errors.csv")}
    assert "FIFO" in errors[str(tmp_path / "pipe.mp4")]
    assert "character device" in errors[str(tmp_path / "zero.mp4")]
    assert errors[str(tmp_path / "zero.mp4")].startswith(str(tmp_path / "zero.mp4"))
    assert "Traceback" not in done.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs and symbolic links")
def test_special_entries_inside_folders_are_listed_with_reasons(tmp_path, face_inputs):
    # Issue 11.11: loops, dangling links and folders named like videos vanished silently.
    root = tmp_path / "clinic"
    root.mkdir()
    shutil.copy(face_inputs["png"], root / "face.png")
    make_special_entries(root)  # "self", a link to the folder itself, is searched once
    items, skipped = discover_inputs([root])
    assert [i.label for i in items] == [f"{root}/face.png"]
    reasons = {s.label.removeprefix(f"{root}/"): s.reason for s in skipped}
    assert reasons == {
        "dangling.png": f"broken symbolic link (to {root}/nowhere.png, which does not exist)",
        "loop1.png": "symbolic link loop",
        "loop2.png": "symbolic link loop",
        "pipe.mp4": "is a FIFO (named pipe)",
        "x.mp4": "a folder named like a video or image",
        "zero.mp4": "is a character device",
    }


def test_folder_named_like_a_video_given_alone_is_a_usage_error(tmp_path):
    # Issue 11.11: printed "0 of 0 input(s)" and exited 0.
    (tmp_path / "x.mp4").mkdir()
    result = run_analyze(tmp_path / "x.mp4", "--out", tmp_path / "o")
    assert result.exit_code == 2
    assert "no video or image files to analyse" in result.output
    assert "x.mp4: folder holds no video or image file" in result.output


@pytest.mark.slow
def test_output_folder_inside_the_input_folder_is_never_analysed(
    tmp_path, face_inputs, eye_prior_model_dir
):
    # Issue 11.7: a second run analysed the first run's crops and overlays.
    clinic = tmp_path / "clinic"
    clinic.mkdir()
    shutil.copy(face_inputs["png"], clinic / "face.png")
    out = clinic / "results"
    for _ in range(2):
        result = run_analyze(clinic, "--out", out, "--model", eye_prior_model_dir)
        # One input, never the first run's crops and overlays inside the folder.
        assert "1 input analysed:" in " ".join(result.output.split())
    assert {r["input"] for r in read_csv(out / "measurements.csv")} == {f"{clinic}/face.png"}
    assert f"{out}\tthe output folder of this run" in (out / "skipped_files.txt").read_text()
    # Another run's output folder in the tree is recognised too.
    items, skipped = discover_inputs([clinic], exclude=[tmp_path / "elsewhere"])
    assert [i.label for i in items] == [f"{clinic}/face.png"]
    assert any(s.reason == "an ocularseg output folder" for s in skipped)


def test_masks_and_outputs_inside_folders_are_skipped_with_reasons(tmp_path, face_inputs):
    # Issue 10.4: analysing a data-set folder read its mask PNGs as face photos.
    root = tmp_path / "data"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    shutil.copy(face_inputs["png"], root / "images" / "p1.png")
    shutil.copy(face_inputs["png"], root / "masks" / "p1.png")
    shutil.copy(face_inputs["png"], root / "images" / "p1_mask.png")
    shutil.copy(face_inputs["png"], root / "images" / "p1-overlay.png")
    items, skipped = discover_inputs([root])
    assert [i.label for i in items] == [f"{root}/images/p1-overlay.png", f"{root}/images/p1.png"]
    reasons = {s.label.removeprefix(f"{root}/"): s.reason for s in skipped}
    assert "label masks" in reasons["masks"]
    assert "label mask" in reasons["images/p1_mask.png"]


@pytest.mark.slow
def test_truncated_fast_start_video_is_an_error_row_with_flagged_rows(
    tmp_path, astronaut, eye_prior_model_dir
):
    # Issue 11.4: exit 0, empty errors.csv, slopes over the shorter span unflagged.
    import numpy as np

    frames = [np.roll(astronaut, shift, axis=1) for shift in range(0, 40, 2)]
    video = make_fast_start(write_video(tmp_path / "full.mp4", frames))
    data = video.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    out = tmp_path / "o"
    result = run_analyze(
        tmp_path / "cut.mp4", "--out", out, "--model", eye_prior_model_dir, "--fps", "5"
    )
    assert result.exit_code == 1, result.output
    errors = read_csv(out / "errors.csv")
    assert any(
        "truncated or damaged" in e["error"] and "cover only the first" in e["error"]
        for e in errors
    )
    rows = read_csv(out / "measurements.csv")
    assert rows and all("partial_video" in r["flags"] for r in rows)
    run = json.loads((out / "run.json").read_text())
    assert run["inputs_partial"] == [str(tmp_path / "cut.mp4")]
    # The complete file is not flagged.
    whole = run_analyze(
        video, "--out", tmp_path / "o2", "--model", eye_prior_model_dir, "--fps", "5"
    )
    assert not read_csv(tmp_path / "o2" / "errors.csv"), whole.output


@pytest.mark.slow
def test_file_name_starting_like_a_formula_is_escaped_in_csv(
    tmp_path, face_inputs, eye_prior_model_dir, monkeypatch
):
    # Issue 11.13: "=..." was written to the CSVs as a live formula.
    name = "=SUM(A1,A2)+HYPERLINK(A3).png"
    shutil.copy(face_inputs["png"], tmp_path / name)
    out = tmp_path / "o"
    monkeypatch.chdir(tmp_path)
    run_analyze(name, "--out", out, "--model", eye_prior_model_dir)
    for csv_name in ("measurements.csv", "summary.csv"):
        values = [r["input"] for r in read_csv(out / csv_name)]
        assert values and all(v == "'" + name for v in values), csv_name
    text = (out / "measurements.csv").read_text(encoding="utf-8-sig")
    assert "\n=" not in text and ',"=' not in text


@pytest.mark.slow
def test_resume_reuses_inputs_that_finished_without_measurements(
    tmp_path, face_inputs, eye_prior_model_dir
):
    # Issue 10.4: --resume redid inputs that finished with nothing measurable every time.
    out = tmp_path / "o"
    args = [face_inputs["no_face"], "--out", out, "--model", eye_prior_model_dir]
    first = run_analyze(*args)
    assert first.exit_code == 1
    saved = next(out.glob("inputs/*/result.json"))
    before = saved.stat().st_mtime_ns
    second = run_analyze(*args, "--resume")
    assert second.exit_code == 1  # still reported as failed
    assert "1 resumed" in second.output
    assert saved.stat().st_mtime_ns == before
    assert "no face found" in read_csv(out / "errors.csv")[0]["error"]


@pytest.mark.parametrize(
    "content", ["[1, 2]", '{"rows": [1, 2]}', '{"label": 1}', "[" * 100_000, "not json"]
)
@pytest.mark.slow
def test_saved_result_of_another_shape_is_analysed_again(
    tmp_path, face_inputs, eye_prior_model_dir, content
):
    # Issue 11.9: a result.json of the wrong schema aborted the run.
    out = tmp_path / "o"
    args = [face_inputs["png"], "--out", out, "--model", eye_prior_model_dir]
    run_analyze(*args)
    saved = next(out.glob("inputs/*/result.json"))
    saved.write_text(content)
    result = run_analyze(*args, "--resume")
    assert result.exit_code in (0, 1), result.output
    # Analysed again, not resumed: the closing line names no resumed input.
    assert "resumed" not in result.output and "Traceback" not in result.output
    assert json.loads(saved.read_text())["rows"]


@pytest.mark.slow
def test_several_faces_are_a_warning_naming_the_file(tmp_path, astronaut, eye_prior_model_dir):
    # Issue 10.4: "2 faces found; using the largest" named no file and reached no report.
    import numpy as np

    from ocularseg.io.images import write_image_atomic

    two = np.concatenate([astronaut, astronaut[:, ::-1]], axis=1)
    write_image_atomic(tmp_path / "two.png", two)
    out = tmp_path / "o"
    result = run_analyze(tmp_path / "two.png", "--out", out, "--model", eye_prior_model_dir)
    warnings = read_csv(out / "warnings.csv")
    assert warnings, result.output
    assert warnings[0]["input"] == str(tmp_path / "two.png")
    assert warnings[0]["stage"] == "face"
    assert warnings[0]["warning"].startswith(f"{tmp_path / 'two.png'}: 1 of 1 frame(s) show")
    assert "warning(s)" in result.output
    from openpyxl import load_workbook

    assert "warnings" in load_workbook(out / "report.xlsx").sheetnames


@pytest.mark.parametrize(
    ("flags", "yaml"),
    [(["--fps", "5", "--keyframes", "4"], ""), (["--keyframes", "4"], "fps: 5\n")],
)
def test_fps_with_keyframes_is_a_usage_error(tmp_path, face_inputs, flags, yaml):
    # Issue 10.4: --fps 5 --keyframes 4 silently ignored --keyframes.
    config = tmp_path / "c.yaml"
    config.write_text(yaml)
    result = run_analyze(face_inputs["png"], "--out", tmp_path / "o", "--config", config, *flags)
    assert result.exit_code == 2
    assert "cannot be combined" in result.output
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_phone_photo_is_turned_upright_from_exif(tmp_path, astronaut, eye_prior_model_dir):
    # Audit extension: a phone stores pixels as sensed plus an EXIF orientation tag.
    import numpy as np

    from ocularseg.io.images import read_image_rgb

    sideways = np.ascontiguousarray(np.rot90(astronaut, 1))  # as the sensor saw it
    (tmp_path / "phone.jpg").write_bytes(jpeg_with_exif_orientation(sideways, 6))
    upright = read_image_rgb(tmp_path / "phone.jpg")
    assert upright.shape == astronaut.shape
    assert np.abs(upright.astype(int) - astronaut.astype(int)).mean() < 6
    out = tmp_path / "o"
    run_analyze(tmp_path / "phone.jpg", "--out", out, "--model", eye_prior_model_dir)
    assert len(read_csv(out / "measurements.csv")) == 2  # the face is found upright


@pytest.mark.slow
def test_heic_photo_is_a_named_error_row(tmp_path, face_inputs, eye_prior_model_dir):
    # Audit extension: an iPhone's default format.
    (tmp_path / "IMG_0001.HEIC").write_bytes(b"\0\0\0\x18ftypheic" + b"\0" * 64)
    out = tmp_path / "o"
    result = run_analyze(
        tmp_path / "IMG_0001.HEIC", face_inputs["png"], "--out", out, "--model", eye_prior_model_dir
    )
    assert result.exit_code == 1
    errors = read_csv(out / "errors.csv")
    assert "HEIC photos" in errors[0]["error"] and "JPEG" in errors[0]["error"]


@pytest.mark.slow
def test_time_series_keeps_its_rate_on_a_variable_frame_rate_video(
    tmp_path, astronaut, eye_prior_model_dir
):
    # Audit extension: phones record at a variable frame rate; sampling every k-th frame
    # gave 5 Hz where frames were 0.1 s apart and 1.7 Hz where they were 0.3 s apart.
    import numpy as np

    from ocularseg.io.video import iter_frames

    frames = [np.roll(astronaut, shift, axis=1) for shift in range(0, 40, 2)]
    video = make_variable_rate(write_video(tmp_path / "vfr.mp4", frames, fps=10))
    times = [f.timestamp_s for f in iter_frames(video, every_s=0.5)]
    assert times == pytest.approx([0.0, 0.5, 1.0, 1.6, 2.2, 2.5, 3.1, 3.7], abs=0.01)
    out = tmp_path / "o"
    run_analyze(video, "--out", out, "--model", eye_prior_model_dir, "--fps", "2")
    analysed = sorted({float(r["timestamp_s"]) for r in read_csv(out / "measurements.csv")})
    gaps = np.diff(analysed)
    assert len(analysed) == 8 and gaps.min() >= 0.3 - 0.01 and gaps.max() <= 0.6 + 0.01
    assert (
        not read_csv(out / "errors.csv")
        or "truncated" not in read_csv(out / "errors.csv")[0]["error"]
    )


def test_file_name_with_a_newline_stays_on_one_line(tmp_path, face_inputs, eye_prior_model_dir):
    # Audit extension: a newline in a (legal) file name split messages and report lines.
    shutil.copy(face_inputs["no_face"], tmp_path / "a\nb.png")
    out = tmp_path / "o"
    result = run_analyze(tmp_path, "--out", out, "--model", eye_prior_model_dir)
    label = f"{tmp_path}/a\\x0ab.png"
    assert [e["input"] for e in read_csv(out / "errors.csv")] == [label]
    assert f"  - {label}: no face found" in result.output
