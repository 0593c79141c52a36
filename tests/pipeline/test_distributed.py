"""``--executor dask`` on a local two-worker cluster: the same rows as a local run, a worker
killed mid-run loses nothing, and no process opens a connection beyond the cluster.

Every process (scheduler, workers, the analysing CLI) runs with a ``sitecustomize`` that
records each socket ``connect``/``sendto`` and name lookup through Python's audit hooks.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed")

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_data" / "phantom_video.mp4"
#: The cluster's own addresses; a wildcard bind ("0.0.0.0") would listen beyond it.
LOCAL = ("'127.0.0.1'", "'::1'", "'localhost'")

HOOK = """
import os, sys

_LOG = os.environ["OCULARSEG_TEST_NET_LOG"]


def _record(event, args):
    if event in ("socket.connect", "socket.sendto"):
        address = args[1] if event == "socket.connect" else args[-1]
    elif event == "socket.getaddrinfo":
        address = (args[0], args[1])
    else:
        return
    with open(_LOG, "a", encoding="utf-8") as handle:
        handle.write(f"{os.getpid()}\\t{event}\\t{address!r}\\n")


sys.addaudithook(_record)
"""


def _env(tmp: Path) -> dict[str, str]:
    hook_dir = tmp / "hook"
    hook_dir.mkdir(exist_ok=True)
    (hook_dir / "sitecustomize.py").write_text(HOOK, encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(hook_dir), env.get("PYTHONPATH", "")])
    env["OCULARSEG_TEST_NET_LOG"] = str(tmp / "net.log")
    # The client's single resubmission is what is tested: the scheduler gives up at once.
    env["DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES"] = "0"
    return env


def _python(module: str, *args: object) -> list[str]:
    """The command line ``python -m MODULE ARGS...`` with this interpreter."""
    return [sys.executable, "-m", module, *map(str, args)]


def _start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


@pytest.fixture()
def cluster(tmp_path):
    env = _env(tmp_path)
    scheduler_file = tmp_path / "scheduler.json"
    no_dashboard = ["--no-dashboard", "--dashboard-address", "127.0.0.1:0"]
    listen = ["--host", "127.0.0.1", "--port", 0, *no_dashboard]
    announce = ["--scheduler-file", scheduler_file]
    scheduler = _python("distributed.cli.dask_scheduler", *listen, *announce)
    procs = [_start(scheduler, env, tmp_path / "scheduler.log")]
    deadline = time.monotonic() + 60
    while not scheduler_file.is_file() and time.monotonic() < deadline:
        time.sleep(0.2)
    address = json.loads(scheduler_file.read_text())["address"]
    worker = ["distributed.cli.dask_worker", address, "--host", "127.0.0.1", "--nthreads", 1]
    workers = [
        _start(
            _python(*worker, "--no-nanny", *no_dashboard, "--name", f"w{i}"),
            env,
            tmp_path / f"worker{i}.log",
        )
        for i in range(2)
    ]
    procs += workers
    try:
        yield address, workers, env
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _rows(out: Path) -> list[dict[str, str]]:
    with (out / "measurements.csv").open(encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_dask_run_survives_a_killed_worker_and_stays_on_the_cluster(cluster, tmp_path):
    address, workers, env = cluster
    inputs = tmp_path / "clinic"
    inputs.mkdir()
    for name in ("a", "b", "c"):
        shutil.copyfile(SAMPLE, inputs / f"patient_{name}.mp4")
    out = tmp_path / "out"
    on_cluster = ["--executor", "dask", "--scheduler", address]
    run = subprocess.Popen(
        _python("ocularseg", "analyze", inputs, "--out", out, "--keyframes", 2, *on_cluster),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    # Kill a worker once an input is half done (its crops are being written): with three
    # inputs and two workers, both are busy then.
    deadline = time.monotonic() + 300
    while not list(out.glob("inputs/*/crops/*.png")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert run.poll() is None, run.stdout.read().decode()
    os.kill(workers[0].pid, signal.SIGKILL)
    output = run.communicate(timeout=600)[0].decode()
    assert run.returncode == 0, output
    rows = _rows(out)
    assert {Path(r["input"]).name for r in rows} == {f"patient_{n}.mp4" for n in "abc"}
    assert len(rows) == 3 * 2 * 2  # two key frames, two eyes, three inputs
    errors = (out / "errors.csv").read_text(encoding="utf-8-sig").strip().splitlines()
    assert errors == [errors[0]]  # the header only: nothing was lost with the worker
    assert json.loads((out / "run.json").read_text())["executor"] == "dask"

    # The same numbers as a local run of the same file.
    local = tmp_path / "local"
    subprocess.run(
        _python("ocularseg", "analyze", inputs / "patient_a.mp4", "--out", local, "--keyframes", 2),
        check=True,
        env=env,
        capture_output=True,
        cwd=tmp_path,
    )
    ours = {
        (r["frame_index"], r["side"]): r["mrd1_mm"]
        for r in rows
        if r["input"].endswith("patient_a.mp4")
    }
    theirs = {(r["frame_index"], r["side"]): r["mrd1_mm"] for r in _rows(local)}
    assert ours == theirs

    # Nothing beyond the cluster's own loopback addresses was contacted or looked up.
    records = (tmp_path / "net.log").read_text(encoding="utf-8").splitlines()
    assert records, "the audit hook recorded nothing: the check would prove nothing"
    outside = [
        r
        for r in records
        if not any(host in r.split("\t")[2] for host in LOCAL)
        and not r.split("\t")[2].startswith(("'/", '"/'))
    ]
    assert outside == []
