"""The training path end to end: train (and resume), export with parity, evaluate with CIs."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from eye_dataset import make_eye_dataset  # noqa: E402

from ocularseg.cli.app import app  # noqa: E402

runner = CliRunner()

CONFIG = """\
data: data
out: run
model: {{name: unet, options: {{base_channels: 4, depth: 2}}}}
loss: {{name: ce+tiu}}
epochs: {epochs}
batch_size: 4
learning_rate: 0.01
augment: null
seed: 3
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    make_eye_dataset(root / "data")
    (root / "train.yaml").write_text(CONFIG.format(epochs=2))
    result = runner.invoke(app, ["train", str(root / "train.yaml")])
    assert result.exit_code == 0, result.output
    return root


def _metrics(run):
    with open(run / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_training_writes_checkpoints_metrics_and_curve(trained):
    run = trained / "run"
    for name in (
        "checkpoints/best.safetensors",
        "checkpoints/last.safetensors",
        "checkpoints/last_state.pt",
        "curve.png",
        "train_config.json",
        "run.json",
    ):
        assert (run / name).is_file(), name
    rows = _metrics(run)
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert all(0 <= float(r["val_dice_mean"]) <= 1 for r in rows)
    info = json.loads((run / "run.json").read_text())
    assert info["val_subjects"] >= 1 and info["train_subjects"] >= 1
    assert info["status"] == "ok"


@pytest.mark.slow
def test_resume_continues_from_the_last_epoch(trained, tmp_path):
    (trained / "train3.yaml").write_text(CONFIG.format(epochs=3))
    again = runner.invoke(app, ["train", str(trained / "train3.yaml")])
    assert again.exit_code == 2 and "--resume" in again.output  # never overwrites a run
    resumed = runner.invoke(app, ["train", str(trained / "train3.yaml"), "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert [int(r["epoch"]) for r in _metrics(trained / "run")] == [1, 2, 3]


def test_unknown_config_key_is_rejected(tmp_path):
    (tmp_path / "bad.yaml").write_text("data: x\nepochz: 3\n")
    result = runner.invoke(app, ["train", str(tmp_path / "bad.yaml")])
    assert result.exit_code == 2
    assert "epochz" in result.output


def test_unknown_loss_lists_the_valid_ones(tmp_path, trained):
    (tmp_path / "bad.yaml").write_text(
        f"data: {trained / 'data'}\nout: {tmp_path / 'r'}\nloss: {{name: tiu-typo}}\n"
    )
    result = runner.invoke(app, ["train", str(tmp_path / "bad.yaml")])
    assert result.exit_code == 2
    assert "ce+tiu" in result.output


@pytest.mark.slow
def test_export_passes_parity_and_evaluate_prints_cis(trained, tmp_path):
    model_dir = tmp_path / "models" / "tiny-unet"
    result = runner.invoke(
        app, ["export", str(trained / "run"), "--out", str(model_dir), "--split", "all"]
    )
    assert result.exit_code == 0, result.output
    assert "argmax agreement" in result.output
    spec = json.loads((model_dir / "model.json").read_text())
    assert spec["parity"]["max_abs_logit_diff"] <= 1e-3
    assert spec["labels"] == {"background": 0, "sclera": 1, "iris": 2, "pupil": 3, "caruncle": 4}
    assert spec["evaluation"]["rows"]
    card = (model_dir / "MODEL_CARD.md").read_text()
    assert "Dice" in card and "phantoms" in card
    # Exporting again into the same folder is refused.
    again = runner.invoke(app, ["export", str(trained / "run"), "--out", str(model_dir)])
    assert again.exit_code == 2
    evaluated = runner.invoke(
        app,
        [
            "evaluate",
            "--model",
            str(model_dir),
            "--data",
            str(trained / "data"),
            "--split",
            "all",
            "--out",
            str(tmp_path / "eval"),
            "--resamples",
            "200",
        ],
    )
    assert evaluated.exit_code == 0, evaluated.output
    assert "95% CI" in evaluated.output or "95 % CI" in evaluated.output
    for name in ("per_image.csv", "summary.csv", "summary.json", "summary.md"):
        assert (tmp_path / "eval" / name).is_file()


def _export_unevaluated(trained, model_dir):
    result = runner.invoke(
        app, ["export", str(trained / "run"), "--out", str(model_dir), "--no-evaluate"]
    )
    assert result.exit_code == 0, result.output
    return model_dir


@pytest.mark.slow
def test_fine_tuning_starts_from_a_model_folder(trained, tmp_path):
    model_dir = _export_unevaluated(trained, tmp_path / "m")
    (tmp_path / "ft.yaml").write_text(CONFIG.format(epochs=1).replace("out: run", "out: ft"))
    (tmp_path / "data").symlink_to(trained / "data")
    result = runner.invoke(app, ["train", str(tmp_path / "ft.yaml"), "--init", str(model_dir)])
    assert result.exit_code == 0, result.output


def test_runs_trained_on_shrunk_crops_cannot_be_exported(trained, tmp_path):
    # analyze feeds 480×320 crops; a net trained on 240×160 ones would silently misread them.
    (tmp_path / "data").symlink_to(trained / "data")
    config = CONFIG.format(epochs=1).replace("out: run", "out: small") + "input_scale: 0.5\n"
    (tmp_path / "small.yaml").write_text(config)
    assert runner.invoke(app, ["train", str(tmp_path / "small.yaml")]).exit_code == 0
    result = runner.invoke(app, ["export", str(tmp_path / "small"), "--out", str(tmp_path / "m")])
    assert result.exit_code == 2 and "input_scale 0.5" in result.output, result.output
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_quantize_writes_a_checked_int8_folder(trained, tmp_path):
    pytest.importorskip("onnx")
    import onnx

    from ocularseg.io.model_folder import load_model_spec

    float_dir = _export_unevaluated(trained, tmp_path / "float")
    int8_dir = tmp_path / "int8"
    args = [
        "quantize",
        str(float_dir),
        "--out",
        str(int8_dir),
        "--calibration",
        str(trained / "data"),
    ]
    args += [
        "--images",
        "4",
        "--data",
        str(trained / "data"),
        "--split",
        "all",
        "--latency-runs",
        "2",
    ]
    # The tiny test network is barely trained, so allow any Dice change here.
    result = runner.invoke(app, [*args, "--max-dice-loss", "100"])
    assert result.exit_code == 0, result.output
    assert "int8 − float" in result.output and "CPU latency per crop" in result.output
    spec = load_model_spec(int8_dir)  # loads (and checksums) like any model folder
    content = json.loads((int8_dir / "model.json").read_text())
    q = content["quantization"]
    assert q["calibration_images"] == 4 and len(q["kept_float_nodes"]) == 2
    assert (
        q["float_model"]["sha256"] == json.loads((float_dir / "model.json").read_text())["sha256"]
    )
    assert 0.5 < q["agreement_with_float"]["mean"] <= 1
    assert {"latency_ratio", "paired", "worst_class_dice_loss_points"} <= set(q["comparison"])
    ops = {node.op_type for node in onnx.load(str(int8_dir / spec.onnx_file)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= ops
    assert not (int8_dir / "model.safetensors").exists()  # fine-tune from the float folder
    assert "int8-quantised variant" in (int8_dir / "MODEL_CARD.md").read_text()
    assert (int8_dir / "evaluation" / "summary.csv").is_file()
    # Never overwrites; a variant that loses more than allowed is not kept.
    assert runner.invoke(app, args).exit_code == 2
    strict = runner.invoke(
        app, [*args[:3], str(tmp_path / "strict"), *args[4:], "--max-dice-loss", "0"]
    )
    worst = q["comparison"]["worst_class_dice_loss_points"]
    if worst > 0:  # int8 lost something on some class: refused and nothing left behind
        assert strict.exit_code == 1 and "not kept" in strict.output
        assert not (tmp_path / "strict").exists()
    assert not list(tmp_path.glob(".*partial*"))


@pytest.mark.slow
def test_distributed_training_with_two_cpu_processes(tmp_path):
    make_eye_dataset(tmp_path / "data")
    (tmp_path / "ddp.yaml").write_text(CONFIG.format(epochs=1).replace("out: run", "out: ddp"))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_port",
            "29531",
            "-m",
            "ocularseg",
            "train",
            str(tmp_path / "ddp.yaml"),
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    info = json.loads((tmp_path / "ddp" / "run.json").read_text())
    assert info["world_size"] == 2
    assert len(_metrics(tmp_path / "ddp")) == 1
