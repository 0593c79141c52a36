"""``data check``: clean datasets pass; every problem names its file and exits 1."""

from __future__ import annotations

import json

import numpy as np
import pytest
from dataset_helpers import named_eye_mask, write_dataset, write_png
from typer.testing import CliRunner

from ocularseg.cli.app import app
from ocularseg.data.check import check_dataset
from ocularseg.data.manifest import ManifestRow, read_manifest, write_manifest

SAMPLES = [("a", "s1", "train"), ("b", "s1", "train"), ("c", "s2", "val")]
runner = CliRunner()


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _unknown_value(path):
    mask = named_eye_mask("open")
    mask[0, :4] = 7
    write_png(path, mask)


def _smaller(path):
    write_png(path, np.ones((100, 150), np.uint8))


def _colour(path):
    write_png(path, np.zeros((320, 480, 3), np.uint8))


def _empty(path):
    write_png(path, np.zeros((320, 480), np.uint8))


#: (file to break, how, problem kind, words of the message)
CASES = [
    ("images/b.png", _truncate, "unreadable", "truncated PNG"),
    ("masks/b.png", _unknown_value, "unknown-labels", "7 (4 px)"),
    ("masks/b.png", _smaller, "size-mismatch", "150×100 px"),
    ("masks/b.png", _colour, "mask-format", "3 channel(s)"),
    ("images/b.png", lambda p: p.unlink(), "missing-file", "not found"),
]


def test_clean_dataset_is_ok(tmp_path):
    ds = write_dataset(tmp_path / "ds", SAMPLES)
    report = check_dataset(ds)
    assert report.ok and report.n_samples == 3 and report.n_subjects == 2
    result = runner.invoke(app, ["data", "check", str(ds)])
    assert result.exit_code == 0
    assert result.stdout.strip().splitlines() == [
        f"OK: {ds}: 3 sample(s), 2 subject(s) (train 2, val 1, test 0)"
    ]


@pytest.mark.parametrize(("rel", "breaker", "kind", "words"), CASES, ids=[c[2] for c in CASES])
def test_each_problem_names_its_file(tmp_path, rel, breaker, kind, words):
    ds = write_dataset(tmp_path / "ds", SAMPLES)
    breaker(ds / rel)
    report = check_dataset(ds)
    assert [(p.kind, p.path) for p in report.problems] == [(kind, rel)]
    assert words in report.problems[0].message and report.problems[0].line == 3
    result = runner.invoke(app, ["data", "check", str(ds)])
    assert result.exit_code == 1
    assert f"{rel}: " in result.stdout and words in result.stdout
    assert "1 problem(s)" in result.stdout and "Traceback" not in result.output


def test_duplicates_leaks_and_paths_outside(tmp_path):
    ds = write_dataset(tmp_path / "ds", SAMPLES)
    rows = read_manifest(ds)
    rows.append(rows[0])
    rows.append(ManifestRow("images/c.png", "masks/c.png", "s1", "g", "test"))  # s1 leaks too
    rows.append(ManifestRow("../x.png", "masks/a.png", "s3", "", ""))
    write_manifest(ds, rows)
    kinds = {p.kind for p in check_dataset(ds).problems}
    assert {"duplicate-row", "subject-leak", "path-outside"} <= kinds
    result = runner.invoke(app, ["data", "check", str(ds), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False
    assert any(p["kind"] == "subject-leak" and "'s1'" in p["path"] for p in data["problems"])


def test_missing_or_broken_manifest_is_a_problem_not_a_crash(tmp_path):
    result = runner.invoke(app, ["data", "check", str(tmp_path / "nope")])
    assert result.exit_code == 1 and "dataset folder not found" in result.stdout
    (tmp_path / "manifest.csv").write_text("image,mask\nimages/a.png,masks/a.png\n")
    result = runner.invoke(app, ["data", "check", str(tmp_path)])
    assert result.exit_code == 1 and "lacks column(s) subject" in result.stdout


def test_empty_mask_is_a_warning_not_a_failure(tmp_path):
    ds = write_dataset(tmp_path / "ds", SAMPLES)
    _empty(ds / "masks/b.png")
    report = check_dataset(ds)
    assert report.ok and [p.kind for p in report.warnings] == ["empty-mask"]
    result = runner.invoke(app, ["data", "check", str(ds)])
    assert result.exit_code == 0
    assert "warning empty-mask" in result.stdout and "masks/b.png" in result.stdout
    assert "1 warning(s)" in result.stdout
