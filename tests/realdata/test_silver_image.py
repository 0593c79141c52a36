"""The image-based second teacher (caruncle and pupil) and the relabelling of a real set.

Drawn crops with known geometry: skin outside an almond lid contour, white sclera, a
grey-green iris with a black pupil, and a pink caruncle at the inner corner.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ocularseg.core.labels import Label, PartialLabel
from ocularseg.data.manifest import read_manifest
from ocularseg.data.writer import DatasetWriter
from ocularseg.io.images import read_image_unchanged
from ocularseg.realdata.relabel import relabel_real_set
from ocularseg.realdata.silver import TeacherEye, silver_label_map
from ocularseg.realdata.silver_image import refine_silver_labels

SHAPE = (320, 480)
CENTRE = (240.0, 160.0)
HALF_WIDTH = 170.0
IRIS_R = 55.0
PUPIL_R = 20.0


def _eye() -> TeacherEye:
    """Inner corner on the crop's right (a right eye): upper lid runs outer → inner."""
    cx, cy = CENTRE
    s = np.linspace(-1, 1, 9)
    upper = np.stack([cx + HALF_WIDTH * s, cy - 75 * (1 - s**2)], axis=1)
    lower = np.stack([cx - HALF_WIDTH * s, cy + 60 * (1 - s**2)], axis=1)
    return TeacherEye(upper, lower, np.array(CENTRE), IRIS_R)


def _drawn_crop(*, iris_rgb=(95, 120, 90), pupil_rgb=(12, 12, 12), caruncle=True) -> np.ndarray:
    eye = _eye()
    rows, cols = np.indices(SHAPE)
    image = np.empty((*SHAPE, 3), np.uint8)
    image[:] = (190, 140, 115)  # skin
    opening = silver_label_map(eye, SHAPE) != 0
    image[opening] = (235, 232, 228)  # sclera
    r = np.hypot(cols - CENTRE[0], rows - CENTRE[1])
    image[opening & (r <= IRIS_R)] = iris_rgb
    image[opening & (r <= PUPIL_R)] = pupil_rgb
    if caruncle:
        inner = eye.corners[1]
        blob = np.hypot((cols - (inner[0] - 22)) / 22, (rows - inner[1]) / 14) <= 1
        image[opening & blob] = (215, 110, 120)
    return image


def test_a_clear_pupil_is_labelled_inside_its_edge_and_iris_outside() -> None:
    eye = _eye()
    first = silver_label_map(eye, SHAPE)
    result = refine_silver_labels(_drawn_crop(), eye, first)
    assert result.pupil.found and abs(result.pupil.radius_px - PUPIL_R) <= 0.05 * IRIS_R
    rows, cols = np.indices(SHAPE)
    r = np.hypot(cols - CENTRE[0], rows - CENTRE[1])
    pupil = result.labels == Label.PUPIL
    assert pupil.any() and r[pupil].max() <= PUPIL_R
    iris = result.labels == Label.IRIS
    assert r[iris].min() >= PUPIL_R
    # The band around the edge stays "iris or pupil": no guess on the blurred edge.
    assert (result.labels[(r > PUPIL_R - 2) & (r < PUPIL_R + 2)] == PartialLabel.IRIS_DISC).all()
    # Nothing outside the first teacher's disc changes class union.
    assert not ((pupil | iris) & (first != PartialLabel.IRIS_DISC)).any()


def test_a_dark_iris_gets_pupil_unknown_not_a_guess() -> None:
    eye = _eye()
    first = silver_label_map(eye, SHAPE)
    dark = _drawn_crop(iris_rgb=(22, 16, 14), pupil_rgb=(12, 10, 10))
    result = refine_silver_labels(dark, eye, first)
    assert not result.pupil.found and result.pupil.reason == "low_contrast"
    assert not (result.labels == Label.PUPIL).any()
    # Only the outer ring of the disc, beyond any human pupil, is called iris.
    rows, cols = np.indices(SHAPE)
    r = np.hypot(cols - CENTRE[0], rows - CENTRE[1])
    assert r[result.labels == Label.IRIS].min() >= 0.8 * IRIS_R - 1


