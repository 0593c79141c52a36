"""The reports a clinician reads: one page per input (PNG + PDF), chart, sheets, gates' words.

Driven through ``ocularseg analyze`` with the tiny eye-prior model on real faces (the
astronaut photograph and a short clip of it), so every file is the one a user gets.
"""

from __future__ import annotations

import numpy as np
import openpyxl
import pytest

from ocularseg.io.images import read_image_rgb
from tests.pipeline.cli_helpers import read_csv, run_analyze

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def video_run(tmp_path_factory, face_inputs, eye_prior_model_dir):
    out = tmp_path_factory.mktemp("reports") / "out"
    inputs = (face_inputs["video"], face_inputs["png"])
    result = run_analyze(*inputs, "--out", out, "--model", eye_prior_model_dir, "--fps", 10)
    assert result.exit_code == 0, result.output
    return out


def _input_folder(out, stem):
    (folder,) = [p for p in (out / "inputs").iterdir() if p.name.startswith(stem)]
    return folder


@pytest.mark.slow
def test_one_page_report_per_input(video_run) -> None:
    for stem in ("clip", "face"):
        folder = _input_folder(video_run, stem)
        page = read_image_rgb(folder / "report.png")
        assert page.shape[1] > page.shape[0] > 1000  # A4 landscape at 150 dpi
        assert (folder / "report.pdf").read_bytes().startswith(b"%PDF")
        assert (folder / "contact_sheet_01.png").is_file()
    # A video gets the time-series chart, a still image does not.
    assert (_input_folder(video_run, "clip") / "chart.png").is_file()
    assert not (_input_folder(video_run, "face") / "chart.png").exists()


def test_measurements_carry_gates_quality_and_used(video_run) -> None:
    rows = read_csv(video_run / "measurements.csv")
    header = list(rows[0])
    assert header.index("gates_failed") == header.index("flags") + 1
    assert header.index("used") == header.index("gates_failed") + 1
    assert "mean_confidence" not in header
    for row in rows:
        assert 0.0 <= float(row["quality"]) <= 1.0
        assert row["used"] == str(not row["gates_failed"] and row["blink"] == "False")


def test_summary_indicators_in_words(video_run) -> None:
    rows = read_csv(video_run / "summary.csv")
    eyes = [r for r in rows if r["side"] in ("right", "left")]
    assert {r["indicator_mrd1_le_2mm"] for r in eyes} <= {"yes", "no", "not assessable"}
    assert "mrd1_mm_slope_per_min" not in rows[0]
    clip = [r for r in eyes if "clip" in r["input"]]
    assert all(r["mrd1_mm_fitted_change"] != "" for r in clip)


def test_workbook_has_a_readable_summary_and_the_chart(video_run) -> None:
    workbook = openpyxl.load_workbook(video_run / "report.xlsx")
    assert workbook.sheetnames[:2] == ["summary", "summary_data"]
    sheet = workbook["summary"]
    assert sheet["A3"].value.startswith("Model tiny-test:")
    assert [c.value for c in sheet[5]][:2] == ["Input", "Eye"]
    assert len(sheet._images) == 1  # the clip's chart; the still image has none


def test_overlays_have_a_legend_and_no_jargon(video_run) -> None:
    rows = read_csv(video_run / "measurements.csv")
    overlay = read_image_rgb(video_run / rows[0]["overlay"])
    assert overlay.shape == (320, 480, 3)
    strip = overlay[-18:].reshape(-1, 3)
    assert (strip == np.array([240, 228, 66])).all(axis=1).any()  # iris-circle swatch


@pytest.mark.slow
def test_unmeasurable_eye_error_says_why(tmp_path, face_inputs, tiny_model_dir) -> None:
    # The untrained tiny model finds no iris: the error lists the real reasons.
    out = tmp_path / "out"
    result = run_analyze(face_inputs["png"], "--out", out, "--model", tiny_model_dir)
    errors = read_csv(out / "errors.csv")
    messages = [e["error"] for e in errors if e["stage"] == "measure"]
    assert messages, result.output
    assert all("not measurable in any of the 1 analysed frame(s)" in m for m in messages)
    assert not any("closed, hidden" in m for m in messages)
    page = _input_folder(out, "face") / "report.png"
    assert page.is_file()  # the page exists even when nothing could be measured


