"""Scoring a model on real eyes with silver labels (opening, iris disc, measurements)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ocularseg.core.labels import Label, PartialLabel
from ocularseg.data.manifest import ManifestRow, write_manifest
from ocularseg.io.images import write_image_atomic
from ocularseg.pipeline.evaluate_real import (
    anatomy_violations,
    evaluate_real,
    is_silver_dataset,
    region_maps,
)
from tests.conftest import drawn_eye_labels

pytest.importorskip("onnxruntime")

#: dlib-style points around the drawn eye (canthi at x 90 / 390, lids at y 95 / 215).
POINTS = [[90, 155], [190, 100], [290, 100], [390, 155], [290, 210], [190, 210]]


def _silver(labels: np.ndarray) -> np.ndarray:
    silver = np.zeros_like(labels)
    silver[np.isin(labels, (Label.SCLERA, Label.CARUNCLE))] = PartialLabel.OPENING_NOT_DISC
    silver[np.isin(labels, (Label.IRIS, Label.PUPIL))] = PartialLabel.IRIS_DISC
    return silver


def _dataset(root, silver: np.ndarray, n_people: int = 3):
    rows = []
    for i in range(n_people):
        name = f"eye{i}"
        write_image_atomic(root / "images" / f"{name}.png", np.full((320, 480, 3), 120, np.uint8))
        write_image_atomic(root / "masks" / f"{name}.png", silver)
        meta = {
            "side": "right",
            "open": True,
            "crop_flags": [],
            "scale_crop_per_frame": 4.0,
            "dlib_eye_points_crop_px": POINTS,
            "teacher": {"iris_centre_crop_px": [240.0, 150.0], "iris_radius_crop_px": 60.0},
        }
        (root / "meta").mkdir(parents=True, exist_ok=True)
        (root / "meta" / f"{name}.json").write_text(json.dumps(meta))
        rows.append(ManifestRow(f"images/{name}.png", f"masks/{name}.png", f"p:{i}", "g", "test"))
    write_manifest(root, rows)
    (root / "build_report.json").write_text("{}")
    return root


def test_a_model_that_matches_the_teacher_scores_one_and_agrees_on_mrd1(
    tmp_path, eye_prior_model_dir
) -> None:
    # The test model outputs the drawn eye whatever the input: a perfect match of a silver
    # map drawn from the same eye.
    root = _dataset(tmp_path / "real", _silver(drawn_eye_labels()))
    assert is_silver_dataset(root)
    result = evaluate_real(root, eye_prior_model_dir, split="test", n_resamples=50, device="cpu")
    dice = result.summary[(result.summary["metric"] == "dice") & (result.summary["group"] == "all")]
    assert set(dice["class"]) == {"opening", "iris_disc", "sclera_caruncle"}
    assert np.allclose(dice["mean"], 1.0)
    eyes = result.eyes
    assert eyes["measured"].all() and not eyes["impossible"].any()
    assert np.abs(eyes["mrd1_diff_mm"]).max() < 0.3  # same lid, circle fitted vs given
    measures = result.measures.set_index("measure")
    assert measures.loc["measured_share", "value"] == 1.0


def test_ignored_pixels_are_not_scored(tmp_path, eye_prior_model_dir) -> None:
    silver = _silver(drawn_eye_labels())
    silver[150:160, 395:440] = PartialLabel.IGNORE  # beside the inner corner: unlabelled
    root = _dataset(tmp_path / "real", silver, n_people=2)
    result = evaluate_real(root, eye_prior_model_dir, split="test", n_resamples=20, device="cpu")
    opening = result.summary[
        (result.summary["class"] == "opening") & (result.summary["metric"] == "dice")
    ]
    assert opening["mean"].iloc[0] == pytest.approx(1.0)


def test_region_maps_and_anatomy_checks() -> None:
    labels = drawn_eye_labels()
    opening, split = region_maps(labels)
    assert opening.sum() == (labels > 0).sum()
    assert (split == 2).sum() == np.isin(labels, (Label.IRIS, Label.PUPIL)).sum()
    assert anatomy_violations(labels) == []
    broken = labels.copy()
    broken[140:160, 120:140] = Label.PUPIL  # a pupil blob in the sclera
    assert "pupil_touches_sclera" in anatomy_violations(broken)


def test_a_model_with_the_amodal_disc_measures_from_it(tmp_path, amodal_model_dir) -> None:
    # The test model's whole disc is the drawn eye's iris circle: the circle comes from it
    # and agrees with the visible limbus (offset ~0, radius ratio ~1).
    root = _dataset(tmp_path / "real", _silver(drawn_eye_labels()))
    eyes = evaluate_real(root, amodal_model_dir, split="test", n_resamples=20, device="cpu").eyes
    assert eyes["measured"].all()
    assert np.all(eyes["iris_limbus_offset_r"] < 0.02)
    assert np.allclose(eyes["iris_limbus_radius_ratio"], 1.0, atol=0.02)
    assert np.allclose(eyes["iris_cy_px"], 150.0, atol=0.1)
    assert not eyes["flags"].str.contains("iris_from_visible_limbus").any()


def test_cli_writes_a_silver_evaluation_to_a_new_folder_and_says_where(
    tmp_path, eye_prior_model_dir, monkeypatch
) -> None:
    from typer.testing import CliRunner

    from ocularseg.cli.app import app

    root = _dataset(tmp_path / "real", _silver(drawn_eye_labels()))
    monkeypatch.chdir(tmp_path)
    words = ["evaluate", "--data", str(root), "--model", str(eye_prior_model_dir)]
    result = CliRunner().invoke(app, [*words, "--resamples", "20", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / f"evaluation-{eye_prior_model_dir.name}-real-test"
    assert (folder / "real_summary.md").is_file()
    assert f"wrote the evaluation to {folder} (real_eyes.csv" in result.stdout
    # 3 people: the table says its intervals are not meaningful.
    assert "n subjects < 5: the interval is not meaningful" in result.stdout