def test_an_enlarged_small_eye_gets_no_pupil() -> None:
    eye = _eye()
    result = refine_silver_labels(
        _drawn_crop(), eye, silver_label_map(eye, SHAPE), scale_crop_per_frame=10.0
    )
    assert result.pupil.reason == "too_small"
    assert not (result.labels == Label.PUPIL).any()


def test_the_caruncle_is_labelled_at_the_inner_corner_only_and_sclera_elsewhere() -> None:
    eye = _eye()
    result = refine_silver_labels(_drawn_crop(), eye, silver_label_map(eye, SHAPE))
    assert result.caruncle.found
    caruncle = result.labels == Label.CARUNCLE
    inner, outer = eye.corners[1], eye.corners[0]
    width = eye.corner_distance
    rows, cols = np.indices(SHAPE)
    t = ((cols - inner[0]) * (outer[0] - inner[0]) + (rows - inner[1]) * (outer[1] - inner[1])) / (
        width**2
    )
    assert t[caruncle].max() <= 0.15 + 1e-6
    # The drawn caruncle (44 px long) is mostly found.
    assert caruncle.sum() >= 0.6 * np.pi * 22 * 14 * 0.8
    sclera = result.labels == Label.SCLERA
    # The outer corner and the lids far from the inner corner are sclera, never caruncle.
    assert sclera[(t > 0.8) & (result.labels != 0)].any()
    assert not caruncle[t > 0.25].any()


def test_without_a_pink_caruncle_nothing_is_called_caruncle() -> None:
    eye = _eye()
    result = refine_silver_labels(_drawn_crop(caruncle=False), eye, silver_label_map(eye, SHAPE))
    assert not result.caruncle.found
    assert not (result.labels == Label.CARUNCLE).any()
    # The medial zone stays "sclera or caruncle"; the rest of the opening is sclera.
    assert (result.labels == PartialLabel.OPENING_NOT_DISC).any()
    assert (result.labels == Label.SCLERA).any()


def _teacher_meta(eye: TeacherEye, side: str) -> dict:
    return {
        "side": side,
        "scale_crop_per_frame": 2.0,
        "teacher": {
            "upper_lid_crop_px": eye.upper_lid.tolist(),
            "lower_lid_crop_px": eye.lower_lid.tolist(),
            "iris_centre_crop_px": eye.iris_centre.tolist(),
            "iris_radius_crop_px": eye.iris_radius,
        },
    }


def test_relabel_keeps_people_and_split_and_honours_the_hand_exclusions(tmp_path: Path) -> None:
    eye = _eye()
    first = silver_label_map(eye, SHAPE)
    real = tmp_path / "real"
    with DatasetWriter(real) as writer:
        for name, subject in (("a_right", "p1"), ("b_right", "p2")):
            writer.add(name, _drawn_crop(), first, subject=subject, group="drawn", partial=True)
            writer.write_json(f"meta/{name}.json", _teacher_meta(eye, "right"))
        writer.rows[:] = [
            r.__class__(r.image, r.mask, r.subject, r.group, s)
            for r, s in zip(writer.rows, ("train", "test"), strict=True)
        ]
        writer.commit()
    excluded = tmp_path / "excluded.yaml"
    excluded.write_text("b_right: drawn wrong on purpose\n")
    out = tmp_path / "relabelled"
    report = relabel_real_set(real, out, excluded_yaml=excluded)
    assert report.pupil["found"] == 1 and report.excluded_by_hand == 1
    rows = {r.stem: r for r in read_manifest(out)}
    assert {k: (r.subject, r.split) for k, r in rows.items()} == {
        "a_right": ("p1", "train"),
        "b_right": ("p2", "test"),
    }
    relabelled = read_image_unchanged(out / rows["a_right"].mask)
    assert (relabelled == Label.PUPIL).any() and (relabelled == Label.CARUNCLE).any()
    assert np.array_equal(read_image_unchanged(out / rows["b_right"].mask), first)
    meta = json.loads((out / rows["a_right"].meta).read_text())
    assert meta["silver_image"]["pupil"]["found"] and meta["teacher"]
    excluded_meta = json.loads((out / rows["b_right"].meta).read_text())
    assert excluded_meta["silver_image"]["excluded_by_hand"] == "drawn wrong on purpose"
    assert (out / "contact_silver" / "page_001.png").is_file()
    assert json.loads((out / "silver_report.json").read_text())["excluded_by_hand"] == 1