@pytest.mark.slow
def test_pages_off_writes_the_tables_and_removes_earlier_pages(
    tmp_path, face_inputs, eye_prior_model_dir
) -> None:
    out = tmp_path / "out"
    base = [face_inputs["png"], "--out", out, "--model", eye_prior_model_dir]
    assert run_analyze(*base).exit_code == 0
    folder = _input_folder(out, "face")
    assert (folder / "report.pdf").is_file()
    config = tmp_path / "batch.yaml"
    config.write_text("pages: false\n", encoding="utf-8")
    result = run_analyze(*base, "--config", config, "--resume")
    assert result.exit_code == 0, result.output
    assert "1 resumed" in result.output  # pages are not part of the resume key
    assert not (folder / "report.pdf").exists() and not (folder / "report.png").exists()
    assert len(read_csv(out / "measurements.csv")) == 2
    assert (out / "report.xlsx").is_file()


@pytest.mark.slow
def test_two_people_warn_and_the_warning_is_on_the_page(tmp_path, astronaut, tiny_model_dir):
    from ocularseg.io.images import write_image_atomic
    from tests.pdf_text import comparable, pdf_text

    photo = tmp_path / "two.png"
    write_image_atomic(photo, np.hstack([astronaut, astronaut]))
    out = tmp_path / "out"
    run_analyze(photo, "--out", out, "--model", tiny_model_dir)
    (warning,) = [w["warning"] for w in read_csv(out / "warnings.csv")]
    assert "more than one face" in warning
    text = pdf_text(_input_folder(out, "two") / "report.pdf")
    assert "Errors and warnings recorded for this input:" in text
    assert comparable(warning) in comparable(text)
    # Which face was measured: the frame's thumbnail, on the page too.
    assert (_input_folder(out, "two") / "faces.png").is_file()
    assert comparable("more than one face: the measured one boxed green") in comparable(text)


@pytest.mark.slow
def test_the_sample_video_warns_of_no_second_face(tmp_path, repo_root, tiny_model_dir):
    # dlib finds a faint "face" in the hair of one frame; it is no second person.
    out = tmp_path / "out"
    video = repo_root / "sample_data" / "phantom_video.mp4"
    result = run_analyze(video, "--out", out, "--model", tiny_model_dir, "--keyframes", "2")
    assert (out / "warnings.csv").is_file(), result.output
    assert not [w for w in read_csv(out / "warnings.csv") if "face" in w["warning"]]
    assert not list(out.glob("inputs/*/faces.png"))


@pytest.mark.slow
def test_classes_the_model_marks_unreliable_are_named_on_every_report(
    tmp_path, face_inputs, eye_prior_model_dir
) -> None:
    import json
    import shutil

    from tests.conftest import edit_model_json
    from tests.pdf_text import comparable, pdf_text

    marks = {"caruncle": "phantom Dice low, drawn at both corners", "pupil": "blobs on real eyes"}
    model = tmp_path / "marked"
    shutil.copytree(eye_prior_model_dir, model)
    edit_model_json(model, output__unreliable_classes=marks)
    out = tmp_path / "out"
    result = run_analyze(face_inputs["png"], "--out", out, "--model", model)
    assert result.exit_code == 0, result.output
    assert json.loads((out / "run.json").read_text())["unreliable_classes"] == marks
    text = comparable(pdf_text(_input_folder(out, "face") / "report.pdf"))
    assert comparable("Unreliable in this model (do not trust their outlines or ratios)") in text
    assert comparable("pupil: blobs on real eyes (pupil_iris_ratio rests on it)") in text
    rows = read_csv(out / "measurements.csv")
    assert "pupil_iris_ratio" in rows[0] and "caruncle_opening_ratio" in rows[0]
    # The legend's longer entries take a second row of the strip.
    overlay = read_image_rgb(out / rows[0]["overlay"])
    upper_row = overlay[-36:-18].reshape(-1, 3)
    assert (upper_row == np.array([204, 121, 167])).all(axis=1).any()  # caruncle swatch
    sheet = openpyxl.load_workbook(out / "report.xlsx")["measurements"]
    header = [c.value for c in sheet[1]]
    comment = sheet.cell(row=1, column=header.index("caruncle_opening_ratio") + 1).comment
    assert comment is not None and "model marks caruncle unreliable" in comment.text
