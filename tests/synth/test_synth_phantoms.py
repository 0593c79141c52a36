"""Phantom generator: anatomy of the masks, exactness of the truth, determinism, variety."""

from __future__ import annotations

import dataclasses
import json
import math

import cv2
import numpy as np
import pytest

from ocularseg.core.errors import ConfigError
from ocularseg.core.labels import Label
from ocularseg.synth.dataset import sample_params, write_dataset

# The renderer's degradations and lighting switched off, as the phantom videos render eyes.
from ocularseg.synth.frames import _NEUTRAL_PHOTOMETRY as NEUTRAL
from ocularseg.synth.params import (
    BLINK_PROBABILITY,
    EyeParams,
    sample_eye_params,
    subject_traits,
)
from ocularseg.synth.render import RenderedEye, render_eye

BG, SCLERA, IRIS, PUPIL, CARUNCLE = (int(v) for v in Label)

#: Forced combinations on top of sampled people: (side, gaze_x, gaze_y, lid_open, roll).
CASES = [
    (side, gx, gy, lid, roll)
    for side in ("right", "left")
    for gx, gy in ((0.0, 0.0), (1.0, 0.0), (-1.0, 0.0), (0.0, -1.0), (0.0, 1.0))
    for lid, roll in ((1.0, 0.0), (0.7, 12.0), (0.45, -15.0), (0.2, 5.0), (0.12, 15.0))
]
# 2 sides × 5 gazes × 5 lid/roll settings -> 50; plus 10 unmodified samples below.


def _phantoms() -> list[tuple[EyeParams, RenderedEye]]:
    out = []
    for i, (side, gx, gy, lid, roll) in enumerate(CASES):
        base = sample_params(i, seed=11, n_subjects=17)
        params = dataclasses.replace(
            base, side=side, gaze_x=gx, gaze_y=gy, upper_lid_open=lid, roll_deg=roll
        )
        out.append((params, render_eye(params)))
    for i in range(10):
        params = sample_params(100 + i, seed=5, n_subjects=10)
        out.append((params, render_eye(params)))
    return out


@pytest.fixture(scope="module")
def phantoms() -> list[tuple[EyeParams, RenderedEye]]:
    return _phantoms()


