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
extra_losses: {unet: [ce+rw-equal]}
train_fractions: [1.0]
seeds: [0, 1]
resamples: 200
loss_options: {ce+rw-equal: {class_weights: [1, 1, 1, 1, 8]}}
base: {epochs: 1, batch_size: 4, augment: null, input_scale: 0.5}
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
    assert len(table) == 6  # (2 shared losses + 1 extra row) × 2 test sets
    assert set(table["seeds"]) == {2}
    for key in ("dice", "dice_iris"):
        assert (
            (table[key] >= table[f"{key}_ci_low"]) & (table[key] <= table[f"{key}_ci_high"])
        ).all()
    markdown = (tmp_path / "grid" / "results.md").read_text()
    assert "ce+tiu" in markdown and "test Dice % [95% CI]" in markdown
    assert "Per-class Dice % on shifted" in markdown and "ce+rw-equal vs ce" in markdown
    effects = pd.read_csv(tmp_path / "grid" / "effects.csv")
    assert sorted(set(effects["loss"])) == ["ce+rw-equal", "ce+tiu"]
    assert (effects["baseline"] == "ce").all() and len(effects) == 4
    assert (effects["delta_dice_ci_low"] <= effects["delta_dice"]).all()
    # Trained at input_scale 0.5, scored against the full-size 480×320 masks.
    scores = pd.read_csv(tmp_path / "grid" / "cells" / "unet__ce__f1__s0" / "scores_test.csv")
    assert {"dice_sclera", "dice_caruncle"} <= set(scores.columns) and len(scores) == 8
    done = sorted((tmp_path / "grid" / "cells").glob("*/cell_result.json"))
    assert len(done) == 6
    stamps = [p.stat().st_mtime_ns for p in done]
    again = runner.invoke(app, ["experiment", str(tmp_path / "grid.yaml")])
    assert again.exit_code == 0
    assert [p.stat().st_mtime_ns for p in done] == stamps  # nothing retrained


def test_unknown_grid_key_is_rejected(tmp_path):
    (tmp_path / "grid.yaml").write_text(GRID + "epochs: 3\n")
    result = CliRunner().invoke(app, ["experiment", str(tmp_path / "grid.yaml")])
    assert result.exit_code == 2 and "epochs" in result.output


SMALL_GRID = """\
out: grid
train_data: data
test_sets: {test: data}
models: {unet: {base_channels: 4, depth: 2}}
losses: [ce]
seeds: [0, 1, 2]
resamples: 100
base: {epochs: 1, batch_size: 4, augment: null, input_scale: 0.5, max_steps_per_epoch: 1}
"""


@pytest.mark.slow
def test_shards_split_the_cells_and_old_scores_are_rescored(tmp_path):
    import pandas as pd

    make_eye_dataset(tmp_path / "data", n_images=8)
    (tmp_path / "grid.yaml").write_text(SMALL_GRID)
    runner = CliRunner()
    cells = tmp_path / "grid" / "cells"
    first = runner.invoke(app, ["experiment", str(tmp_path / "grid.yaml"), "--shard", "1/2"])
    assert first.exit_code == 0, first.output
    assert sorted(p.name for p in cells.iterdir()) == ["unet__ce__f1__s1"]
    second = runner.invoke(app, ["experiment", str(tmp_path / "grid.yaml"), "--shard", "0/2"])
    assert second.exit_code == 0, second.output
    assert len(list(cells.glob("*/cell_result.json"))) == 3
    assert set(pd.read_csv(tmp_path / "grid" / "results.csv")["seeds"]) == {3}
    # Scores written before the per-class columns existed are redone, nothing is retrained.
    old = cells / "unet__ce__f1__s1" / "scores_test.csv"
    pd.read_csv(old)[["image_id", "dice", "hd95_px", "component_error", "subject"]].to_csv(
        old, index=False
    )
    weights = cells / "unet__ce__f1__s1" / "run" / "checkpoints" / "best.safetensors"
    stamp = weights.stat().st_mtime_ns
    again = runner.invoke(app, ["experiment", str(tmp_path / "grid.yaml")])
    assert again.exit_code == 0, again.output
    assert "dice_pupil" in pd.read_csv(old).columns
    assert weights.stat().st_mtime_ns == stamp


@pytest.mark.parametrize(
    ("extra", "args", "message"),
    [
        ("", ["--shard", "2/2"], "--shard"),
        ("", ["--shard", "half"], "expected I/N"),
        ("extra_losses: {fcn: [dice]}\n", [], "extra_losses names model(s) fcn"),
        ("loss_variants: {CE TIU: {loss: ce+tiu}}\n", [], "must be lower-case"),
        ("loss_variants: {ce+tiu-x: {loss: ce+tiu, weight: 2}}\n", [], "weight"),
    ],
)
def test_bad_shard_or_extra_rows_are_config_errors(tmp_path, extra, args, message):
    (tmp_path / "grid.yaml").write_text(SMALL_GRID + extra)
    result = CliRunner().invoke(app, ["experiment", str(tmp_path / "grid.yaml"), *args])
    assert result.exit_code == 2 and message in result.output, result.output


def test_loss_variants_name_rows_and_add_to_the_loss_options(tmp_path):
    from ocularseg.training.experiment import grid_cells, load_grid, resolve_loss

    (tmp_path / "grid.yaml").write_text(
        SMALL_GRID.replace("losses: [ce]", "losses: [ce+tiu, ce+tiu-topo]")
        + "loss_options: {ce+tiu: {class_weights: [1, 1, 1, 1, 8], beta: 10}}\n"
        + "loss_variants: {ce+tiu-topo: {loss: ce+tiu, options: {beta: 0}}}\n"
    )
    grid = load_grid(tmp_path / "grid.yaml")
    assert [cell[1] for cell in grid_cells(grid)][::3] == ["ce+tiu", "ce+tiu-topo"]
    assert resolve_loss(grid, "ce+tiu-topo") == (
        "ce+tiu",
        {"class_weights": [1, 1, 1, 1, 8], "beta": 0},
    )
    assert resolve_loss(grid, "ce+tiu")[1]["beta"] == 10
