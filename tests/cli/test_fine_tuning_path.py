"""The README's fine-tuning path, step by step, through the CLI (issue 5, deliverable 4).

LabelMe annotations (here: the bundled phantoms exported to LabelMe, one folder per
person, as a clinic would keep them) → ``data import labelme`` → ``data split`` →
``train docs/configs/finetune.yaml --init models/ocularseg-unet-real`` → ``export`` →
``evaluate`` → ``analyze --model NEW_MODEL``. Training is cut to two tiny steps so the
test fits CI; what it checks is that every hand-off works and that fine-tuning really
starts from the bundled model (a fresh network scores near 0 after two steps).
"""

from __future__ import annotations

import csv
import json

import pytest
import yaml
from typer.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from ocularseg.cli.app import app  # noqa: E402
from ocularseg.pipeline.config import DEFAULT_MODEL_NAME  # noqa: E402

runner = CliRunner()


def _ok(*args: object) -> str:
    """Run ``ocularseg ARGS...`` (each argument one word) and return what it printed."""
    words = [str(a) for a in args]
    result = runner.invoke(app, words)
    assert result.exit_code == 0, f"{words[:3]}: {result.output}"
    return result.output


def _csv(path):
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_labelme_to_finetuned_model_to_analyze(tmp_path, repo_root, monkeypatch):
    bundled = repo_root / "models" / DEFAULT_MODEL_NAME
    dataset = _labelme_dataset(tmp_path, repo_root)
    run = _fine_tune(tmp_path, repo_root, dataset, bundled)
    new_model = tmp_path / "models" / "my-model"
    _ok("export", run, "--out", new_model)
    spec = json.loads((new_model / "model.json").read_text())
    bundled_spec = json.loads((bundled / "model.json").read_text())
    assert spec["sha256"] != bundled_spec["sha256"]
    # Same network: the bundled config, with any option added since at its default.
    from ocularseg.training.models import build_model

    bundled_arch = bundled_spec["architecture"]
    same = build_model(bundled_arch["name"], **bundled_arch["config"]).config()
    assert spec["architecture"]["config"] == same
    assert "Dice" in (new_model / "MODEL_CARD.md").read_text()

    evaluation = tmp_path / "evaluation"
    test_split = ["--data", dataset, "--split", "test"]
    _ok("evaluate", "--model", new_model, *test_split, "--out", evaluation, "--resamples", "200")
    summary = {(r["group"], r["class"], r["metric"]): r for r in _csv(evaluation / "summary.csv")}
    iris_dice = summary[("all", "iris", "dice")]
    assert float(iris_dice["ci_low"]) <= float(iris_dice["mean"]) <= float(iris_dice["ci_high"])
    assert float(iris_dice["mean"]) > 0.75, iris_dice
    # The README's comparison run without --out: a new folder, the first one untouched.
    before = (evaluation / "summary.json").read_bytes()
    monkeypatch.chdir(evaluation.parent)
    output = _ok("evaluate", "--model", bundled, *test_split, "--resamples", "200")
    compared = tmp_path / f"evaluation-{bundled.name}-my_dataset-test"
    assert f"wrote the evaluation to {compared} (" in output
    assert (evaluation / "summary.json").read_bytes() == before

    analysis = tmp_path / "analysis"
    video = repo_root / "sample_data" / "phantom_video.mp4"
    _ok("analyze", video, "--model", new_model, "--keyframes", "2", "--out", analysis)
    info = json.loads((analysis / "run.json").read_text())
    assert info["model"]["sha256"] == spec["sha256"]
    rows = _csv(analysis / "measurements.csv")
    assert {r["side"] for r in rows} == {"right", "left"}
    assert all(r["mrd1_mm"] for r in rows), rows


def _labelme_dataset(tmp_path, repo_root):
    """The bundled phantoms exported to LabelMe, imported back as a data set, split, checked."""
    annotations = tmp_path / "annotations"
    _ok("data", "export", "labelme", repo_root / "sample_data" / "phantoms", "-o", annotations)
    assert len(list(annotations.glob("*/*.json"))) == 24  # 8 people, a folder each

    dataset = tmp_path / "my_dataset"
    output = _ok("data", "import", "labelme", annotations, "--out", dataset)
    assert "24 sample(s) from 8 subject(s)" in output
    _ok("data", "split", dataset, "--fractions", "0.5,0.25,0.25", "--seed", "0")
    _ok("data", "check", dataset)
    return dataset


def _fine_tune(tmp_path, repo_root, dataset, bundled):
    """Two small training steps from the bundled model with the committed fine-tuning config."""
    # The committed fine-tuning config, cut to two small steps for CI.
    config = yaml.safe_load((repo_root / "docs" / "configs" / "finetune.yaml").read_text())
    config.update(batch_size=2, max_steps_per_epoch=2, crop_hw=[128, 192])
    (tmp_path / "finetune.yaml").write_text(yaml.safe_dump(config))
    run = tmp_path / "runs" / "my-finetune"
    start = ["--init", bundled, "--data", dataset]
    _ok("train", tmp_path / "finetune.yaml", *start, "--out", run, "--epochs", "1")
    (metrics,) = _csv(run / "metrics.csv")
    # Validation on two unseen people after two steps: only the bundled weights explain this.
    assert float(metrics["val_dice_mean"]) > 0.75, metrics
    return run
