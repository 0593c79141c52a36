"""The whole iris from the amodal disc: drawn circles under a lid, at the crop border, and
the fall-back to the visible limbus."""

from __future__ import annotations

import math

import numpy as np
import pytest
from synthetic_eyes import draw_eye

from ocularseg.core.errors import InputError
from ocularseg.stages.amodal_iris import disc_boundary_points, fit_amodal_circle
from ocularseg.stages.measure import FLAG_IRIS_FROM_LIMBUS, MeasureParams, measure_eye_crop


def disc(cx: float, cy: float, r: float, size=(480, 320)) -> np.ndarray:
    yy, xx = np.mgrid[0 : size[1], 0 : size[0]].astype(np.float64)
    return (xx - cx) ** 2 + (yy - cy) ** 2 < r**2


# (circle) -> fitted within 0.15 px (0.015 mm at 0.1 mm per crop px), whether whole or cut
# by the crop border.
CASES = [
    pytest.param((240.3, 160.6, 60.0), id="whole-disc"),
    pytest.param((251.7, 148.2, 43.5), id="small-off-centre"),
    pytest.param((240.0, 30.0, 55.0), id="cut-by-the-crop-top"),
]


@pytest.mark.parametrize("circle", CASES)
def test_the_drawn_circle_is_recovered(circle):
    fit = fit_amodal_circle(disc(*circle))
    assert fit.circle is not None
    assert fit.circle.cx_px == pytest.approx(circle[0], abs=0.15)
    assert fit.circle.cy_px == pytest.approx(circle[1], abs=0.15)
    assert fit.circle.radius_px == pytest.approx(circle[2], abs=0.15)


def test_lid_over_the_top_third():
    # The upper lid covers the top third of a known iris (r 60 px at (240.3, 160.4)): the
    # whole disc gives the true centre and MRD1; the visible limbus alone does not see it.
    cx, cy, r = 240.3, 160.4, 60.0
    lid_y = cy - r + 2 * r / 3  # pixel centres above y = 140.4 are lid
    labels = draw_eye(iris=(cx, cy, r), upper_lid_y_px=lid_y)
    with_disc = measure_eye_crop(labels, "right", amodal_disc=disc(cx, cy, r)).values
    assert with_disc["iris_cy_px"] == pytest.approx(cy, abs=0.1)
    assert with_disc["iris_radius_px"] == pytest.approx(r, abs=0.1)
    # the margin lies on the pixel edge above the first open row (141): y = 140.5
    assert with_disc["mrd1_px"] == pytest.approx(cy - 140.5, abs=0.15)
    assert with_disc["visible_iris_fraction"] < 0.9
    assert math.isfinite(with_disc["iris_limbus_offset_r"])
    limbus_only = measure_eye_crop(labels, "right", MeasureParams(iris_source="limbus")).values
    assert math.isnan(limbus_only["iris_limbus_offset_r"])


def test_lid_over_most_of_the_iris_still_measures():
    # The lid reaches 0.75 radii below the iris centre (severe ptosis): what the visible
    # limbus shows is a short arc at the bottom; the whole disc gives centre and MRD1.
    cx, cy, r = 240.0, 170.0, 60.0
    labels = draw_eye(iris=(cx, cy, r), upper_lid_y_px=cy + 0.75 * r)
    whole = measure_eye_crop(labels, "left", amodal_disc=disc(cx, cy, r))
    assert "iris_not_found" not in whole.flags
    assert whole.values["iris_cy_px"] == pytest.approx(cy, abs=0.15)
    # first open row 216 (pixel centres below y = 215): the margin on the edge y = 215.5
    assert whole.values["mrd1_px"] == pytest.approx(cy - 215.5, abs=0.05)


def test_an_unusable_disc_falls_back_to_the_limbus_and_says_so():
    labels = draw_eye(iris=(240.0, 160.0, 60.0))
    square = np.zeros((320, 480), bool)
    square[60:260, 140:340] = True  # not a circle: the fit is poor
    measurement = measure_eye_crop(labels, "right", amodal_disc=square)
    assert FLAG_IRIS_FROM_LIMBUS in measurement.flags
    assert measurement.values["iris_cx_px"] == pytest.approx(240.0, abs=0.2)
    empty = measure_eye_crop(labels, "right", amodal_disc=np.zeros((320, 480), bool))
    assert FLAG_IRIS_FROM_LIMBUS in empty.flags


def test_bad_mask_is_refused():
    with pytest.raises(InputError, match="bool"):
        disc_boundary_points(np.zeros((320, 480), np.uint8))
