"""``ocularseg evaluate`` from the command line: where it writes, what it refuses, what it says.

Issue 20: a second run never overwrites the first, nothing lands in a git working tree by
default, no raw Python warning is printed, and intervals from fewer than 5 people are marked.
Scored with ``--pred`` (saved masks), so no model runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ocularseg.cli.app import app
from ocularseg.data.manifest import ManifestRow, write_manifest
from ocularseg.io.images import write_image_atomic

runner = CliRunner()


def _labels(closed: bool) -> np.ndarray:
    """A (32, 48) label map: sclera, iris, pupil discs; all background when ``closed``."""
    labels = np.zeros((32, 48), np.uint8)
    if not closed:
        yy, xx = np.mgrid[:32, :48]
        labels[((xx - 24) / 20) ** 2 + ((yy - 16) / 10) ** 2 <= 1] = 1
        labels[(xx - 24) ** 2 + (yy - 16) ** 2 <= 8**2] = 2
        labels[(xx - 24) ** 2 + (yy - 16) ** 2 <= 3**2] = 3
    return labels


def _dataset(root: Path, n_subjects: int = 2, per_subject: int = 2) -> Path:
    """A data set whose first image is a closed eye (classes absent from both maps)."""
    rows = []
    for index in range(n_subjects * per_subject):
        name = f"im{index:02d}"
        labels = _labels(closed=index == 0)
        write_image_atomic(root / "images" / f"{name}.png", np.dstack([labels * 60] * 3))
        write_image_atomic(root / "masks" / f"{name}.png", labels)
        rows.append(
            ManifestRow(
                f"images/{name}.png", f"masks/{name}.png", f"S{index % n_subjects}", "g", ""
            )
        )
    write_manifest(root, rows)
    return root


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return _dataset(tmp_path / "ds")


def _evaluate(dataset: Path, *extra: str):
    pred = dataset / "masks"  # perfect predictions
    words = ["evaluate", "--data", str(dataset), "--pred", str(pred), "--split", "all"]
    return runner.invoke(app, [*words, "--resamples", "50", *extra])


def test_default_folder_is_new_per_run_and_named_for_it(dataset, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    first, second = _evaluate(dataset), _evaluate(dataset)
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    folders = sorted(p.name for p in work.iterdir())
    assert folders == ["evaluation-masks-ds-all", "evaluation-masks-ds-all-2"]
    assert f"wrote the evaluation to {work / folders[0]} (per_image.csv" in first.stdout
    assert f"wrote the evaluation to {work / folders[1]} (" in second.stdout


def test_no_out_inside_a_git_working_tree_is_refused(dataset, tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "sub").mkdir()
    monkeypatch.chdir(repo / "sub")
    result = _evaluate(dataset)
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert f"inside the git working tree {repo}" in line and "--out" in line
    assert sorted(p.name for p in repo.iterdir()) == [".git", "sub"]
    assert not any((repo / "sub").iterdir())


def test_out_with_an_earlier_evaluation_needs_overwrite(dataset, tmp_path):
    out = tmp_path / "eval"
    assert _evaluate(dataset, "--out", str(out)).exit_code == 0
    before = (out / "summary.json").read_bytes()
    (out / "real_summary.md").write_text("stale, from another kind of evaluation\n")
    refused = _evaluate(dataset, "--out", str(out), "--seed", "3")
    assert refused.exit_code == 2 and "add --overwrite" in refused.stderr
    assert (out / "summary.json").read_bytes() == before
    replaced = _evaluate(dataset, "--out", str(out), "--seed", "3", "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert json.loads((out / "summary.json").read_text())["settings"]["seed"] == 3
    assert not (out / "real_summary.md").exists()  # nothing stale is left behind


def test_out_holding_other_files_is_refused_even_with_overwrite(dataset, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = _evaluate(dataset, "--out", str(out), "--overwrite")
    assert result.exit_code == 2 and "not an evaluation folder" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_absent_classes_are_one_plain_note_not_a_python_warning(dataset, tmp_path):
    result = _evaluate(dataset, "--out", str(tmp_path / "eval"))
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(notes) == 1 and notes[0].startswith("note: class absent from both"), notes
    assert "Warning" not in result.stderr and ".py:" not in result.stderr


def test_intervals_from_fewer_than_5_subjects_are_flagged(dataset, tmp_path):
    out = tmp_path / "eval"
    result = _evaluate(dataset, "--out", str(out))
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    iris = next(r for r in summary["rows"] if (r["class"], r["metric"]) == ("iris", "dice"))
    assert iris["n_subjects"] == 2 and iris["ci_reliable"] is False
    assert summary["settings"]["ci_unreliable_note"].startswith("n subjects < 5")
    markdown = (out / "summary.md").read_text()
    assert "100.0 [100.0, 100.0]†" in markdown
    assert "† n subjects < 5: the interval is not meaningful (this table: 2 subject(s))" in markdown
    assert "not meaningful" in result.stdout  # the printed table carries the note too


def test_one_subject_says_why_there_is_no_interval(tmp_path):
    dataset = _dataset(tmp_path / "ds", n_subjects=1, per_subject=3)
    result = _evaluate(dataset, "--out", str(tmp_path / "eval"))
    assert result.exit_code == 0, result.output
    markdown = (tmp_path / "eval" / "summary.md").read_text()
    assert "100.0 [n/a]" in markdown
    assert "(this table: 1 subject(s); [n/a]: one subject gives no interval)." in markdown


def test_intervals_from_5_subjects_are_not_flagged(tmp_path):
    dataset = _dataset(tmp_path / "ds", n_subjects=5, per_subject=2)
    result = _evaluate(dataset, "--out", str(tmp_path / "eval"))
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "eval" / "summary.json").read_text())
    assert all(r["ci_reliable"] for r in summary["rows"] if r["n_subjects"] >= 5)
    assert "†" not in (tmp_path / "eval" / "summary.md").read_text()