def _lid_polygon(truth: dict, shape: tuple[int, int], grow_px: int = 1) -> np.ndarray:
    poly = np.array(truth["upper_lid_px"] + truth["lower_lid_px"][::-1], np.float64)
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.rint(poly * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
    kernel = np.ones((2 * abs(grow_px) + 1, 2 * abs(grow_px) + 1), np.uint8)
    op = cv2.dilate if grow_px >= 0 else cv2.erode
    return op(mask, kernel).astype(bool)


@pytest.mark.slow
def test_image_and_mask_shapes_and_values(phantoms):
    for _, eye in phantoms:
        assert eye.image.shape == (320, 480, 3) and eye.image.dtype == np.uint8
        assert eye.labels.shape == (320, 480) and eye.labels.dtype == np.uint8
        assert set(np.unique(eye.labels)) <= {BG, SCLERA, IRIS, PUPIL, CARUNCLE}


def test_pupil_never_touches_sclera_or_caruncle(phantoms):
    for params, eye in phantoms:
        lab = eye.labels
        pupil = lab == PUPIL
        for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
            neighbour = np.roll(lab, (dy, dx), axis=(0, 1))
            bad = pupil & np.isin(neighbour, (SCLERA, CARUNCLE))
            assert not bad.any(), f"pupil touches sclera/caruncle in {params}"


def test_iris_encloses_pupil_along_rows_except_where_the_lid_cuts(phantoms):
    for params, eye in phantoms:
        lab = eye.labels
        # Well inside the lids (1 px in from the polygon through the truth lid curves).
        inside_lids = _lid_polygon(eye.truth, lab.shape, grow_px=-1)
        for y in np.flatnonzero((lab == PUPIL).any(axis=1)):
            row = lab[y]
            xs = np.flatnonzero(row == PUPIL)
            for x_end in (xs.min() - 1, xs.max() + 1):
                value = row[x_end]
                assert value in (IRIS, BG), f"row {y}: pupil next to {value} ({params.side})"
                if value == BG:  # only where a lid crosses the pupil
                    assert not inside_lids[y, x_end], f"row {y}: pupil next to skin inside lids"


def test_caruncle_is_medial_and_at_the_medial_canthus(phantoms):
    for params, eye in phantoms:
        ys, xs = np.nonzero(eye.labels == CARUNCLE)
        if xs.size == 0:
            continue
        cx = eye.truth["iris_center_px"][0]
        if params.side == "right":  # the right eye's nose side is the crop's right
            assert xs.min() > cx
        else:
            assert xs.max() < cx
        mx, my = eye.truth["medial_canthus_px"]
        lx, ly = eye.truth["lateral_canthus_px"]
        eye_w = math.hypot(mx - lx, my - ly)
        dist = np.hypot(xs - mx, ys - my)
        assert dist.max() <= 0.2 * eye_w + 2


def test_no_label_outside_the_lid_opening(phantoms):
    for _, eye in phantoms:
        inside = _lid_polygon(eye.truth, eye.labels.shape, grow_px=1)
        assert not ((eye.labels > 0) & ~inside).any()


def test_truth_matches_the_mask(phantoms):
    checked = 0
    for params, eye in phantoms:
        t, lab = eye.truth, eye.labels
        counts = np.bincount(lab.ravel(), minlength=5)
        assert [t["area_background_px"], t["area_sclera_px"], t["area_iris_px"]] == list(counts[:3])
        assert [t["area_pupil_px"], t["area_caruncle_px"]] == list(counts[3:])
        cx, cy = t["iris_center_px"]
        r = t["iris_radius_px"]
        assert t["centre_column_px"] == round(cx)
        column = lab[:, t["centre_column_px"]]
        rows = np.flatnonzero(column > 0)
        if t["mrd1_px"] is None:
            assert rows.size == 0
            continue
        first, last = rows.min(), rows.max()
        assert abs((cy - first) - t["mrd1_px"]) < 1.0, params
        assert abs((last - cy) - t["mrd2_px"]) < 1.0, params
        assert abs(rows.size - t["fissure_height_px"]) < 1.0, params
        d_rows = np.flatnonzero(np.isin(column, (IRIS, PUPIL)))
        if t["superior_scleral_show_px"] is not None and d_rows.size:
            assert abs(max(0, d_rows.min() - first) - t["superior_scleral_show_px"]) < 1.0
        vif_mask = (counts[IRIS] + counts[PUPIL]) / (math.pi * r * r)
        assert abs(vif_mask - t["visible_iris_fraction"]) < 0.02, params
        checked += 1
    assert checked >= 50


def test_severe_ptosis_covers_the_pupil_and_mrd1_goes_negative(phantoms):
    ptotic = [eye for params, eye in phantoms if params.upper_lid_open <= 0.12]
    assert any(eye.truth["mrd1_px"] is not None and eye.truth["mrd1_px"] < 0 for eye in ptotic)
    assert all(eye.truth["visible_iris_fraction"] < 0.75 for eye in ptotic)
    wide = [eye for params, eye in phantoms if params.upper_lid_open == 1.0]
    assert all(eye.truth["superior_scleral_show_px"] is not None for eye in wide)


def test_every_class_present_in_open_eyes(phantoms):
    for params, eye in phantoms:
        if params.upper_lid_open >= 0.45 and params.gaze_y == 0.0:
            present = set(np.unique(eye.labels))
            assert present == {BG, SCLERA, IRIS, PUPIL, CARUNCLE}, params


def test_closed_eye_is_flagged_and_has_no_eye_pixels():
    params = dataclasses.replace(sample_params(3, seed=1, n_subjects=3), upper_lid_open=0.0)
    eye = render_eye(params)
    assert eye.truth["eye_closed"] is True
    assert eye.truth["area_iris_px"] + eye.truth["area_pupil_px"] == 0
    assert eye.truth["mrd1_px"] is None and eye.truth["fissure_height_px"] is None
    assert eye.truth["visible_iris_fraction"] == 0.0
    json.dumps(eye.truth, allow_nan=False)  # null, never NaN


def test_blinks_are_a_small_fraction():
    traits = subject_traits(0, 0)
    rng = np.random.default_rng(0)
    closed = [sample_eye_params(traits, "right", rng).upper_lid_open == 0.0 for _ in range(2000)]
    assert 0.5 * BLINK_PROBABILITY < np.mean(closed) < 2.0 * BLINK_PROBABILITY


def test_render_is_deterministic_and_labels_ignore_photometry():
    params = sample_params(7, seed=2, n_subjects=4)
    a, b = render_eye(params), render_eye(params)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.labels, b.labels)
    assert json.dumps(a.truth, sort_keys=True) == json.dumps(b.truth, sort_keys=True)
    clean = render_eye(dataclasses.replace(params, **NEUTRAL))
    assert np.array_equal(clean.labels, a.labels)
    assert not np.array_equal(clean.image, a.image)


