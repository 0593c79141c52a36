"""The report thresholds are part of the analysis config; progress lines off a terminal."""

from __future__ import annotations

import io
from types import SimpleNamespace

from rich.console import Console

from ocularseg.cli.progress import RunProgress
from ocularseg.pipeline.config import AnalyzeConfig, load_analyze_config


def test_report_thresholds_are_configurable_recorded_and_in_the_resume_key(tmp_path):
    yaml = tmp_path / "strict.yaml"
    yaml.write_text("report:\n  mrd1_low_mm: 2.5\n", encoding="utf-8")
    strict = load_analyze_config(yaml)
    assert strict.report.mrd1_low_mm == 2.5
    assert strict.model_dump(mode="json")["report"]["mrd1_low_mm"] == 2.5  # run.json
    assert strict.content_hash() != AnalyzeConfig().content_hash()  # --resume re-analyses


def test_progress_off_a_terminal_is_one_plain_line_per_input():
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, width=200)
    with RunProgress(console, live=False) as progress:
        progress.frame_done(3, 10)  # frames of a short input: no line
        progress.input_done(1, 3, SimpleNamespace(label="clinic/a.mp4", failed=False, errors=[]))
        # Issue 20.6: analysed, with an unmeasurable eye recorded: done, not failed.
        eye = SimpleNamespace(label="clinic/c.png", failed=False, errors=["left eye"])
        progress.input_done(2, 3, eye)
        progress.input_done(3, 3, SimpleNamespace(label="clinic/b.mp4", failed=True, errors=["x"]))
    lines = buffer.getvalue().splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        "[1/3] clinic/a.mp4: done",
        "[2/3] clinic/c.png: done, see errors.csv",
        "[3/3] clinic/b.mp4: failed",
    ]
    assert "\x1b[" not in buffer.getvalue()  # no escape codes in a log file


def test_pages_are_not_a_result_and_can_be_switched_off():
    assert AnalyzeConfig(pages=False).content_hash() == AnalyzeConfig().content_hash()


def test_progress_off_a_terminal_has_frames_with_an_eta_and_the_report_drawing(monkeypatch):
    import ocularseg.cli.progress as progress_module
    from ocularseg.pipeline.run import RunPhase

    monkeypatch.setattr(progress_module, "LOG_EVERY_S", 0.0)
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, width=200)
    with RunProgress(console, live=False) as progress:
        progress.phase(RunPhase.ANALYSING, 0, 1)
        progress.frame_done(120, 300)
        progress.frame_done(5, None)  # a video that does not say how many frames it has
        progress.frame_done(310, 300)  # an estimate the video outgrew: no total
        progress.phase(RunPhase.DRAWING_REPORTS, 0, 30)
        progress.phase(RunPhase.DRAWING_REPORTS, 10, 30)
    lines = buffer.getvalue().splitlines()
    assert lines[0].startswith("  120 of about 300 frames looked at, about ")
    assert lines[0].endswith(" left")
    assert lines[1:3] == ["  5 frames looked at", "  310 frames looked at"]
    assert lines[3] == "drawing reports 0/30"
    assert lines[4].startswith("drawing reports 10/30, about ")


def test_progress_on_a_terminal_counts_frames_then_report_pages():
    from ocularseg.pipeline.run import RunPhase

    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    with RunProgress(console, live=True) as progress:
        progress.phase(RunPhase.ANALYSING, 0, 1)

        def rows():
            return [(t.description, t.completed, t.total) for t in progress._bar.tasks]

        assert rows() == [("inputs", 0, 1), ("frames", 0, None)]  # not "0/?" inputs
        progress.frame_done(40, 600)
        assert rows()[1] == ("frames", 40, 600)
        progress.frame_done(41, None)
        assert rows()[1] == ("frames", 41, None)
        progress.input_done(1, 1, SimpleNamespace(label="a.mp4", failed=False, errors=[]))
        assert rows() == [("a.mp4", 1, 1), ("frames", 0, None)]
        progress.phase(RunPhase.DRAWING_REPORTS, 0, 30)
        progress.phase(RunPhase.DRAWING_REPORTS, 12, 30)
        assert rows()[1] == ("drawing reports", 12, 30)
