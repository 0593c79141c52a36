"""Corneal light reflex: found where drawn, absent when not, off-centre flagged, and the
reflex-based MRD1 against exact phantom truth."""

from __future__ import annotations

import math

import numpy as np
import pytest
from synthetic_eyes import draw_eye

from ocularseg.core.errors import InputError
from ocularseg.core.labels import Label
from ocularseg.stages.measure import measure_eye_crop
from ocularseg.stages.reflex import (
    FLAG_REFLEX_ABSENT,
    FLAG_REFLEX_OFF_CENTRE,
    ReflexParams,
    find_reflex,
)

IRIS = (240.0, 160.0, 60.0)
#: RGB per label: skin, sclera, brown iris, pupil, caruncle.
COLOURS = np.array(
    [[170, 120, 100], [225, 220, 215], [95, 60, 35], [15, 12, 12], [200, 120, 120]], np.float64
)


def eye_image(labels: np.ndarray, dots=(), lines=(), seed: int = 0) -> np.ndarray:
    """An RGB crop coloured by label, with texture noise, bright dots and bright lines.

    ``dots``: (x, y, radius) Gaussian highlights (sub-pixel centres); ``lines``: rows of a
    thin bright horizontal streak (x0, x1, y).
    """
    rng = np.random.default_rng(seed)
    image = COLOURS[labels] + rng.normal(0.0, 6.0, (*labels.shape, 3))
    yy, xx = np.mgrid[0 : labels.shape[0], 0 : labels.shape[1]].astype(np.float64)
    for x, y, radius in dots:
        spot = np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * radius**2))
        image += spot[..., None] * (255.0 - image)
    for x0, x1, y in lines:
        image[int(y), int(x0) : int(x1)] = 250.0
    return np.clip(image, 0, 255).astype(np.uint8)


# (dot centre and radius in crop px) -> the reflex is found within 0.4 px of it (a
# tenth of a millimetre at a typical 0.1 mm per crop px).
DOT_CASES = [
    pytest.param((240.0, 160.0, 2.0), id="on-pupil-centre"),
    pytest.param((251.3, 148.6, 1.5), id="sub-pixel-off-centre"),
    pytest.param((226.7, 171.2, 3.0), id="larger-below-left"),
    pytest.param((262.0, 150.0, 2.0), id="over-the-iris"),
]


@pytest.mark.parametrize("dot", DOT_CASES)
def test_a_drawn_reflex_is_found_where_it_is(dot):
    labels = draw_eye(iris=IRIS)
    result = find_reflex(eye_image(labels, dots=[dot]), labels, IRIS[:2], IRIS[2])
    assert result.found
    assert math.hypot(result.x_px - dot[0], result.y_px - dot[1]) < 0.4
    assert result.offset_r == pytest.approx(math.hypot(dot[0] - 240, dot[1] - 160) / 60, abs=0.01)
    assert result.flags(ReflexParams()) == ()


def test_no_reflex_is_reported_absent():
    labels = draw_eye(iris=IRIS)
    result = find_reflex(eye_image(labels), labels, IRIS[:2], IRIS[2])
    assert not result.found
    assert result.reason == "no_candidate"
    assert result.flags(ReflexParams()) == (FLAG_REFLEX_ABSENT,)


def test_no_iris_circle_means_no_search():
    labels = draw_eye(iris=IRIS)
    result = find_reflex(eye_image(labels, dots=[(240, 160, 2)]), labels, None, math.nan)
    assert not result.found and result.reason == "no_iris"


def test_reflex_far_from_the_iris_centre_is_flagged():
    labels = draw_eye(iris=IRIS)
    dot = (240.0 + 0.7 * 60.0, 160.0, 2.0)  # 0.7 iris radii out: the light was not coaxial
    result = find_reflex(eye_image(labels, dots=[dot]), labels, IRIS[:2], IRIS[2])
    assert result.found
    assert result.flags(ReflexParams()) == (FLAG_REFLEX_OFF_CENTRE,)