def test_sample_does_not_depend_on_dataset_size():
    assert sample_params(5, seed=9, n_subjects=3) == sample_params(5, seed=9, n_subjects=3)
    assert sample_params(5, seed=9, n_subjects=3) != sample_params(5, seed=10, n_subjects=3)


def test_params_are_json_ready():
    params = sample_params(0, seed=0, n_subjects=1)
    data = dataclasses.asdict(params)
    loaded = json.loads(json.dumps(data, allow_nan=False))
    restored = {k: tuple(v) if isinstance(v, list) else v for k, v in loaded.items()}
    assert EyeParams(**restored) == params  # JSON round-trip is exact
    for name in (
        "side",
        "subject_id",
        "gaze_x",
        "gaze_y",
        "upper_lid_open",
        "eye_width_frac",
        "roll_deg",
        "skin_rgb",
        "blur_sigma_px",
        "noise_sigma",
        "jpeg_quality",
        "illumination_strength",
        "colour_cast_strength",
        "noise_seed",
    ):
        assert name in data


def test_side_puts_the_caruncle_on_the_nose_side():
    base = dataclasses.replace(sample_params(1, seed=4, n_subjects=2), gaze_x=0.0, roll_deg=0.0)
    for side, nose_on_right in (("right", True), ("left", False)):
        eye = render_eye(dataclasses.replace(base, side=side, upper_lid_open=0.9))
        xs = np.nonzero(eye.labels == CARUNCLE)[1]
        assert xs.size and (xs.mean() > 240) == nose_on_right


def test_skin_tones_span_the_fitzpatrick_range():
    lumas, types = [], set()
    for subject in range(30):
        traits = subject_traits(subject, 0)
        types.add(traits.fitzpatrick)
        lumas.append(float(np.dot(traits.skin_rgb, [0.299, 0.587, 0.114])))
    assert types == {1, 2, 3, 4, 5, 6}
    assert min(lumas) < 70 and max(lumas) > 190
    # and the rendered skin follows the tone (corner patch, no lighting effects)
    dark = light = None
    for subject in range(30):
        params = dataclasses.replace(sample_params(subject, seed=0, n_subjects=30), **NEUTRAL)
        if params.fitzpatrick == 6 and dark is None:
            dark = render_eye(params).image[-30:, :30].mean()
        if params.fitzpatrick == 1 and light is None:
            light = render_eye(params).image[-30:, :30].mean()
    assert dark is not None and light is not None and light - dark > 80


def test_iris_colours_vary():
    styles = {subject_traits(s, 0).iris_style for s in range(80)}
    assert {"dark_brown", "brown", "blue"} <= styles and len(styles) >= 5


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("roll_deg", 20.0),
        ("gaze_x", 1.5),
        ("eye_width_frac", 0.95),
        ("side", "up"),
        ("jpeg_quality", 101),
        ("noise_sigma", -1.0),
    ],
)
def test_bad_params_raise_config_error(field, value):
    params = dataclasses.replace(sample_params(0, seed=0, n_subjects=1), **{field: value})
    with pytest.raises(ConfigError, match=field if field != "side" else "side"):
        render_eye(params)


def test_too_small_crop_is_refused():
    with pytest.raises(ConfigError, match="minimum"):
        render_eye(sample_params(0, seed=0, n_subjects=1), width_px=48, height_px=32)


def test_dataset_bytes_are_identical_across_runs(tmp_path):
    write_dataset(tmp_path / "a", 6, seed=3, n_subjects=2)
    write_dataset(tmp_path / "b", 6, seed=3, n_subjects=2)
    files_a = sorted(
        p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file()
    )
    files_b = sorted(
        p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file()
    )
    assert files_a == files_b and len(files_a) == 1 + 3 * 6
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_balanced_profile_draws_iris_colour_independently_of_skin() -> None:
    # "standard" pairs light skin (Fitzpatrick I–II) with a dark brown iris in about 1 in
    # 15 of those people; "balanced" in 1 in 6, as for any other colour; the person is
    # otherwise the same (skin type and tone are drawn first, from the same stream).
    def dark_brown_share_in_light_skin(profile: str) -> float:
        light = [
            t for t in (subject_traits(i, 7, profile) for i in range(1500)) if t.fitzpatrick <= 2
        ]
        return sum(t.iris_style == "dark_brown" for t in light) / len(light)

    assert dark_brown_share_in_light_skin("standard") < 0.1
    assert 0.12 < dark_brown_share_in_light_skin("balanced") < 0.22
    for subject in range(20):
        standard, balanced = subject_traits(subject, 7), subject_traits(subject, 7, "balanced")
        assert standard.fitzpatrick == balanced.fitzpatrick
        assert standard.skin_rgb == balanced.skin_rgb
