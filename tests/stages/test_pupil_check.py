"""The check of the predicted pupil: absent, off-centre or oversized pupils leave no ratio."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ocularseg.core.labels import Label
from ocularseg.stages.measure import measure_eye_crop
from ocularseg.stages.pupil_check import (
    FLAG_PUPIL_IMPLAUSIBLE,
    FLAG_PUPIL_NOT_VISIBLE,
    check_pupil,
)

SHAPE = (320, 480)
CX, CY, R = 240.0, 160.0, 50.0


def _eye(pupil_r: float | None, pupil_dx: float = 0.0) -> np.ndarray:
    """An open eye: sclera ellipse, a fully visible iris of radius R and a pupil disc."""
    rows, cols = np.indices(SHAPE)
    labels = np.zeros(SHAPE, np.uint8)
    labels[((cols - CX) / 170) ** 2 + ((rows - CY) / 75) ** 2 <= 1] = Label.SCLERA
    labels[np.hypot(cols - CX, rows - CY) <= R] = Label.IRIS
    if pupil_r is not None:
        labels[np.hypot(cols - CX - pupil_dx, rows - CY) <= pupil_r] = Label.PUPIL
    return labels


def test_a_concentric_pupil_of_human_size_is_accepted() -> None:
    check = check_pupil(_eye(18.0), (CX, CY), R)
    assert check.status == "visible" and check.flags == ()
    assert check.radius_r == pytest.approx(18.0 / R, abs=0.01)
    assert check.offset_r < 0.01


@pytest.mark.parametrize(
    ("pupil_r", "dx", "why"),
    [(18.0, 12.0, "off-centre"), (45.0, 0.0, "nearly the whole iris"), (4.0, 0.0, "a speck")],
)
def test_a_blob_that_is_not_a_pupil_is_refused(pupil_r: float, dx: float, why: str) -> None:
    check = check_pupil(_eye(pupil_r, dx), (CX, CY), R)
    assert check.status == "implausible", why
    assert check.flags == (FLAG_PUPIL_IMPLAUSIBLE,)


def test_two_pupils_are_refused() -> None:
    labels = _eye(15.0)
    rows, cols = np.indices(SHAPE)
    labels[np.hypot(cols - CX - 35, rows - CY) <= 6] = Label.PUPIL
    assert check_pupil(labels, (CX, CY), R).status == "implausible"


def test_no_pupil_pixels_means_not_visible() -> None:
    check = check_pupil(_eye(None), (CX, CY), R)
    assert check.status == "not_visible" and check.flags == (FLAG_PUPIL_NOT_VISIBLE,)
    assert math.isnan(check.radius_r)


def test_the_row_says_when_the_pupil_is_not_seen_instead_of_reporting_a_blob() -> None:
    good = measure_eye_crop(_eye(18.0), "right")
    assert good.values["pupil_iris_ratio"] == pytest.approx((18.0 / R) ** 2, rel=0.05)
    assert FLAG_PUPIL_NOT_VISIBLE not in good.flags and FLAG_PUPIL_IMPLAUSIBLE not in good.flags
    blob = measure_eye_crop(_eye(45.0), "right")
    assert math.isnan(blob.values["pupil_iris_ratio"])
    assert FLAG_PUPIL_IMPLAUSIBLE in blob.flags
    # The blob is still counted as pixels (areas are what the mask holds).
    assert blob.values["area_pupil_px"] > 0
    dark = measure_eye_crop(_eye(None), "right")
    assert math.isnan(dark.values["pupil_iris_ratio"])
    assert FLAG_PUPIL_NOT_VISIBLE in dark.flags
    # MRD1 does not depend on the pupil.
    assert dark.values["mrd1_px"] == pytest.approx(good.values["mrd1_px"])
