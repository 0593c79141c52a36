"""Training options that used to fail only once training ran, with a traceback and exit 1
(issue 11, item 9): now exit 2 before anything is written."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

pytest.importorskip("torch")

from ocularseg.cli.app import app  # noqa: E402

runner = CliRunner()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("loss: {name: ce+tiu, options: {class_weights: [1, 2]}}", "2 class weights for 5"),
        (
            "loss: {name: ce, options: {class_weights: [1, 1, 1, 1, -8]}}",
            "class_weights.4: Input should be greater than or equal to 0",
        ),
        ("loss: {name: ce, options: {class_weights: abc}}", "class_weights"),
        ("crop_hw: [640, 640]", "crop_hw [640, 640] is larger than the training images"),
        (
            "loss: {name: ce+tiu, options: {betta: 2.0}}",
            "unknown option(s) betta for loss 'ce+tiu'; valid options: alpha, beta",
        ),
        ("loss: {name: ce+tiu, options: {beta: -3}}", "beta: Input should be greater than or"),
        ("loss: {name: tiu}", "unknown loss 'tiu'; valid losses: ce, dice"),
    ],
)
def test_bad_training_options_are_exit_2_before_training(tmp_path, repo_root, extra, message):
    config = tmp_path / "train.yaml"
    config.write_text(
        f"data: {repo_root / 'sample_data' / 'phantoms'}\nout: {tmp_path / 'run'}\n"
        f"epochs: 1\n{extra}\n"
    )
    result = runner.invoke(app, ["train", str(config)])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    # One line, naming the config file, so the user knows which file to fix.
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert "train.yaml" in result.output
    assert not (tmp_path / "run").exists()