def test_the_central_reflex_wins_over_a_second_one_and_a_lid_streak():
    labels = draw_eye(iris=IRIS)
    central = (243.0, 157.0, 2.0)
    side = (240.0 + 0.6 * 60.0, 175.0, 2.0)
    # a wet lower-lid highlight along the edge of the opening, inside the iris circle
    bottom = int(np.flatnonzero(labels[:, 240] != Label.BACKGROUND)[-1])
    image = eye_image(labels, dots=[central, side], lines=[(200, 280, bottom)])
    result = find_reflex(image, labels, IRIS[:2], IRIS[2])
    assert math.hypot(result.x_px - central[0], result.y_px - central[1]) < 0.3


def test_a_bright_line_alone_is_not_a_reflex():
    labels = draw_eye(iris=IRIS)
    image = eye_image(labels, lines=[(215, 265, 140)])  # a thin streak across the iris
    assert not find_reflex(image, labels, IRIS[:2], IRIS[2]).found


def test_image_must_match_the_label_map():
    labels = draw_eye(iris=IRIS)
    with pytest.raises(InputError, match="RGB uint8 image of 480×320"):
        find_reflex(np.zeros((320, 480), np.uint8), labels, IRIS[:2], IRIS[2])


def test_measurement_gives_mrd1_from_the_reflex():
    # A straight upper lid at y = 110.5 (pixel centres above it are skin): the margin is on
    # the pixel edge y = 110.5; the reflex 6 px above the iris centre and 5 px to the right.
    labels = draw_eye(iris=IRIS, upper_lid_y_px=110.6)
    dot = (245.0, 154.0, 2.0)
    measurement = measure_eye_crop(labels, "right", image=eye_image(labels, dots=[dot]))
    values = measurement.values
    assert values["reflex_x_px"] == pytest.approx(245.0, abs=0.25)
    assert values["mrd1_reflex_px"] == pytest.approx(154.0 - 110.5, abs=0.3)
    assert values["mrd1_px"] - values["mrd1_reflex_px"] == pytest.approx(6.0, abs=0.3)
    assert values["mrd1_reflex_mm"] == pytest.approx(
        values["mrd1_reflex_px"] * values["mm_per_crop_px"]
    )
    assert FLAG_REFLEX_ABSENT not in measurement.flags


def test_measurement_without_a_reflex_flags_it_and_leaves_the_columns_empty():
    labels = draw_eye(iris=IRIS)
    measurement = measure_eye_crop(labels, "left", image=eye_image(labels))
    assert FLAG_REFLEX_ABSENT in measurement.flags
    assert math.isnan(measurement.values["mrd1_reflex_mm"])
    assert math.isfinite(measurement.values["mrd1_mm"])  # the iris-centre value stands


def test_phantom_reflexes_at_known_positions():
    """Rendered phantoms place the reflex at a known point: found within 1 px in most of
    them, and MRD1 from the reflex on the exact mask within 0.6 px of the truth."""
    from ocularseg.synth.dataset import sample_params
    from ocularseg.synth.render import render_eye

    found, close, mrd1_errors = 0, 0, []
    visible = 0
    for index in range(40):
        rendered = render_eye(sample_params(index, seed=11, n_subjects=8))
        truth = rendered.truth
        if not truth["reflex_visible"]:
            continue
        visible += 1
        measurement = measure_eye_crop(rendered.labels, "right", image=rendered.image)
        values = measurement.values
        if not math.isfinite(values["reflex_x_px"]):
            continue
        found += 1
        rx, ry = truth["reflex_center_px"]
        if math.hypot(values["reflex_x_px"] - rx, values["reflex_y_px"] - ry) < 1.0:
            close += 1
            if truth["mrd1_reflex_px"] is not None:
                mrd1_errors.append(values["mrd1_reflex_px"] - truth["mrd1_reflex_px"])
    assert visible >= 25
    assert found >= 0.85 * visible
    assert close >= 0.8 * visible
    assert np.median(np.abs(mrd1_errors)) < 0.6
