"""Nothing leaves the machine (issue 11, item 2): ONNX Runtime's telemetry is off in every
entry point, checked where it would show — the event store under the home folder."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("onnxruntime")

TELEMETRY_DIR = os.path.join(".cache", "Microsoft", "DeveloperTools")


def _run(code: str, home, *args: str, env_extra: dict | None = None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORT_", "XDG_"))}
    env.update(HOME=str(home), **(env_extra or {}))
    return subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=300
    )


def _files_under(home):
    return sorted(str(p.relative_to(home)) for p in home.rglob("*"))


def test_onnxruntime_alone_queues_telemetry_so_the_check_can_see_it(tmp_path):
    # The control: without ocularseg, this onnxruntime writes its event store at import.
    done = _run("import onnxruntime", tmp_path)
    assert done.returncode == 0, done.stderr
    if not (tmp_path / TELEMETRY_DIR).exists():
        pytest.skip("this onnxruntime build keeps no telemetry store here")


def test_importing_ocularseg_first_switches_telemetry_off(tmp_path, tiny_model_dir):
    code = (
        "import os, sys, numpy as np, ocularseg\n"
        "from ocularseg.stages.segment import Segmenter\n"
        "s = Segmenter(sys.argv[1], device='cpu')\n"
        "s.segment([np.zeros((320, 480, 3), np.uint8)])\n"
        "print(os.environ['ORT_DISABLE_TELEMETRY'])\n"
    )
    done = _run(code, tmp_path, str(tiny_model_dir))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"
    assert _files_under(tmp_path) == []


@pytest.mark.slow
def test_a_whole_analysis_writes_nothing_outside_out(tmp_path, face_inputs, eye_prior_model_dir):
    home = tmp_path / "home"
    home.mkdir()
    out = tmp_path / "out"
    code = "import sys; from ocularseg.cli.app import main; sys.argv[0] = 'ocularseg'; main()"
    args = ["analyze", str(face_inputs["png"]), "--out", str(out)]
    args += ["--model", str(eye_prior_model_dir), "--jobs", "2"]
    done = _run(code, home, *args)
    assert done.returncode in (0, 1), done.stderr
    assert (out / "run.json").is_file()
    assert _files_under(home) == []  # no telemetry store, no cache, no state


def test_variable_is_set_for_worker_processes(monkeypatch):
    from ocularseg._privacy import TELEMETRY_OFF, disable_telemetry

    for name in TELEMETRY_OFF:
        monkeypatch.delenv(name, raising=False)
    disable_telemetry()
    assert all(os.environ[name] == value for name, value in TELEMETRY_OFF.items())
