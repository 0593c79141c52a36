"""Seeded fuzzing of the commands that read user files (issue 11): a few hundred mutated
LabelMe annotations (``data import labelme``) and option files (``analyze --config``,
``train``). Whatever the input, the exit code is 0, 1 or 2, with one-line errors and no
traceback. About 500 CLI calls, so the module is marked slow (CI runs it; the fast lane
``pytest -m "not slow"`` does not); the counts are printed (``pytest -s``).
"""

from __future__ import annotations

import json
import time
from collections import Counter

import numpy as np
import pytest
import yaml
from mutations import (
    base_analyze_config,
    base_labelme,
    base_train_config,
    mutate_config,
    mutate_labelme,
    tiny_png,
)
from typer.testing import CliRunner

from ocularseg.cli.app import app

pytestmark = pytest.mark.slow

SEED = 20240611
N_LABELME = 300
N_ANALYZE_CONFIG = 150
N_TRAIN_CONFIG = 60

runner = CliRunner()


def _check(result, what: str, counts: Counter, failures: list[str]) -> None:
    """Count the exit code; record (not raise) a failure so the counts cover every case."""
    counts[result.exit_code] += 1
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        failures.append(f"{what}: uncaught {type(result.exception).__name__}: {result.exception}")
    elif result.exit_code not in (0, 1, 2):
        failures.append(f"{what}: exit {result.exit_code}: {result.output[-300:]}")
    elif "Traceback" in result.output:
        failures.append(f"{what}: traceback: {result.output[-300:]}")


def _report(name: str, n: int, seconds: float, counts: Counter, failures: list[str]) -> None:
    print(
        f"\n{name}: {n} cases in {seconds:.1f} s, exit codes {dict(sorted(counts.items()))}, "
        f"{len(failures)} with a traceback or another exit code"
    )
    assert not failures, f"{len(failures)} of {n} cases failed; first: " + "\n".join(failures[:5])


def _write(path, content) -> None:
    if isinstance(content, str):
        path.write_bytes(content.encode("utf-8", "surrogateescape"))
    elif isinstance(content, dict):
        path.write_text(json.dumps(content))
    else:
        path.write_text(json.dumps(content))


def test_fuzz_labelme_import(tmp_path):
    rng = np.random.default_rng(SEED)
    counts: Counter = Counter()
    failures: list[str] = []
    began = time.perf_counter()
    for index in range(N_LABELME):
        src = tmp_path / f"case{index:03d}" / "P01"
        src.mkdir(parents=True)
        (src / "eye.png").write_bytes(tiny_png(seed=index))
        for n in range(int(rng.integers(1, 3))):
            _write(src / f"eye{n}.json", mutate_labelme(base_labelme(bool(rng.integers(2))), rng))
        args = ["data", "import", "labelme", str(src), "--out", str(src.parent / "ds")]
        if rng.integers(2):
            args.append("--skip-bad")
        _check(runner.invoke(app, args), f"labelme case {index}", counts, failures)
    _report("LabelMe fuzz", N_LABELME, time.perf_counter() - began, counts, failures)
    assert counts[0] and (counts[1] or counts[2])  # both accepted and refused files occur


def _fuzz_configs(name, n, rng, base, tmp_path, command) -> None:
    """Run ``command(index, path)`` on ``n`` mutated option files; report the exit codes."""
    counts: Counter = Counter()
    failures: list[str] = []
    began = time.perf_counter()
    for index in range(n):
        config = mutate_config(base(), rng)
        path = tmp_path / f"c{index:03d}.yaml"
        if isinstance(config, dict):
            config = command.prepare(config, index)
        path.write_text(config if isinstance(config, str) else yaml.safe_dump(config))
        _check(runner.invoke(app, command.args(path)), f"{name} {index}", counts, failures)
    _report(name, n, time.perf_counter() - began, counts, failures)


class _AnalyzeConfig:
    """A missing input after the options: a valid config ends in "no such file" (exit 2)
    without a full analysis, so hundreds of cases stay fast."""

    def __init__(self, tmp_path) -> None:
        self.tmp_path = tmp_path

    def prepare(self, config: dict, index: int) -> dict:
        return config

    def args(self, path) -> list[str]:
        absent = str(self.tmp_path / "absent.png")
        return ["analyze", absent, "--out", str(self.tmp_path / "o"), "--config", str(path)]


class _TrainConfig:
    """The options are checked before training; a missing data set then stops the run
    (exit 1) before any step, so no case trains."""

    def __init__(self, tmp_path) -> None:
        self.tmp_path = tmp_path

    def prepare(self, config: dict, index: int) -> dict:
        config.setdefault("data", str(self.tmp_path / "no-data"))
        config["out"] = str(self.tmp_path / f"run{index}")
        return config

    def args(self, path) -> list[str]:
        return ["train", str(path)]


def test_fuzz_analyze_config(tmp_path):
    rng = np.random.default_rng(SEED + 1)
    command = _AnalyzeConfig(tmp_path)
    _fuzz_configs(
        "analyze config fuzz", N_ANALYZE_CONFIG, rng, base_analyze_config, tmp_path, command
    )


def test_fuzz_train_config(tmp_path, repo_root):
    pytest.importorskip("torch")
    rng = np.random.default_rng(SEED + 2)
    command = _TrainConfig(tmp_path)
    _fuzz_configs("train config fuzz", N_TRAIN_CONFIG, rng, base_train_config, tmp_path, command)
