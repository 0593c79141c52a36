"""A model folder is shareable as exported (issue 11, item 12): no subject or image ids, no
data-set or machine paths, unless ``--include-ids`` asks for them."""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from eye_dataset import make_eye_dataset  # noqa: E402

from ocularseg.cli.app import app  # noqa: E402
from ocularseg.data.manifest import read_manifest, write_manifest  # noqa: E402

runner = CliRunner()
PATIENT = "Doe_Jane_MRN002"


@pytest.fixture(scope="module")
def trained_on_named_patients(tmp_path_factory):
    root = tmp_path_factory.mktemp("clinic_jdoe")
    data = make_eye_dataset(root / "data", n_images=4, n_subjects=2)
    rows = read_manifest(data)
    renamed = []
    for i, row in enumerate(rows):
        name = f"{PATIENT}_{i}.png"
        for kind in ("images", "masks"):
            (data / kind / row.image.split("/")[1]).rename(data / kind / name)
        renamed.append(row.__class__(f"images/{name}", f"masks/{name}", f"{PATIENT}-{i % 2}"))
    write_manifest(data, renamed)
    (root / "train.yaml").write_text(
        "data: data\nout: run\nmodel: {name: unet, options: {base_channels: 4, depth: 2}}\n"
        "loss: {name: ce}\nepochs: 1\nbatch_size: 2\naugment: null\n"
    )
    result = runner.invoke(app, ["train", str(root / "train.yaml")])
    assert result.exit_code == 0, result.output
    return root


def _all_text(folder):
    files = [p for p in folder.rglob("*") if p.suffix in {".json", ".md", ".csv"}]
    return "\n".join(p.read_text(errors="replace") for p in files)


@pytest.mark.slow
def test_exported_model_folder_holds_no_ids_or_paths(trained_on_named_patients, tmp_path):
    root = trained_on_named_patients
    model = tmp_path / "m"
    args = ["export", str(root / "run"), "--out", str(model), "--split", "all"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    text = _all_text(model)
    assert PATIENT not in text
    assert str(root) not in text and str(tmp_path) not in text
    with open(model / "evaluation" / "per_image.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and all(r["image_id"].startswith("img-") for r in rows)
    assert len({r["subject"] for r in rows}) == 2  # one person's rows stay together
    spec = json.loads((model / "model.json").read_text())
    assert spec["training"]["config"]["data"] == "data"
    assert "can be shared" in result.output


@pytest.mark.slow
def test_include_ids_keeps_them_and_warns(trained_on_named_patients, tmp_path):
    root = trained_on_named_patients
    model = tmp_path / "m"
    result = runner.invoke(
        app,
        ["export", str(root / "run"), "--out", str(model), "--split", "all", "--include-ids"],
    )
    assert result.exit_code == 0, result.output
    assert PATIENT in (model / "evaluation" / "per_image.csv").read_text()
    assert "do not share it" in result.output


@pytest.mark.slow
def test_quantized_folder_holds_no_ids_or_paths(trained_on_named_patients, tmp_path):
    pytest.importorskip("onnx")
    root = trained_on_named_patients
    float_dir = tmp_path / "float"
    args = ["export", str(root / "run"), "--out", str(float_dir), "--no-evaluate"]
    assert runner.invoke(app, args).exit_code == 0
    int8_dir = tmp_path / "int8"
    data = str(root / "data")
    result = runner.invoke(
        app,
        ["quantize", str(float_dir), "--out", str(int8_dir), "--calibration", data]
        + ["--images", "2", "--data", data, "--split", "all", "--latency-runs", "1"]
        + ["--max-dice-loss", "100"],
    )
    assert result.exit_code == 0, result.output
    text = _all_text(int8_dir)
    assert PATIENT not in text
    assert str(root) not in text and str(tmp_path) not in text
