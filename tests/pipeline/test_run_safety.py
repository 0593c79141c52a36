"""The run as a whole: one run per output folder, reports as one set, a full disk, worker
processes that die with their parent, resource limits, a model of the wrong input size
(issue 11, items 3, 5, 6, 8, 14)."""

from __future__ import annotations

import csv
import errno
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from ocularseg.cli.app import app
from ocularseg.core.errors import ConfigError
from ocularseg.pipeline.lock import run_lock
from ocularseg.pipeline.workers import WORKER_MEMORY_BYTES, check_jobs

pytest.importorskip("onnxruntime")
runner = CliRunner()


def _csv(path):
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def _analyze(*args):
    return runner.invoke(app, ["analyze", *[str(a) for a in args]])


@pytest.mark.slow
def test_second_run_into_a_held_output_folder_is_refused(
    tmp_path, face_inputs, eye_prior_model_dir
):
    # Issue 11.5: two runs into one --out both exited 0 and one run's inputs vanished.
    out = tmp_path / "o"
    out.mkdir()
    with run_lock(out):  # a run in progress
        result = _analyze(face_inputs["png"], "--out", out, "--model", eye_prior_model_dir)
    assert result.exit_code == 2
    assert "in use by another ocularseg run" in result.output
    assert f"process {os.getpid()}" in result.output
    assert not (out / "measurements.csv").exists()
    # Released when the holder ends: the next run goes ahead.
    after = _analyze(face_inputs["png"], "--out", out, "--model", eye_prior_model_dir)
    assert after.exit_code == 0, after.output


