"""The experiment grid trains every cell once, scores it, and resumes without retraining."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

pytest.importorskip("torch")

from eye_dataset import make_eye_dataset  # noqa: E402

from ocularseg.cli.app import app  # noqa: E402

GRID = """\
out: grid
train_data: data
test_sets: {test: data, shifted: shifted}
models: {unet: {base_channels: 4, depth: 2}}
losses: [ce, ce+tiu]
train_fractions: [1.0]
seeds: [0, 1]
resamples: 200
base: {epochs: 1, batch_size: 4, augment: null}
"""


@pytest.mark.slow
def test_grid_runs_scores_and_resumes(tmp_path):
    make_eye_dataset(tmp_path / "data", n_images=8)
    make_eye_dataset(tmp_path / "shifted", n_images=4, seed=9)
    (tmp_path / "grid.yaml").write_text(GRID)
    runner = CliRunner()
    result = runner.invoke(app, ["experiment", str(tmp_path / "grid.yaml")])
    assert result.exit_code == 0, result.output
    import pandas as pd

    table = pd.read_csv(tmp_path / "grid" / "results.csv")
    assert len(table) == 4  # 2 losses × 2 test sets
    assert set(table["seeds"]) == {2}
    assert (
        (table["dice"] >= table["dice_ci_low"]) & (table["dice"] <= table["dice_ci_high"])
    ).all()
    markdown = (tmp_path / "grid" / "results.md").read_text()
    assert "ce+tiu" in markdown and "test Dice % [95% CI]" in markdown
    done = sorted((tmp_path / "grid" / "cells").glob("*/cell_result.json"))
    assert len(done) == 4
    stamps = [p.stat().st_mtime_ns for p in done]
    again = runner.invoke(app, ["experiment", str(tmp_path / "grid.yaml")])
    assert again.exit_code == 0
    assert [p.stat().st_mtime_ns for p in done] == stamps  # nothing retrained


def test_unknown_grid_key_is_rejected(tmp_path):
    (tmp_path / "grid.yaml").write_text(GRID + "epochs: 3\n")
    result = CliRunner().invoke(app, ["experiment", str(tmp_path / "grid.yaml")])
    assert result.exit_code == 2 and "epochs" in result.output
