"""``ocularseg analyze`` end to end with a real (tiny) ONNX model and real faces.

The tiny model's segmentation is not anatomically meaningful; these tests check what the
pipeline promises regardless of model quality: files written, rows per eye and frame,
errors recorded per input, exit codes, resume and atomic outputs.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.pipeline.cli_helpers import read_csv, run_analyze

pytest.importorskip("onnxruntime")


@pytest.mark.slow
def test_three_good_two_bad_inputs(tmp_path, face_inputs, eye_prior_model_dir):
    out = tmp_path / "out"
    given = [face_inputs[k] for k in ("png", "jpg", "video", "empty", "text")]
    result = run_analyze(*given, "--out", out, "--model", eye_prior_model_dir, "--keyframes", 2)
    assert result.exit_code == 1, result.output
    for name in ("measurements.csv", "summary.csv", "errors.csv", "run.json", "report.xlsx"):
        assert (out / name).is_file(), name
    rows = read_csv(out / "measurements.csv")
    inputs = {r["input"] for r in rows}
    assert inputs == {str(face_inputs[k]) for k in ("png", "jpg", "video")}
    assert {r["side"] for r in rows} == {"right", "left"}
    # Two key frames of the video and one frame per image, two eyes each.
    assert len(rows) == 2 * (1 + 1 + 2)
    errors = read_csv(out / "errors.csv")
    failed = {e["input"] for e in errors}
    assert {str(face_inputs["empty"]), str(face_inputs["text"])} <= failed
    assert any("empty (0 bytes)" in e["error"] for e in errors)
    assert any("not a readable video" in e["error"] for e in errors)
    assert "empty.mp4" in result.output and "notes.mp4" in result.output
    run = json.loads((out / "run.json").read_text())
    assert run["model"]["sha256"] and run["providers"] == ["CPUExecutionProvider"]
    assert run["config"]["keyframes"] == 2
    overlay = rows[0]["overlay"]
    assert overlay and (out / overlay).is_file()


@pytest.mark.slow
def test_resume_reruns_nothing_that_was_complete(tmp_path, face_inputs, eye_prior_model_dir):
    out = tmp_path / "out"
    args = [face_inputs["png"], "--out", out, "--model", eye_prior_model_dir]
    first = run_analyze(*args)
    results = list(out.glob("inputs/*/result.json"))
    assert len(results) == 1
    before = results[0].stat().st_mtime_ns
    second = run_analyze(*args, "--resume")
    assert second.exit_code == first.exit_code
    assert "1 resumed" in second.output
    assert results[0].stat().st_mtime_ns == before
    assert read_csv(out / "measurements.csv")  # reports rebuilt from the saved result


@pytest.mark.slow
def test_folder_input_is_recursive_and_names_skipped_files(
    tmp_path, face_inputs, eye_prior_model_dir
):
    clinic = tmp_path / "clinic"
    shutil.copytree(face_inputs["good_dir"], clinic / "p1")
    (clinic / "p1" / "notes.docx").write_bytes(b"PK")
    out = tmp_path / "out"
    result = run_analyze(clinic, "--out", out, "--model", eye_prior_model_dir, "--keyframes", 1)
    rows = read_csv(out / "measurements.csv")
    assert len({r["input"] for r in rows}) == 3
    assert "1 file(s) or folder(s) skipped" in result.output
    assert "notes.docx\tnot a video or image" in (out / "skipped_files.txt").read_text()


@pytest.mark.parametrize(
    ("key", "message"),
    [("truncated", "truncated.mp4"), ("no_face", "no face found")],
)
@pytest.mark.slow
def test_bad_input_is_one_error_row(tmp_path, face_inputs, eye_prior_model_dir, key, message):
    out = tmp_path / "out"
    result = run_analyze(face_inputs[key], "--out", out, "--model", eye_prior_model_dir)
    assert result.exit_code == 1
    errors = read_csv(out / "errors.csv")
    assert len(errors) >= 1 and message in errors[0]["error"]
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_inputs_are_never_modified(tmp_path, face_inputs, eye_prior_model_dir):
    before = {p: p.read_bytes() for p in face_inputs["good_dir"].iterdir()}
    out = tmp_path / "o"
    run_analyze(
        face_inputs["good_dir"], "--out", out, "--model", eye_prior_model_dir, "--keyframes", 1
    )
    assert {p: p.read_bytes() for p in face_inputs["good_dir"].iterdir()} == before


def test_missing_model_folder_is_exit_2(tmp_path, face_inputs):
    result = run_analyze(face_inputs["png"], "--out", tmp_path / "o", "--model", tmp_path / "nope")
    assert result.exit_code == 2
    assert "model folder not found" in result.output


def test_checksum_mismatch_is_exit_2(tmp_path, face_inputs, eye_prior_model_dir):
    model = tmp_path / "model"
    shutil.copytree(eye_prior_model_dir, model)
    with open(model / "model.onnx", "ab") as handle:
        handle.write(b"\0")
    result = run_analyze(face_inputs["png"], "--out", tmp_path / "o", "--model", model)
    assert result.exit_code == 2
    assert "sha256" in result.output


def test_corrupt_model_file_is_exit_2(tmp_path, face_inputs, eye_prior_model_dir):
    from ocularseg.io.atomic import write_json_atomic
    from ocularseg.io.model_store import sha256_file

    model = tmp_path / "model"
    shutil.copytree(eye_prior_model_dir, model)
    (model / "model.onnx").write_bytes(b"not an onnx file")
    spec = json.loads((model / "model.json").read_text())
    spec["sha256"] = sha256_file(model / "model.onnx")
    write_json_atomic(model / "model.json", spec)
    result = run_analyze(face_inputs["png"], "--out", tmp_path / "o", "--model", model)
    assert result.exit_code == 2
    assert "cannot load the model" in result.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_output_folder_is_exit_2(tmp_path, face_inputs, eye_prior_model_dir):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = run_analyze(
            face_inputs["png"], "--out", locked / "o", "--model", eye_prior_model_dir
        )
    finally:
        locked.chmod(0o700)
    assert result.exit_code == 2
    assert "not writable" in result.output


def test_output_folder_that_is_a_file_is_exit_2(tmp_path, face_inputs, eye_prior_model_dir):
    blocker = tmp_path / "report"
    blocker.write_text("a file where the output folder should be")
    result = run_analyze(face_inputs["png"], "--out", blocker, "--model", eye_prior_model_dir)
    assert result.exit_code == 2
    assert "not writable" in result.output


def test_bad_options_are_exit_2(tmp_path, face_inputs, eye_prior_model_dir):
    for extra in (["--fps", "-1"], ["--keyframes", "0"], ["--device", "tpu"], ["--jobs", "0"]):
        out = tmp_path / "o"
        result = run_analyze(
            face_inputs["png"], "--out", out, "--model", eye_prior_model_dir, *extra
        )
        assert result.exit_code == 2, (extra, result.output)
    result = run_analyze(tmp_path / "missing.mp4", "--out", tmp_path / "o")
    assert result.exit_code == 2 and "no such file" in result.output


def test_unknown_config_key_is_exit_2(tmp_path, face_inputs, eye_prior_model_dir):
    config = tmp_path / "analysis.yaml"
    config.write_text("keyframe_count: 3\n")
    out = tmp_path / "o"
    result = run_analyze(
        face_inputs["png"], "--out", out, "--model", eye_prior_model_dir, "--config", config
    )
    assert result.exit_code == 2 and "keyframe_count" in result.output


@pytest.mark.slow
def test_python_api(tmp_path, face_inputs, eye_prior_model_dir):
    import ocularseg

    result = ocularseg.analyze(
        face_inputs["png"], out=tmp_path / "o", config={"model": str(eye_prior_model_dir)}
    )
    assert len(result.rows) == 2 and result.run_info["inputs"] == 1


def test_tiny_face_is_one_no_face_found_error_row(tmp_path, astronaut, eye_prior_model_dir):
    import cv2

    from ocularseg.io.images import write_image_atomic

    # The whole photograph at 160 px: the face detector finds no face in it.
    tiny = tmp_path / "tiny.png"
    write_image_atomic(tiny, cv2.resize(astronaut, (160, 160), interpolation=cv2.INTER_AREA))
    out = tmp_path / "out"
    result = run_analyze(tiny, "--out", out, "--model", eye_prior_model_dir)
    assert result.exit_code == 1, result.output
    assert f"{tiny}: no face found in the image" in result.output
    assert read_csv(out / "measurements.csv") == []
    errors = [(e["input"], e["stage"], e["error"]) for e in read_csv(out / "errors.csv")]
    assert errors == [(str(tiny), "frames", f"{tiny}: no face found in the image")]


@pytest.mark.slow
def test_4k_frame_is_analysed(tmp_path, astronaut, eye_prior_model_dir):
    import cv2
    import numpy as np

    from ocularseg.io.images import write_image_atomic

    canvas = np.full((2160, 3840, 3), 90, np.uint8)
    face = cv2.resize(astronaut, (2048, 2048), interpolation=cv2.INTER_CUBIC)
    canvas[56:2104, 896:2944] = face
    write_image_atomic(tmp_path / "uhd.jpg", canvas)
    out = tmp_path / "out"
    result = run_analyze(tmp_path / "uhd.jpg", "--out", out, "--model", eye_prior_model_dir)
    assert result.exit_code == 0, result.output
    rows = read_csv(out / "measurements.csv")
    assert len(rows) == 2 and all("too_small" not in r["flags"] for r in rows)
    # The frame is 4× the photograph: frame-px lengths are 4× larger than at 512 px.
    assert float(rows[0]["scale_crop_per_frame"]) < 4.0