def test_lock_is_released_when_the_holder_is_killed(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    code = (
        "import sys, time; from ocularseg.pipeline.lock import run_lock\n"
        "with run_lock(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"held"
        with pytest.raises(ConfigError, match="in use"), run_lock(out):
            pass
    finally:
        holder.kill()
        holder.wait()
    with run_lock(out):
        pass


@pytest.mark.slow
def test_report_files_stay_one_set_when_writing_fails(
    tmp_path, face_inputs, eye_prior_model_dir, monkeypatch
):
    # Issue 11.6: a disk filling during report writing left the new run's CSVs beside the
    # old run's report.xlsx and run.json.
    out = tmp_path / "o"
    first = _analyze(face_inputs["png"], "--out", out, "--model", eye_prior_model_dir)
    assert first.exit_code == 0
    names = ("measurements.csv", "summary.csv", "errors.csv", "report.xlsx", "run.json")
    before = {name: (out / name).read_bytes() for name in names}

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    import ocularseg.report.xlsx

    monkeypatch.setattr(ocularseg.report.xlsx, "write_xlsx", full_disk)
    second = _analyze(
        face_inputs["png"], face_inputs["jpg"], "--out", out, "--model", eye_prior_model_dir
    )
    assert second.exit_code == 1
    assert "No space left on device" in second.output and "Traceback" not in second.output
    assert {name: (out / name).read_bytes() for name in names} == before
    assert not [p for p in out.iterdir() if ".new-" in p.name]  # no staged leftovers
    run = json.loads(before["run.json"])
    assert set(run["report_files"]) >= {"measurements.csv", "report.xlsx", "warnings.csv"}


def test_full_disk_while_writing_images_stops_the_run_in_one_line(
    tmp_path, face_inputs, eye_prior_model_dir, monkeypatch
):
    # Issue 11.6: image writes let a raw OSError traceback through.
    real_write = pathlib.Path.write_bytes

    def write_bytes(self, data):
        if self.suffix == ".png" and "inputs" in self.parts:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(pathlib.Path, "write_bytes", write_bytes)
    out = tmp_path / "o"
    result = _analyze(
        face_inputs["png"], face_inputs["jpg"], "--out", out, "--model", eye_prior_model_dir
    )
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "No space left on device" in result.output
    assert "the run stopped after 0 of 2 input(s)" in result.output
    assert "--resume" in result.output


def test_full_disk_seen_while_measuring_a_video_still_stops_the_run(
    tmp_path, face_inputs, eye_prior_model_dir, monkeypatch
):
    # The write error can surface on the measuring thread (a full queue of image writes),
    # inside the frame loop: it must stop the run, not become one input's error row.
    import ocularseg.io.background as background

    monkeypatch.setattr(background, "MAX_PENDING", 0)
    real_write = pathlib.Path.write_bytes
    failures = []

    def write_bytes(self, data):
        if self.suffix == ".png" and "crops" in self.parts and not failures:
            failures.append(self)  # one failed write, the others succeed: it must not vanish
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(pathlib.Path, "write_bytes", write_bytes)
    out = tmp_path / "o"
    args = ["--out", out, "--model", eye_prior_model_dir, "--fps", "10", "--batch-size", "2"]
    result = _analyze(face_inputs["video"], *args)
    assert result.exit_code == 1
    assert "No space left on device" in result.output
    assert "the run stopped after 0 of 1 input(s)" in result.output


def test_jobs_beyond_cores_or_memory_are_refused():
    # Issue 11.8: --jobs had no upper bound (~0.4-1.2 GB per worker).
    check_jobs(1, cores=1, memory_bytes=0)
    check_jobs(2, cores=1, memory_bytes=4 * WORKER_MEMORY_BYTES)  # two always fit the cores
    with pytest.raises(ConfigError, match="more than the 4 CPU core"):
        check_jobs(5, cores=4, memory_bytes=64 * WORKER_MEMORY_BYTES)
    with pytest.raises(ConfigError, match="use --jobs 3 or fewer"):
        check_jobs(4, cores=8, memory_bytes=3.5 * WORKER_MEMORY_BYTES)
    with pytest.raises(ConfigError, match=">= 1"):
        check_jobs(0)


def test_jobs_over_the_limit_is_exit_2(tmp_path, face_inputs):
    result = _analyze(face_inputs["png"], "--out", tmp_path / "o", "--jobs", "100000")
    assert result.exit_code == 2 and "--jobs 100000" in result.output


def test_model_of_another_input_size_fails_once_for_the_run(
    tmp_path, face_inputs, eye_prior_model_dir
):
    # Issue 11.14: a wrong input size failed once per input instead of once per run.
    model = tmp_path / "model"
    shutil.copytree(eye_prior_model_dir, model)
    spec = json.loads((model / "model.json").read_text())
    spec["input"]["height"] = spec["input"]["width"] = 256
    (model / "model.json").write_text(json.dumps(spec))
    out = tmp_path / "o"
    result = _analyze(face_inputs["png"], face_inputs["jpg"], "--out", out, "--model", model)
    assert result.exit_code == 2
    assert result.output.count("256×256 px input") == 1
    assert not (out / "errors.csv").exists()


def test_model_file_outside_its_folder_is_refused_before_it_is_read(
    tmp_path, face_inputs, eye_prior_model_dir
):
    # Issue 11.14: onnx_file pointing outside the folder was read (and even used).
    model = tmp_path / "model"
    shutil.copytree(eye_prior_model_dir, model)
    shutil.copy(model / "model.onnx", tmp_path / "elsewhere.onnx")
    spec = json.loads((model / "model.json").read_text())
    spec["onnx_file"] = "../elsewhere.onnx"
    (model / "model.json").write_text(json.dumps(spec))
    result = _analyze(face_inputs["png"], "--out", tmp_path / "o", "--model", model)
    assert result.exit_code == 2
    assert "onnx_file" in result.output and "inside the model folder" in result.output


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in pathlib.Path(f"/proc/{pid}/task").glob("*/children"):
        found |= {int(c) for c in task.read_text().split()}
    return found


def _alive(pid: int) -> bool:
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_workers_die_with_their_parent(tmp_path, face_inputs, eye_prior_model_dir, how):
    # Issue 11.3: after kill -9 or SIGTERM of the parent, the workers finished their queue
    # and then blocked forever on a pipe. Ctrl-C (SIGINT) waited for the whole queue.
    clinic = tmp_path / "clinic"
    clinic.mkdir()
    for i in range(32):
        shutil.copy(face_inputs["jpg"], clinic / f"p{i:02d}.jpg")
    parent = subprocess.Popen(
        [sys.executable, "-m", "ocularseg", "analyze", str(clinic), "--jobs", "2"]
        + ["--out", str(tmp_path / "o"), "--model", str(eye_prior_model_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # As in a terminal (a background job of a script starts with SIGINT ignored).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(workers) < 2:
            workers = {c for c in _children(parent.pid) if _alive(c)}
            time.sleep(0.2)
        assert len(workers) >= 2, "the workers did not start"
        time.sleep(3)  # let them load their models and take work
        os.kill(parent.pid, how)
        parent.wait(timeout=30)
        stopped = time.monotonic()
        # Ctrl-C must stop the run, not wait for the whole queue (32 inputs: ~30 s).
        assert len(list((tmp_path / "o").glob("inputs/*/result.json"))) < 32
        deadline = stopped + 20
        while time.monotonic() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.2)
        assert not [w for w in workers if _alive(w)], "workers outlived their parent"
    finally:
        if parent.poll() is None:
            parent.kill()
        for worker in workers:
            try:
                os.kill(worker, signal.SIGKILL)
            except OSError:
                pass
