"""Issue 20.7: progress that moves within one video, ``elapsed_s`` over the whole run, and
``--resume`` with nothing new keeping the pages it drew before."""

from __future__ import annotations

import json
import time

import pytest

from ocularseg.io.files import sha256_regular
from ocularseg.pipeline.config import AnalyzeConfig
from ocularseg.pipeline.run import RunPhase, run_analysis

pytest.importorskip("onnxruntime")


def _page_files(out):
    return sorted(out.glob("inputs/*/report.p*"))


def _identity(path):
    info = path.stat()
    return info.st_ino, info.st_mtime_ns


@pytest.mark.slow
def test_one_video_reports_each_frame_as_it_is_decoded(tmp_path, face_inputs, eye_prior_model_dir):
    frames: list[tuple[int, int | None]] = []
    phases: list[tuple[RunPhase, int, int]] = []
    config = AnalyzeConfig(model=str(eye_prior_model_dir), keyframes=2)
    run_analysis(
        [face_inputs["video"]],
        tmp_path / "out",
        config,
        on_frame=lambda done, total: frames.append((done, total)),
        on_phase=lambda *step: phases.append(step),
    )
    # Key-frame mode looks at every candidate before the first key frame is chosen: the
    # count still moves frame by frame, against the frames the video announces.
    done = [d for d, _ in frames]
    assert done == list(range(1, len(done) + 1)) and len(done) == 6
    assert {total for _, total in frames} == {6}
    assert phases[0] == (RunPhase.ANALYSING, 0, 1)
    assert phases[1:] == [(RunPhase.DRAWING_REPORTS, 0, 1), (RunPhase.DRAWING_REPORTS, 1, 1)]


@pytest.mark.slow
def test_resume_with_nothing_new_keeps_every_page(tmp_path, face_inputs, eye_prior_model_dir):
    out = tmp_path / "out"
    config = AnalyzeConfig(model=str(eye_prior_model_dir))
    inputs = [face_inputs["png"], face_inputs["jpg"]]
    run_analysis(inputs, out, config)
    pages = _page_files(out)
    assert len(pages) == 4
    before = {p: _identity(p) for p in pages}
    again = run_analysis(inputs, out, config, resume=True)
    assert len(again.resumed) == 2
    assert {p: _identity(p) for p in pages} == before  # not redrawn, not rewritten
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    for name, sha256 in run["report_files"].items():  # the report set is still whole
        assert sha256_regular(out / name) == sha256


@pytest.mark.slow
def test_resume_redraws_a_page_that_changed_or_a_new_output_folder(
    tmp_path, face_inputs, eye_prior_model_dir
):
    out = tmp_path / "out"
    config = AnalyzeConfig(model=str(eye_prior_model_dir))
    run_analysis([face_inputs["png"]], out, config)
    (png,) = out.glob("inputs/*/report.png")
    png.write_bytes(b"not the page that was drawn")
    run_analysis([face_inputs["png"]], out, config, resume=True)
    assert png.read_bytes().startswith(b"\x89PNG")  # drawn again
    moved = tmp_path / "moved"
    out.rename(moved)
    (png,) = moved.glob("inputs/*/report.png")
    before = _identity(png)
    run_analysis([face_inputs["png"]], moved, config, resume=True)
    assert _identity(png) != before  # a page stamped for another folder is redrawn


@pytest.mark.slow
def test_elapsed_s_is_the_whole_run_with_the_report_drawing(
    tmp_path, face_inputs, eye_prior_model_dir, monkeypatch
):
    import ocularseg.pipeline.pages as pages

    drawing_s = 2.0
    draw = pages.write_input_report

    def slow_draw(*args, **kwargs):
        time.sleep(drawing_s)
        return draw(*args, **kwargs)

    monkeypatch.setattr(pages, "write_input_report", slow_draw)
    out = tmp_path / "out"
    began = time.perf_counter()
    run_analysis([face_inputs["png"]], out, AnalyzeConfig(model=str(eye_prior_model_dir)))
    wall_s = time.perf_counter() - began
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert wall_s - 0.5 <= run["elapsed_s"] <= wall_s
    assert run["phases_s"]["reports"] >= drawing_s
    assert sum(run["phases_s"].values()) == pytest.approx(run["elapsed_s"], abs=0.05)
