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
