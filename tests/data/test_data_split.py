"""Subject-wise splits: no leaks, seeded determinism, validated fractions."""

from __future__ import annotations

from collections import defaultdict

import pytest
from typer.testing import CliRunner

from ocularseg.cli.app import app
from ocularseg.core.errors import ConfigError
from ocularseg.data.manifest import ManifestRow, read_manifest, write_manifest
from ocularseg.data.split import parse_fractions, split_rows

#: (text, parsed) — valid fractions
GOOD = [("0.7,0.15,0.15", (0.7, 0.15, 0.15)), ("0.8,0.2", (0.8, 0.2)), ("1,0,0", (1.0, 0.0, 0.0))]
#: invalid fractions and a word the message must contain
BAD = [
    ("0.7,0.2", "sum to 1"),
    ("0.5,0.3,0.1,0.1", "2 (train,val) or 3"),
    ("1", "2 (train,val) or 3"),
    ("1.2,-0.2", ">= 0"),
    ("a,b", "numbers"),
    ("nan,0.5,0.5", ">= 0"),
]


def _rows(n_subjects=20, seed_sizes=(1, 2, 3, 5)):
    rows = []
    for s in range(n_subjects):
        for i in range(seed_sizes[s % len(seed_sizes)]):
            name = f"s{s:02d}_{i}"
            rows.append(
                ManifestRow(f"images/{name}.png", f"masks/{name}.png", f"S{s:02d}", "g", "")
            )
    return rows


@pytest.mark.parametrize(("text", "expected"), GOOD)
def test_parse_fractions_good(text, expected):
    assert parse_fractions(text) == pytest.approx(expected)


@pytest.mark.parametrize(("text", "needle"), BAD)
def test_parse_fractions_bad(text, needle):
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        parse_fractions(text)


def test_no_subject_in_two_splits_and_fractions_roughly_met():
    rows = split_rows(_rows(), (0.7, 0.15, 0.15), seed=3)
    splits = defaultdict(set)
    for row in rows:
        splits[row.subject].add(row.split)
    assert all(len(found) == 1 for found in splits.values())
    counts = {name: sum(r.split == name for r in rows) for name in ("train", "val", "test")}
    assert abs(counts["train"] / len(rows) - 0.7) < 0.1 and counts["val"] and counts["test"]


def test_deterministic_and_independent_of_row_order():
    rows = _rows()
    a = split_rows(rows, (0.7, 0.15, 0.15), seed=7)
    b = split_rows(list(reversed(rows)), (0.7, 0.15, 0.15), seed=7)
    assert {r.image: r.split for r in a} == {r.image: r.split for r in b}
    c = split_rows(rows, (0.7, 0.15, 0.15), seed=8)
    assert [r.split for r in a] != [r.split for r in c]


def test_two_fractions_give_train_and_val_only():
    rows = split_rows(_rows(), (0.8, 0.2), seed=0)
    assert {r.split for r in rows} == {"train", "val"}


def test_cli_split_rewrites_manifest_and_reports_counts(tmp_path):
    write_manifest(tmp_path, _rows())
    runner = CliRunner()
    result = runner.invoke(
        app, ["data", "split", str(tmp_path), "--fractions", "0.7,0.15,0.15", "--seed", "1"]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["train", "val", "test"]
    assert sum(int(line.split()[1]) for line in lines) == len(_rows())
    first = (tmp_path / "manifest.csv").read_bytes()
    assert all(r.split for r in read_manifest(tmp_path))
    runner.invoke(app, ["data", "split", str(tmp_path), "--seed", "1"])
    assert (tmp_path / "manifest.csv").read_bytes() == first


def test_cli_split_bad_fractions_and_missing_dataset(tmp_path):
    write_manifest(tmp_path, _rows())
    before = (tmp_path / "manifest.csv").read_bytes()
    runner = CliRunner()
    result = runner.invoke(app, ["data", "split", str(tmp_path), "--fractions", "0.5,0.4"])
    assert result.exit_code == 2 and "sum to 1" in result.stderr
    assert (tmp_path / "manifest.csv").read_bytes() == before
    result = runner.invoke(app, ["data", "split", str(tmp_path / "nope")])
    assert result.exit_code == 1 and "dataset folder not found" in result.stderr


def test_cli_split_refuses_an_empty_split(tmp_path):
    """Two people cannot fill three splits: one-line usage error, manifest untouched."""
    write_manifest(tmp_path, _rows(n_subjects=2))
    before = (tmp_path / "manifest.csv").read_bytes()
    result = CliRunner().invoke(app, ["data", "split", str(tmp_path)])
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert str(tmp_path) in line and "2 subject(s)" in line
    assert "split 'test' (fraction 0.15) would be empty" in line
    assert (tmp_path / "manifest.csv").read_bytes() == before


def test_cli_split_two_ways_with_two_subjects_and_a_zero_fraction(tmp_path):
    write_manifest(tmp_path, _rows(n_subjects=2))
    for fractions in ("0.5,0.5", "0.5,0.5,0"):
        result = CliRunner().invoke(app, ["data", "split", str(tmp_path), "--fractions", fractions])
        assert result.exit_code == 0, result.output
        assert {r.split for r in read_manifest(tmp_path)} == {"train", "val"}
