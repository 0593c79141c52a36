"""Measurement stage: areas, ratios, lid distances, mm / frame-px scaling, flags."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError
from synthetic_eyes import OPENING, draw_eye

from ocularseg.core.containers import EyeMeasurement
from ocularseg.core.errors import InputError, OcularsegError
from ocularseg.stages.iris_circle import IrisCircle
from ocularseg.stages.measure import (
    MEASUREMENT_COLUMNS,
    MeasureParams,
    class_areas_px,
    lid_clock_hours,
    lid_distances_px,
    measure_eye,
    measure_eye_crop,
    opening_ratios,
)

NAN = float("nan")

# Tiny hand-computed cases: label map -> areas (crop px) and ratios.
# O = sclera + iris + pupil + caruncle, D = iris + pupil.
CASES = [
    pytest.param(
        [[0, 1, 2, 3], [1, 2, 2, 4], [0, 0, 1, 1]],
        {"background": 3, "sclera": 4, "iris": 3, "pupil": 1, "caruncle": 1},
        # D = 4, O = 9
        {
            "iris_opening_ratio": 4 / 9,
            "sclera_opening_ratio": 4 / 9,
            "pupil_iris_ratio": 1 / 4,
            "caruncle_opening_ratio": 1 / 9,
        },
        id="all-classes",
    ),
    pytest.param(
        [[1, 1], [1, 4]],
        {"background": 0, "sclera": 3, "iris": 0, "pupil": 0, "caruncle": 1},
        {
            "iris_opening_ratio": 0.0,
            "sclera_opening_ratio": 3 / 4,
            "pupil_iris_ratio": NAN,  # no D
            "caruncle_opening_ratio": 1 / 4,
        },
        id="no-iris",
    ),
    pytest.param(
        [[0, 0, 0]],
        {"background": 3, "sclera": 0, "iris": 0, "pupil": 0, "caruncle": 0},
        dict.fromkeys(
            (
                "iris_opening_ratio",
                "sclera_opening_ratio",
                "pupil_iris_ratio",
                "caruncle_opening_ratio",
            ),
            NAN,
        ),
        id="closed",
    ),
]

# Tiny hand-computed lid distances: one column of a 3-wide map (the others background),
# a given circle centre -> expected crop-px values. Lid margins sit on pixel edges:
# upper = first O row - 0.5, lower = last O row + 0.5.
LID_CASES = [
    pytest.param(
        [0, 1, 2, 3, 2, 1],
        (1.2, 3.0),
        # O rows 1..5, D rows 2..4: mrd1 = 3 - 0.5, mrd2 = 5.5 - 3
        {"mrd1": 2.5, "mrd2": 2.5, "fissure_height": 5.0, "superior": 1.0, "inferior": 1.0},
        id="scleral-show-both",
    ),
    pytest.param(
        [0, 0, 2, 3, 2, 1],
        (0.6, 2.2),
        # O rows 2..5, D rows 2..4: lid on the iris, no superior show
        {"mrd1": 0.7, "mrd2": 3.3, "fissure_height": 4.0, "superior": 0.0, "inferior": 1.0},
        id="lid-on-iris",
    ),
    pytest.param(
        [0, 0, 0, 0, 2, 0],
        (1.4, 2.0),
        # O = D = row 4 only, centre above it: negative MRD1
        {"mrd1": -1.5, "mrd2": 2.5, "fissure_height": 1.0, "superior": 0.0, "inferior": 0.0},
        id="lid-below-centre",
    ),
]

# Synthetic eyes for the lid measurements: drawing kwargs and the iris (cx, cy, r).
EYE_CASES = [
    pytest.param({"iris": (240.3, 160.4, 60.0)}, id="open"),
    pytest.param({"iris": (240.3, 160.4, 60.0), "upper_lid_y_px": 130.2}, id="lid-on-iris"),
    pytest.param({"iris": (240.3, 160.4, 60.0), "upper_lid_y_px": 175.6}, id="lid-below-centre"),
    pytest.param({"iris": (400.3, 160.2, 60.0)}, id="side-gaze"),
    pytest.param({"iris": (228.6, 171.3, 42.0), "upper_lid_y_px": 150.7}, id="small-iris-low"),
]


def _analytic_margins(drawing: dict) -> tuple[float, float]:
    """Upper and lower lid y (crop px) in the column through the true iris centre."""
    ecx, ecy, ax, ay = OPENING
    column = math.floor(drawing["iris"][0] + 0.5)
    half_height = ay * math.sqrt(1.0 - ((column - ecx) / ax) ** 2)
    upper = ecy - half_height
    if drawing.get("upper_lid_y_px") is not None:
        upper = max(upper, drawing["upper_lid_y_px"])
    return upper, ecy + half_height


def _visible_fraction(cy: float, r: float, lid_y: float) -> float:
    """Fraction of a disc below the horizontal line y = lid_y (circular segment)."""
    h = cy - lid_y  # lid height above the centre
    covered = r**2 * math.acos(h / r) - h * math.sqrt(r**2 - h**2)
    return 1.0 - covered / (math.pi * r**2)


@pytest.mark.parametrize(("rows", "areas", "ratios"), CASES)
def test_class_areas_and_ratios_by_hand(rows, areas, ratios) -> None:
    labels = np.array(rows, dtype=np.uint8)
    got_areas = class_areas_px(labels)
    assert got_areas == {f"area_{name}_px": n for name, n in areas.items()}
    got_ratios = opening_ratios(got_areas)
    assert got_ratios.keys() == ratios.keys()
    for name, expected in ratios.items():
        assert got_ratios[name] == pytest.approx(expected, nan_ok=True), name


@pytest.mark.parametrize(("column", "centre", "expected"), LID_CASES)
def test_lid_distances_by_hand(column, centre, expected) -> None:
    labels = np.zeros((len(column), 3), dtype=np.uint8)
    labels[:, 1] = column
    circle = IrisCircle(centre[0], centre[1], 2.0, 20, 20, 0.1, 180.0)
    got = lid_distances_px(labels, circle)
    assert got["mrd1_px"] == pytest.approx(expected["mrd1"])
    assert got["mrd2_px"] == pytest.approx(expected["mrd2"])
    assert got["fissure_height_px"] == pytest.approx(expected["fissure_height"])
    assert got["superior_scleral_show_px"] == pytest.approx(expected["superior"])
    assert got["inferior_scleral_show_px"] == pytest.approx(expected["inferior"])


def test_lid_distances_are_nan_when_centre_column_is_outside_the_crop() -> None:
    labels = np.ones((4, 3), dtype=np.uint8)
    got = lid_distances_px(labels, IrisCircle(3.6, 1.0, 2.0, 20, 20, 0.1, 180.0))
    assert all(math.isnan(v) for v in got.values())


@pytest.mark.parametrize("drawing", EYE_CASES)
def test_mrd_and_fissure_within_one_px_of_analytic(drawing) -> None:
    values = measure_eye(draw_eye(**drawing))
    cy = drawing["iris"][1]
    upper, lower = _analytic_margins(drawing)
    assert values["mrd1_px"] == pytest.approx(cy - upper, abs=1.0)
    assert values["mrd2_px"] == pytest.approx(lower - cy, abs=1.0)
    assert values["fissure_height_px"] == pytest.approx(lower - upper, abs=1.0)
    assert values["fissure_height_px"] == pytest.approx(values["mrd1_px"] + values["mrd2_px"])


def test_mrd1_is_negative_when_the_lid_is_below_the_centre() -> None:
    values = measure_eye(draw_eye(iris=(240.3, 160.4, 60.0), upper_lid_y_px=175.6))
    assert values["mrd1_px"] == pytest.approx(-15.2, abs=1.0)
    assert values["mrd1_mm"] < 0


def test_superior_scleral_show() -> None:
    open_eye = measure_eye(draw_eye(iris=(240.3, 160.4, 60.0)))
    # Top of D at 160.4 - 60 = 100.4, top of O at 69.95.
    assert open_eye["superior_scleral_show_px"] == pytest.approx(100.4 - 69.95, abs=1.0)
    lidded = measure_eye(draw_eye(iris=(240.3, 160.4, 60.0), upper_lid_y_px=130.2))
    assert lidded["superior_scleral_show_px"] == 0.0


def test_visible_iris_fraction_is_one_for_a_full_disc() -> None:
    values = measure_eye(draw_eye(iris=(240.3, 160.4, 60.0)))
    assert values["visible_iris_fraction"] == pytest.approx(1.0, abs=0.02)


@pytest.mark.parametrize("lid_y", [130.2, 160.9, 175.6])
def test_visible_iris_fraction_matches_the_covered_segment(lid_y) -> None:
    values = measure_eye(draw_eye(iris=(240.3, 160.4, 60.0), upper_lid_y_px=lid_y))
    expected = _visible_fraction(160.4, 60.0, lid_y)
    assert values["visible_iris_fraction"] == pytest.approx(expected, abs=0.02)


@pytest.mark.parametrize(
    ("lid_y", "expected_hours"),
    [
        pytest.param(None, 0.0, id="open"),
        pytest.param(130.2, 12.0 * math.acos(30.2 / 60.0) / math.pi, id="lid-10-to-2"),
        pytest.param(175.6, 12.0 * math.acos(-15.2 / 60.0) / math.pi, id="below-centre"),
    ],
)
def test_lid_clock_hours(lid_y, expected_hours) -> None:
    labels = draw_eye(iris=(240.3, 160.4, 60.0), upper_lid_y_px=lid_y)
    values = measure_eye(labels)
    assert values["lid_clock_hours"] == pytest.approx(expected_hours, abs=0.1)
    circle = IrisCircle(240.3, 160.4, 60.0, 0, 0, 0.0, 0.0)
    assert lid_clock_hours(labels, circle) == pytest.approx(expected_hours, abs=0.1)


def test_mm_conversion_uses_the_iris_ruler() -> None:
    labels = draw_eye(iris=(240.3, 160.4, 60.0), upper_lid_y_px=130.2)
    values = measure_eye(labels)
    mm_per_px = 11.7 / (2.0 * values["iris_radius_px"])
    assert values["mm_per_crop_px"] == pytest.approx(mm_per_px)
    assert values["iris_diameter_mm"] == 11.7
    for name in ("mrd1", "mrd2", "fissure_height", "opening_height_max"):
        assert values[f"{name}_mm"] == pytest.approx(values[f"{name}_px"] * mm_per_px)
    # 30.2 px of MRD1 on a 120 px iris = 30.2 * 11.7 / 120 mm.
    assert values["mrd1_mm"] == pytest.approx(30.2 * 11.7 / 120.0, abs=0.1)
    other = measure_eye(labels, iris_diameter_mm=11.77)
    assert other["mrd1_mm"] == pytest.approx(values["mrd1_mm"] * 11.77 / 11.7)
    assert other["iris_diameter_mm"] == 11.77


def test_frame_px_divide_lengths_by_scale_and_areas_by_its_square() -> None:
    labels = draw_eye(iris=(240.3, 160.4, 60.0), upper_lid_y_px=130.2)
    crop = measure_eye(labels)
    frame = measure_eye(labels, scale_crop_per_frame=2.0)
    assert frame["area_sclera_frame_px"] == crop["area_sclera_px"] / 4.0
    assert frame["area_opening_frame_px"] == crop["area_opening_px"] / 4.0
    assert frame["mrd1_frame_px"] == pytest.approx(crop["mrd1_px"] / 2.0)
    assert frame["iris_radius_frame_px"] == pytest.approx(crop["iris_radius_px"] / 2.0)
    assert frame["mm_per_frame_px"] == pytest.approx(2.0 * crop["mm_per_crop_px"])
    assert frame["mrd1_mm"] == pytest.approx(crop["mrd1_mm"])  # mm do not depend on scale
    assert frame["scale_crop_per_frame"] == 2.0


def test_result_always_has_every_column() -> None:
    assert len(set(MEASUREMENT_COLUMNS)) == len(MEASUREMENT_COLUMNS)
    for labels in (draw_eye(), draw_eye(iris=None), draw_eye(opening=None)):
        assert tuple(measure_eye(labels)) == MEASUREMENT_COLUMNS


def test_open_eye_has_no_flags() -> None:
    measurement = measure_eye_crop(draw_eye(iris=(240.3, 160.4, 60.0)), "left")
    assert isinstance(measurement, EyeMeasurement)
    assert measurement.side == "left"
    assert measurement.flags == ()
    # Everything is defined but the corneal-reflex columns, which need the crop image, and
    # the limbus cross-check, which needs a model's amodal disc.
    reflex = {
        k
        for k in measurement.values
        if k.startswith(("reflex_", "iris_limbus_")) or "_reflex_" in k
    }
    assert reflex and all(math.isnan(measurement.values[k]) for k in reflex)
    assert all(math.isfinite(v) for k, v in measurement.values.items() if k not in reflex)


@pytest.mark.parametrize(
    "labels",
    [
        pytest.param(draw_eye(opening=(240.0, 160.25, 200.0, 3.2)), id="slit"),
        pytest.param(draw_eye(opening=None), id="shut"),
    ],
)
def test_closed_eye_gives_nans_and_flags(labels) -> None:
    measurement = measure_eye_crop(labels, "right")
    values = measurement.values
    assert measurement.flags == ("eye_closed", "iris_not_found")
    for name in ("iris_radius_px", "visible_iris_fraction", "mrd1_px", "mrd1_mm", "mm_per_crop_px"):
        assert math.isnan(values[name]), name
    assert values["opening_height_max_px"] < 10.0
    assert values["area_background_px"] + values["area_opening_px"] == labels.size


def test_closed_eye_thresholds_are_params() -> None:
    slit = draw_eye(opening=(240.0, 160.25, 200.0, 3.2))
    lenient = MeasureParams(min_opening_area_px=0, min_opening_height_px=2.0)
    assert "eye_closed" not in measure_eye_crop(slit, "right", lenient).flags


def test_missing_iris_gives_nans_and_flags() -> None:
    measurement = measure_eye_crop(draw_eye(iris=None), "right")
    values = measurement.values
    assert measurement.flags == ("iris_not_found", "iris_absent")
    assert values["iris_opening_ratio"] == 0.0
    for name in ("pupil_iris_ratio", "iris_cx_px", "visible_iris_fraction", "mrd1_px", "mrd2_mm"):
        assert math.isnan(values[name]), name
    assert values["opening_height_max_px"] > 100.0  # still measured: needs no iris


def test_short_limbus_arc_flags_the_reason() -> None:
    measurement = measure_eye_crop(draw_eye(iris=(480.3, 160.2, 60.0)), "right")
    assert measurement.flags == ("iris_not_found", "iris_arc_too_short")
    assert math.isnan(measurement.values["mrd1_px"])


def test_params_reject_misspelt_keys_and_accept_nested_dicts() -> None:
    with pytest.raises(ValidationError, match="min_opening_hieght_px"):
        MeasureParams(min_opening_hieght_px=5.0)
    with pytest.raises(ValidationError, match="min_arc_span"):
        MeasureParams.model_validate({"iris_fit": {"min_arc_span": 90}})
    params = MeasureParams.model_validate({"iris_fit": {"min_arc_span_deg": 90}})
    assert params.iris_fit.min_arc_span_deg == 90.0
    with pytest.raises(ValidationError):
        measure_eye(draw_eye(), iris_diameter_mm=-1.0)


@pytest.mark.parametrize("scale", [0.0, -1.0, NAN, math.inf])
def test_bad_scale_raises_input_error(scale) -> None:
    with pytest.raises(InputError, match="scale_crop_per_frame"):
        measure_eye(draw_eye(), scale_crop_per_frame=scale)


def test_bad_side_is_rejected() -> None:
    with pytest.raises(OcularsegError, match="side"):
        measure_eye_crop(draw_eye(), "OD")  # type: ignore[arg-type]
