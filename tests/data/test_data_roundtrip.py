"""Mask -> LabelMe JSON -> mask keeps every class (IoU >= 0.99) on realistic eye masks."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from dataset_helpers import EYES, iou_per_class, named_eye_mask, write_dataset
from typer.testing import CliRunner

from ocularseg.cli.app import app
from ocularseg.core.errors import DataError
from ocularseg.data.labelme import labelme_to_mask, mask_to_labelme
from ocularseg.data.manifest import read_manifest

NAMES = [e[0] for e in EYES]


@pytest.mark.parametrize("name", NAMES)
def test_round_trip_is_exact_without_simplification(name):
    mask = named_eye_mask(name)
    doc = mask_to_labelme(mask, "eye.png")
    rebuilt = labelme_to_mask(json.loads(json.dumps(doc)))
    ious = iou_per_class(mask, rebuilt)
    assert set(ious) == {1, 2, 3, 4}
    assert min(ious.values()) >= 0.99
    np.testing.assert_array_equal(rebuilt, mask)


@pytest.mark.parametrize("name", NAMES)
def test_simplification_trades_points_for_a_little_iou(name):
    # Not the default: simplified edges cut boundary pixels, which costs small classes
    # (caruncle ~1000 px) up to ~2% IoU at 0.5 px.
    mask = named_eye_mask(name)
    exact = mask_to_labelme(mask, "eye.png")
    doc = mask_to_labelme(mask, "eye.png", tolerance_px=0.5)
    n_points = [sum(len(s["points"]) for s in d["shapes"]) for d in (exact, doc)]
    assert n_points[1] < n_points[0]
    assert min(iou_per_class(mask, labelme_to_mask(doc)).values()) >= 0.97


def test_document_is_labelme_shaped_and_in_paint_order():
    doc = mask_to_labelme(named_eye_mask("ptosis"), "x.png", image_data=b"\x89PNG")
    assert doc["imageHeight"] == 320 and doc["imageWidth"] == 480 and doc["imageData"]
    labels = [s["label"] for s in doc["shapes"]]
    # LabelMe's own converter paints in file order, so low priority comes first.
    assert labels == ["sclera", "caruncle", "iris", "pupil"]
    assert all(s["shape_type"] == "polygon" and len(s["points"]) >= 3 for s in doc["shapes"])


def test_holes_tiny_regions_and_image_borders_survive(caplog):
    mask = named_eye_mask("open")
    mask[160:170, 100:110] = 0  # background hole inside the sclera
    mask[5, 5] = 1  # single pixel
    mask[10, 10:12] = 3  # two pixels
    mask[30:60, 300] = 4  # one-pixel-wide line
    mask[0, 0] = 1
    mask[319, 479] = 2
    with caplog.at_level(logging.WARNING):
        doc = mask_to_labelme(mask, "x.png")
    assert "_background_" in [s["label"] for s in doc["shapes"]]
    np.testing.assert_array_equal(labelme_to_mask(doc), mask)
    assert not caplog.records


def test_unrepresentable_island_is_logged(caplog):
    mask = np.zeros((40, 40), np.uint8)
    mask[5:35, 5:35] = 2
    mask[15:25, 15:25] = 1  # sclera island inside iris: lower priority, cannot be drawn
    with caplog.at_level(logging.WARNING):
        rebuilt = labelme_to_mask(mask_to_labelme(mask, "x.png"))
    assert np.count_nonzero(rebuilt != mask) == 100
    assert "100 px" in caplog.text


@pytest.mark.parametrize(
    "bad",
    [np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.float32), np.full((4, 4), 7, np.uint8)],
)
def test_bad_masks_are_refused(bad):
    with pytest.raises(DataError):
        mask_to_labelme(bad, "x.png")


def test_cli_export_then_import_round_trip(tmp_path):
    masks = {"b": named_eye_mask("ptosis")}
    ds = write_dataset(tmp_path / "ds", [("a", "s1", ""), ("b", "s2", "")], masks=masks)
    runner = CliRunner()
    result = runner.invoke(
        app, ["data", "export", "labelme", str(ds), "--out", str(tmp_path / "lm")]
    )
    assert result.exit_code == 0, result.output
    assert "exported 2 LabelMe file(s)" in result.stdout
    # One folder per subject, so the default --subject-from folder gets the people back.
    lm = tmp_path / "lm"
    assert sorted(str(p.relative_to(lm)) for p in lm.rglob("*.*")) == [
        "s1/a.json",
        "s1/a.png",
        "s2/b.json",
        "s2/b.png",
    ]
    result = runner.invoke(
        app, ["data", "import", "labelme", str(lm), "--out", str(tmp_path / "ds2")]
    )
    assert result.exit_code == 0, result.output
    rows = read_manifest(tmp_path / "ds2")
    assert [r.subject for r in rows] == ["s1", "s2"]
    for old, new in zip(read_manifest(ds), rows, strict=True):
        for column in ("image", "mask"):
            assert (ds / getattr(old, column)).read_bytes() == (
                tmp_path / "ds2" / getattr(new, column)
            ).read_bytes()


def test_cli_export_embedded_and_refuses_non_empty_out(tmp_path):
    ds = write_dataset(tmp_path / "ds", [("a", "s1", "")])
    runner = CliRunner()
    out = tmp_path / "lm"
    result = runner.invoke(
        app, ["data", "export", "labelme", str(ds), "-o", str(out), "--embed-images"]
    )
    assert result.exit_code == 0
    assert [str(p.relative_to(out)) for p in out.rglob("*.*")] == ["s1/a.json"]
    assert json.loads((out / "s1" / "a.json").read_text())["imageData"]
    result = runner.invoke(app, ["data", "export", "labelme", str(ds), "-o", str(out)])
    assert result.exit_code == 1 and "not empty" in result.stderr
