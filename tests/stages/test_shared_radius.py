"""A lid-covered iris refitted with the radius of the input's fully visible irises."""

from __future__ import annotations

import math

import numpy as np
import pytest
from synthetic_eyes import draw_eye

from ocularseg.core.labels import Label
from ocularseg.stages.iris_circle import fit_iris_circle
from ocularseg.stages.shared_radius import (
    SharedRadiusParams,
    fit_centre_with_radius,
    reference_radii,
    shared_radius_frame_px,
    wants_refit,
)
from tests.report.report_cases import eye_row, make_row

CENTRE_X, CENTRE_Y, RADIUS = 240.4, 160.3, 60.0


def _covered_iris_drawn_narrow() -> np.ndarray:
    """A lid over the top of the iris, and the iris drawn as a model draws a covered one.

    The visible iris is an ellipse 2 px narrower at the sides and 1.5 px lower at the
    bottom than the true circle (about the model's error on covered irises, measured on
    phantoms): a free circle fit comes out small and low.
    """
    labels = draw_eye(iris=(CENTRE_X, CENTRE_Y, RADIUS), pupil_radius_px=20.0)
    height, width = labels.shape
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    disc = np.isin(labels, (Label.IRIS, Label.PUPIL))
    labels[disc] = Label.SCLERA
    shifted_cy = CENTRE_Y + 1.5
    ellipse = ((xx - CENTRE_X) / (RADIUS - 2.0)) ** 2 + ((yy - shifted_cy) / RADIUS) ** 2 < 1.0
    labels[ellipse & (labels == Label.SCLERA)] = Label.IRIS
    labels[yy < CENTRE_Y - 25.0] = Label.BACKGROUND  # the lid, 25 px above the centre
    return labels


def test_the_true_radius_puts_a_covered_iris_back_in_place() -> None:
    labels = _covered_iris_drawn_narrow()
    free = fit_iris_circle(labels)
    assert free is not None
    # The free fit is pulled small and low ...
    assert free.radius_px < RADIUS - 1.5 and free.cy_px - CENTRE_Y > 2.5
    shared = fit_centre_with_radius(labels, RADIUS, (free.cx_px, free.cy_px))
    assert shared is not None
    # ... the fixed radius keeps the centre within a pixel of the truth.
    assert abs(shared.cy_px - CENTRE_Y) < 1.0 and abs(shared.cx_px - CENTRE_X) < 0.5
    assert abs(shared.cy_px - CENTRE_Y) < abs(free.cy_px - CENTRE_Y) / 3
    assert shared.radius_px == RADIUS


def test_a_radius_that_does_not_fit_the_limbus_is_refused() -> None:
    labels = draw_eye(iris=(CENTRE_X, CENTRE_Y, RADIUS), upper_lid_y_px=130.2)
    assert fit_centre_with_radius(labels, RADIUS * 0.7, (CENTRE_X, CENTRE_Y)) is None
    assert fit_centre_with_radius(draw_eye(iris=None), RADIUS, (CENTRE_X, CENTRE_Y)) is None


def _row(radius, fraction, used=True, timestamp_s=0.0):
    row = make_row("x.mp4", 0, timestamp_s, "right", gates_failed="" if used else "low_quality")
    row.update(iris_radius_frame_px=radius, visible_iris_fraction=fraction)
    return eye_row(row)


def test_references_are_used_nearly_full_irises() -> None:
    params = SharedRadiusParams()
    rows = [
        _row(14.0, 0.95),
        _row(14.4, 0.90),
        _row(15.0, 0.88),
        _row(12.0, 0.60),  # covered: not a reference
        _row(20.0, 0.99, used=False),  # excluded by a gate: not a reference
        _row(math.nan, 0.99),
    ]
    times, radii = reference_radii(rows, params)
    assert sorted(radii.tolist()) == [14.0, 14.4, 15.0]
    none = reference_radii(rows[3:4], params)
    assert math.isnan(shared_radius_frame_px(0.0, none, params))


def test_the_shared_radius_follows_the_head_through_a_recording() -> None:
    # The head moves closer: every radius in frame px grows 10 % over 4 s.
    params = SharedRadiusParams(window_s=0.5)
    rows = [_row(14.0 * (1 + 0.025 * t), 0.95, timestamp_s=t) for t in np.arange(0, 4.01, 0.25)]
    references = reference_radii(rows, params)
    assert shared_radius_frame_px(0.0, references, params) == pytest.approx(14.0, rel=0.01)
    assert shared_radius_frame_px(4.0, references, params) == pytest.approx(15.4, rel=0.01)
    # Far from every reference, the median of all.
    assert shared_radius_frame_px(60.0, references, params) == pytest.approx(14.7, rel=0.01)


def test_only_covered_irises_near_the_shared_size_are_refitted() -> None:
    params = SharedRadiusParams()
    assert wants_refit(_row(13.5, 0.70), 14.4, params)
    assert not wants_refit(_row(14.4, 0.90), 14.4, params)  # a reference itself
    assert not wants_refit(_row(10.0, 0.70), 14.4, params)  # 31 % smaller: another problem
    assert not wants_refit(_row(math.nan, 0.70), 14.4, params)
    assert not wants_refit(_row(13.5, 0.70), math.nan, params)
