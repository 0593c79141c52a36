"""Iris-circle fit: limbus points, Kåsa start, robust refinement, failure reasons."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError
from synthetic_eyes import draw_eye

from ocularseg.core.errors import InputError
from ocularseg.core.labels import Label
from ocularseg.stages.iris_circle import (
    IrisFitParams,
    fit_circle_kasa,
    fit_circle_robust,
    fit_iris_circle,
    fit_iris_circle_detailed,
    limbus_points,
)

# Tiny hand-computed cases: points on a known circle -> (cx, cy, r).
KASA_CASES = [
    pytest.param([(1, 0), (0, 1), (-1, 0), (0, -1)], (0.0, 0.0, 1.0), id="unit-circle"),
    pytest.param([(15, 10), (10, 15), (5, 10)], (10.0, 10.0, 5.0), id="three-points"),
    pytest.param([(103, 204), (100, 205), (97, 204), (95, 200)], (100.0, 200.0, 5.0), id="arc"),
]

# 3×4 limbus by hand: D at (row 1, cols 1-2); sclera left/right of it and above col 1;
# background below. Edge midpoints (x, y): left (0.5, 1), right (2.5, 1), top (1, 0.5).
LIMBUS_CASE = np.array(
    [
        [0, 1, 0, 0],
        [1, 2, 3, 1],
        [0, 0, 0, 0],
    ],
    dtype=np.uint8,
)
LIMBUS_EXPECTED = {(0.5, 1.0), (2.5, 1.0), (1.0, 0.5)}

# Synthetic eyes (label maps drawn analytically) whose limbus is a circle (cx, cy, r);
# centres are off the pixel grid so no boundary falls exactly on a pixel centre.
DISC_CASES = [
    pytest.param({}, (240.0, 160.0, 60.0), id="full-disc"),
    pytest.param({"iris": (238.3, 161.7, 45.2)}, (238.3, 161.7, 45.2), id="full-disc-offgrid"),
    pytest.param(
        {"iris": (240.4, 160.3, 60.0), "upper_lid_y_px": 130.2},
        (240.4, 160.3, 60.0),
        id="lid-cuts-iris-top",
    ),
    pytest.param(
        {"iris": (240.4, 160.3, 60.0), "upper_lid_y_px": 175.6},
        (240.4, 160.3, 60.0),
        id="lid-below-centre",
    ),
    pytest.param({"iris": (400.3, 160.2, 60.0)}, (400.3, 160.2, 60.0), id="side-gaze"),
    pytest.param(
        {"iris": (420.3, 160.2, 60.0), "upper_lid_y_px": 125.3},
        (420.3, 160.2, 60.0),
        id="side-gaze-and-lid",
    ),
]


def _all_disc_boundary_points(labels: np.ndarray) -> np.ndarray:
    """Edge midpoints between D and ANY other class: what a naive fit would use."""
    disc = np.isin(labels, (Label.IRIS, Label.PUPIL))
    other = ~disc
    rows_h, cols_h = np.nonzero((disc[:, :-1] & other[:, 1:]) | (other[:, :-1] & disc[:, 1:]))
    rows_v, cols_v = np.nonzero((disc[:-1] & other[1:]) | (other[:-1] & disc[1:]))
    return np.column_stack([np.r_[cols_h + 0.5, cols_v], np.r_[rows_h, rows_v + 0.5]])


@pytest.mark.parametrize(("points", "expected"), KASA_CASES)
def test_kasa_fit_passes_through_exact_points(points, expected) -> None:
    assert fit_circle_kasa(np.array(points, dtype=float)) == pytest.approx(expected, abs=1e-9)


def test_kasa_fit_rejects_collinear_and_too_few_points() -> None:
    assert fit_circle_kasa(np.array([(0, 0), (1, 1), (2, 2), (3, 3)], dtype=float)) is None
    assert fit_circle_kasa(np.array([(0, 0), (1, 1)], dtype=float)) is None


def test_limbus_points_are_edge_midpoints_with_sclera_only() -> None:
    points = {tuple(p) for p in limbus_points(LIMBUS_CASE).tolist()}
    assert points == LIMBUS_EXPECTED


@pytest.mark.parametrize(("drawing", "truth"), DISC_CASES)
def test_fit_recovers_centre_and_radius_within_half_px(drawing, truth) -> None:
    circle = fit_iris_circle(draw_eye(**drawing))
    assert circle is not None
    cx, cy, r = truth
    assert abs(circle.cx_px - cx) < 0.5
    assert abs(circle.cy_px - cy) < 0.5
    assert abs(circle.radius_px - r) < 0.5


def test_full_disc_radius_is_unbiased() -> None:
    # Sub-pixel edge midpoints: a full disc's radius comes out within 0.05 px, where a
    # fit to the D pixel centres would read about 0.5 px small.
    circle = fit_iris_circle(draw_eye(iris=(240.3, 160.6, 50.0)))
    assert circle is not None
    assert circle.radius_px == pytest.approx(50.0, abs=0.05)


def test_fit_ignores_the_lid_border() -> None:
    labels = draw_eye(iris=(240.4, 160.3, 60.0), upper_lid_y_px=130.2)
    lenient = IrisFitParams(min_inlier_fraction=0.0, max_rms_residual_px=100.0)
    naive = fit_circle_robust(_all_disc_boundary_points(labels), lenient).circle
    ours = fit_iris_circle(labels)
    assert naive is not None and ours is not None
    # Including the lid chord drags a naive fit down and shrinks it by pixels ...
    assert naive.cy_px - 160.3 > 2.0
    assert 60.0 - naive.radius_px > 2.0
    # ... while the limbus-only fit is unaffected and never uses a point on the lid.
    assert abs(ours.cy_px - 160.3) < 0.5 and abs(ours.radius_px - 60.0) < 0.5
    # The lid/iris edge lies at y = 130.5 (between rows 130 and 131); the highest limbus
    # points are the iris/sclera edges in row 131, the first open row.
    assert limbus_points(labels)[:, 1].min() == pytest.approx(131.0)


def test_fit_reports_arc_span_and_residual() -> None:
    circle = fit_iris_circle(draw_eye(iris=(240.4, 160.3, 60.0), upper_lid_y_px=130.2))
    assert circle is not None
    # Lid 30.1 px above the centre hides 2·acos(30.1/60) ≈ 120° of the limbus.
    expected_span_deg = 360.0 - 2.0 * math.degrees(math.acos(30.1 / 60.0))
    assert circle.arc_span_deg == pytest.approx(expected_span_deg, abs=3.0)
    assert circle.rms_residual_px < 0.4  # digitisation noise only
    assert circle.n_inliers == circle.n_points


def test_stray_iris_blob_is_ignored() -> None:
    labels = draw_eye(iris=(240.4, 160.3, 50.0))
    labels[150:156, 80:86] = Label.IRIS  # a misclassified patch of sclera
    circle = fit_iris_circle(labels)
    assert circle is not None
    assert abs(circle.cx_px - 240.4) < 0.5 and abs(circle.radius_px - 50.0) < 0.5


def test_robust_loss_tolerates_a_notch_in_the_limbus() -> None:
    labels = draw_eye(iris=(240.4, 160.3, 50.0))
    labels[195:201, 236:246] = Label.SCLERA  # a reflection cut into the lower limbus
    circle = fit_iris_circle(labels)
    assert circle is not None
    assert abs(circle.cy_px - 160.3) < 0.5 and abs(circle.radius_px - 50.0) < 0.5


def test_extreme_side_gaze_gives_none_with_arc_too_short() -> None:
    fit = fit_iris_circle_detailed(draw_eye(iris=(480.3, 160.2, 60.0)))
    assert fit.circle is None
    assert fit.reason == "arc_too_short"


def test_no_iris_gives_none_with_reason() -> None:
    fit = fit_iris_circle_detailed(draw_eye(iris=None))
    assert fit == fit_iris_circle_detailed(np.zeros((32, 48), dtype=np.uint8))
    assert fit.circle is None and fit.reason == "no_iris"


def test_iris_without_sclera_border_has_too_few_points() -> None:
    labels = np.zeros((40, 40), dtype=np.uint8)
    labels[10:30, 10:30] = Label.IRIS  # iris surrounded by lid only
    fit = fit_iris_circle_detailed(labels)
    assert fit.circle is None and fit.reason == "too_few_limbus_points"


def test_radius_out_of_range() -> None:
    fit = fit_iris_circle_detailed(
        draw_eye(iris=(240.3, 160.2, 60.0)), IrisFitParams(max_radius_px=40)
    )
    assert fit.circle is None and fit.reason == "radius_out_of_range"


def test_non_circular_border_is_a_poor_fit() -> None:
    labels = draw_eye(iris=None)
    labels[100:220, 180:300] = Label.IRIS  # a square "iris"
    fit = fit_iris_circle_detailed(labels)
    assert fit.circle is None and fit.reason == "poor_fit"


def test_params_reject_misspelt_and_inconsistent_keys() -> None:
    with pytest.raises(ValidationError, match="min_arc_spam_deg"):
        IrisFitParams(min_arc_spam_deg=30)
    with pytest.raises(ValidationError, match="max_radius_px"):
        IrisFitParams(min_radius_px=50, max_radius_px=40)
    with pytest.raises(ValidationError):
        IrisFitParams().min_limbus_points = 3  # frozen


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(np.zeros((4, 4, 3), dtype=np.uint8), id="3-d"),
        pytest.param(np.zeros((4, 4), dtype=np.float32), id="float"),
        pytest.param(np.full((4, 4), 7, dtype=np.uint8), id="unknown-label"),
        pytest.param(np.zeros((0, 4), dtype=np.uint8), id="empty"),
        pytest.param([[0, 1], [1, 0]], id="list"),
    ],
)
def test_bad_label_maps_raise_input_error(bad) -> None:
    with pytest.raises(InputError):
        fit_iris_circle(bad)
