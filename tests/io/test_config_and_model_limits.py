"""Configs and model folders that used to be accepted with silently wrong results, or end in
a traceback (issue 11, items 9, 10, 14)."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from ocularseg.cli.app import app
from ocularseg.core.errors import ConfigError, ModelError
from ocularseg.io.model_folder import load_model_spec
from ocularseg.pipeline.config import AnalyzeConfig, load_analyze_config
from tests.conftest import edit_model_json

runner = CliRunner()


@pytest.mark.parametrize(
    "yaml",
    [
        "measure: {iris_diameter_mm: .inf}\n",
        "measure: {iris_diameter_mm: .nan}\n",
        "max_seconds: .inf\n",
        "measure: {gates: {min_quality: .nan}}\n",
    ],
)
def test_infinite_or_nan_option_is_a_config_error(tmp_path, yaml):
    # Issue 11.10: iris_diameter_mm: .inf was accepted and every mm value became inf.
    path = tmp_path / "c.yaml"
    path.write_text(yaml)
    # (NaN also fails the range checks, with pydantic's own message)
    with pytest.raises(ConfigError, match="must be a finite number|Input should be"):
        load_analyze_config(path)


def test_infinite_option_through_the_api_is_refused(tmp_path):
    import ocularseg

    with pytest.raises(ConfigError, match="measure.iris_diameter_mm: must be a finite number"):
        ocularseg.analyze(
            tmp_path / "x.png", out=tmp_path / "o", config={"measure": {"iris_diameter_mm": 1e999}}
        )


def test_infinite_learning_rate_is_a_config_error():
    # Issue 11.10: learning_rate: .inf trained to Dice 0 with exit 0.
    pytest.importorskip("torch")
    from ocularseg.training.config import parse_train_config

    with pytest.raises(ConfigError, match="learning_rate: must be a finite number"):
        parse_train_config({"data": "d", "learning_rate": float("inf")})


@pytest.mark.slow
def test_deeply_nested_yaml_is_one_line(tmp_path):
    # Issue 11.9: RecursionError traceback.
    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * 50_000 + "]" * 50_000 + "\n")
    args = ["analyze", str(tmp_path / "x.png"), "--out", str(tmp_path / "o")]
    result = runner.invoke(app, [*args, "--config", str(path)])
    assert result.exit_code == 2
    assert "nested too deeply" in result.output or "not valid YAML" in result.output
    assert "Traceback" not in result.output


def test_keyframes_in_an_api_config_with_fps_is_refused():
    with pytest.raises(ValueError, match="cannot be combined"):
        AnalyzeConfig(fps=5, keyframes=4)
    assert AnalyzeConfig(fps=5).mode == "timeseries"


def _model_copy(tmp_path, source, **changes):
    folder = tmp_path / "model"
    shutil.copytree(source, folder)
    return edit_model_json(folder, **changes)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"input__std": [0, 0.2, 0.2]}, "std.*finite numbers > 0"),
        ({"input__mean": [float("nan"), 0.4, 0.4]}, "mean.*finite numbers"),
        ({"input__scale": float("inf")}, "scale.*finite"),
        ({"onnx_file": "../elsewhere.onnx"}, "onnx_file.*inside the model folder"),
        ({"onnx_file": "/dev/zero"}, "onnx_file.*inside the model folder"),
    ],
)
def test_model_json_with_impossible_values_is_refused(tmp_path, tiny_model_dir, change, message):
    # Issue 11.10 / 11.14: std 0, mean NaN and an outside onnx_file were accepted or read.
    folder = _model_copy(tmp_path, tiny_model_dir, **change)
    with pytest.raises(ModelError, match=message):
        load_model_spec(folder)


def test_deeply_nested_model_json_is_a_model_error(tmp_path, tiny_model_dir):
    folder = _model_copy(tmp_path, tiny_model_dir)
    (folder / "model.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ModelError, match="nested too deeply"):
        load_model_spec(folder)


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("name", ["model.json", "model.onnx"])
def test_model_file_that_is_a_fifo_is_named_not_read(tmp_path, tiny_model_dir, name):
    import os

    folder = _model_copy(tmp_path, tiny_model_dir)
    (folder / name).unlink()
    os.mkfifo(folder / name)
    with pytest.raises(ModelError, match=f"{name}: is a FIFO"):
        load_model_spec(folder)
