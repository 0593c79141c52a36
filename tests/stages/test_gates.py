"""Quality gates and the quality signal: each gate fails on its own case and only there.

The cases of issue 10: a brow crop, a tiny face, a 44 mm MRD1, a blink, a closed eye and a
downward-gaze eye (which must pass), plus one case per remaining gate. Eyes are rendered
phantoms with exact label maps; the landmark outline is placed on their exact lids the
way dlib's six points sit.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from phantom_eyes import outline_from_truth, phantom
from pydantic import ValidationError

from ocularseg.core.errors import InputError
from ocularseg.core.labels import Label
from ocularseg.core.records import PLAIN_WORDS, Flag, Gate, ReasonCount, note_words, plain_words
from ocularseg.report.summary import summarise
from ocularseg.stages.gates import (
    GATE_NAMES,
    GateParams,
    agreement_gates,
    corner_clearance,
    frame_gates,
    gaze_offset,
)
from ocularseg.stages.measure import MEASUREMENT_COLUMNS, measure_eye, measure_eye_crop
from ocularseg.stages.quality import (
    mirror,
    mirror_agreement,
    outline_agreement,
    quality_score,
)
from tests.report.report_cases import eye_row, measurements_frame_of

#: Crop px per frame px of a face filmed at ~1 m in 1080p: the eye ~60 frame px wide.
SCALE = 4.5


def _gates(labels, outline, *, scale=SCALE, quality=math.nan, **overrides):
    values = {**measure_eye(labels, scale_crop_per_frame=scale), **overrides}
    return frame_gates(values, labels, outline, quality=quality)


@pytest.fixture(scope="module")
def open_eye():
    _, eye = phantom()
    return eye.labels, outline_from_truth(eye.truth)


# --- the cases named in the issue ------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({}, id="primary-gaze"),
        pytest.param({"gaze_y": 1.0}, id="downward-gaze"),
        pytest.param({"gaze_y": -1.0}, id="upward-gaze"),
        pytest.param({"gaze_x": 1.0}, id="side-gaze"),
        pytest.param({"gaze_x": -0.5}, id="side-gaze-lateral"),
        pytest.param({"upper_lid_open": 0.45}, id="ptotic-lid"),
    ],
)
def test_normal_eyes_pass_every_gate(changes) -> None:
    _, eye = phantom(**changes)
    outline = outline_from_truth(eye.truth)
    assert _gates(eye.labels, outline, quality=0.95) == ()
    assert outline_agreement(eye.labels, outline) > 0.95


def test_brow_crop_fails_outside_the_eye(open_eye) -> None:
    labels, outline = open_eye
    # The network "found" an eye 120 px higher, on the brow, where the landmarks are not.
    brow = np.roll(labels, -120, axis=0)
    failed = _gates(brow, outline)
    assert "opening_outside_eye" in failed
    assert outline_agreement(brow, outline) < 0.2


def test_tiny_face_fails_eye_too_small(open_eye) -> None:
    labels, outline = open_eye
    width_crop_px = outline[3, 0] - outline[0, 0]
    tiny_scale = width_crop_px / 30.0  # the eye is 30 frame px wide
    assert "eye_too_small" in _gates(labels, outline, scale=tiny_scale)
    assert "eye_too_small" not in _gates(labels, outline, scale=width_crop_px / 50.0)


def test_impossible_mrd1_and_fissure_fail_the_range_gates(open_eye) -> None:
    labels, outline = open_eye
    failed = _gates(labels, outline, mrd1_mm=44.6, fissure_height_mm=73.6)
    assert {"mrd1_out_of_range", "fissure_out_of_range"} <= set(failed)
    assert "mrd1_out_of_range" in _gates(labels, outline, mrd1_mm=-4.4)
    assert _gates(labels, outline, mrd1_mm=-3.9, fissure_height_mm=15.9) == ()


def test_closed_eye_is_excluded_and_not_assessable() -> None:
    _, eye = phantom(upper_lid_open=0.0)
    measurement = measure_eye_crop(eye.labels, "right", scale_crop_per_frame=SCALE)
    assert "eye_closed" in measurement.flags
    row = _row(0, 0.0, "right", flags=";".join(measurement.flags), **measurement.values)
    assert "eye_closed" in exclusion_reasons(row)
    summary = summarise(measurements_frame_of([row]))
    assert summary.loc[0, "indicator_mrd1_le_2mm"] == "not assessable"


def test_blink_is_excluded_from_the_median_and_its_neighbours_too() -> None:
    rows = [_row(i, i / 10, "right", mrd1_mm=4.0, mode="timeseries") for i in range(12)]
    rows[5].update(blink=True, mrd1_mm=-0.4)
    rows[6]["mrd1_mm"] = 1.5  # the lid still reopening, not caught by the EAR detector
    rows = _gate(rows, timeseries=True)
    assert exclusion_reasons(rows[5]) == ["blink"]
    assert "near_blink" in exclusion_reasons(rows[6])
    assert "near_blink" in exclusion_reasons(rows[4])
    assert exclusion_reasons(rows[8]) == []  # 0.3 s away
    summary = summarise(measurements_frame_of(rows))
    assert summary.loc[0, "mrd1_mm_median"] == pytest.approx(4.0)
    assert ReasonCount("blink", 1) in summary.loc[0, "frames_excluded_reasons"]


# --- the other gates --------------------------------------------------------------------


def test_lid_crease_labelled_as_eye_fails_lid_far_from_outline(open_eye) -> None:
    labels, outline = open_eye
    values = measure_eye(labels, scale_crop_per_frame=SCALE)
    column = math.floor(values["iris_cx_px"] + 0.5)
    top = int(np.flatnonzero(labels[:, column])[0])
    width = outline[3, 0] - outline[0, 0]
    crease = labels.copy()
    band = slice(top - int(0.2 * width), top)
    crease[band, column - 60 : column + 60] = Label.SCLERA
    assert "lid_far_from_outline" in _gates(crease, outline)
    small = labels.copy()
    small[top - int(0.05 * width) : top, column - 60 : column + 60] = Label.SCLERA
    assert "lid_far_from_outline" not in _gates(small, outline)


def test_iris_too_large_for_the_eye_fails_iris_size(open_eye) -> None:
    labels, outline = open_eye
    centre = outline[[0, 3]].mean(axis=0)
    narrow = centre + (outline - centre) * np.array([0.55, 1.0])  # landmarks 55 % as wide
    assert "iris_size_implausible" in _gates(labels, narrow)
    radius = measure_eye(labels)["iris_radius_px"]
    assert "iris_size_implausible" in _gates(labels, outline, iris_radius_px=radius * 0.5)


#: Hand-made eyes: corners at x = 100 and 400 crop px (300 px apart) on y = 160; the iris
#: centre (x, y) and radius (crop px) → (gaze offset in half eye widths, corner clearance
#: in iris radii).
GAZE_CASES = [
    pytest.param((250.0, 160.0, 60.0), (0.0, 1.5), id="midway"),
    pytest.param((250.0, 140.0, 60.0), (0.0, 1.5), id="midway-higher"),
    pytest.param((325.0, 160.0, 50.0), (0.5, 0.5), id="towards-p4"),
    pytest.param((340.0, 160.0, 50.0), (0.6, 0.2), id="near-p4"),
    pytest.param((130.0, 160.0, 60.0), (-0.8, -0.5), id="circle-past-p1"),
    pytest.param((400.0, 160.0, 50.0), (1.0, -1.0), id="at-p4"),
]
_CORNERS = np.array([[100, 160], [180, 120], [320, 120], [400, 160], [320, 200], [180, 200]])


@pytest.mark.parametrize(("iris", "expected"), GAZE_CASES)
@pytest.mark.parametrize("roll_deg", [0.0, 12.0])
def test_gaze_offset_and_corner_clearance_on_known_positions(iris, expected, roll_deg) -> None:
    angle = math.radians(roll_deg)
    turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    centre = np.array([240.0, 160.0])
    outline = (_CORNERS - centre) @ turn.T + centre
    cx, cy = (np.array(iris[:2]) - centre) @ turn.T + centre
    values = {"iris_cx_px": cx, "iris_cy_px": cy, "iris_radius_px": iris[2]}
    assert gaze_offset(values, outline) == pytest.approx(expected[0], abs=1e-9)
    assert corner_clearance(values, outline) == pytest.approx(expected[1], abs=1e-9)
    limit = GateParams().min_corner_clearance_r
    labels = np.zeros((320, 480), np.uint8)  # no opening: only the value gates apply
    failed = frame_gates(values, labels, outline)
    assert (Gate.GAZE_SIDEWAYS in failed) == (expected[1] < limit)
    assert math.isnan(corner_clearance({"iris_cx_px": cx, "iris_cy_px": cy}, outline))


@pytest.mark.parametrize("gaze_x", [-1.0, -0.75])
def test_extreme_side_gaze_fails_gaze_sideways_only(gaze_x) -> None:
    # The right eye's lateral corner is on the image left (gaze −1): at the anatomical
    # limit the circle's edge reaches the corner. Medially the caruncle stops the iris
    # short of it (gaze +1 passes, above).
    _, eye = phantom(gaze_x=gaze_x)
    assert _gates(eye.labels, outline_from_truth(eye.truth), quality=0.95) == (Gate.GAZE_SIDEWAYS,)
    assert PLAIN_WORDS[Gate.GAZE_SIDEWAYS] == "looking far to the side"


def test_short_limbus_arc_fails_iris_arc(open_eye) -> None:
    labels, outline = open_eye
    assert "iris_arc_short" in _gates(labels, outline, iris_fit_arc_deg=75.0)
    assert "iris_arc_short" not in _gates(labels, outline, iris_fit_arc_deg=95.0)


def test_low_quality_fails(open_eye) -> None:
    labels, outline = open_eye
    assert "low_quality" in _gates(labels, outline, quality=0.5)
    assert "low_quality" not in _gates(labels, outline, quality=0.9)
    assert "low_quality" not in _gates(labels, outline)  # NaN: not computed, not tested


def test_gates_need_no_iris_when_there_is_none(open_eye) -> None:
    labels, outline = open_eye
    no_iris = np.where(np.isin(labels, (Label.IRIS, Label.PUPIL)), Label.SCLERA, labels)
    measurement = measure_eye_crop(no_iris.astype(np.uint8), "right", scale_crop_per_frame=SCALE)
    assert "iris_not_found" in measurement.flags
    assert frame_gates(measurement.values, no_iris, outline) == ()


def exclusion_reasons(row):
    return eye_row(row).exclusion_reasons()


def _gate(rows, **options):
    return agreement_gates([eye_row(r) for r in rows], **options)


def _row(frame, t, side, *, mode="keyframes", blink=False, flags="", **values):
    row = dict.fromkeys(MEASUREMENT_COLUMNS, math.nan)
    row.update(
        input="x.mp4",
        frame_index=frame,
        timestamp_s=t,
        side=side,
        mode=mode,
        sharpness=100.0,
        ear=0.3,
        blink=blink,
        quality=0.95,
        mirror_agreement=0.97,
        outline_agreement=0.95,
        flags=flags,
        gates_failed="",
        overlay="",
        iris_radius_frame_px=14.0,
        iris_diameter_mm=11.7,
    )
    row.update(values)
    return row


def test_iris_radius_that_jumps_between_frames_fails() -> None:
    rows = [_row(i, float(i), "left", mrd1_mm=4.0) for i in range(5)]
    rows[2]["iris_radius_frame_px"] = 18.0  # +29 %
    rows = _gate(rows, timeseries=False)
    assert [exclusion_reasons(r) for r in rows] == [[], [], ["iris_size_inconsistent"], [], []]


@pytest.mark.parametrize(
    ("radii", "shown", "expected"),
    [
        # A squinting face: the right circle far too large on a short arc (real case: 42 %).
        ((17.3, 12.2), (0.38, 0.53), ([Gate.IRIS_SIZE_EYES], [])),
        # Equally visible: nothing tells which circle is wrong, so both go.
        ((17.3, 12.2), (0.60, 0.62), ([Gate.IRIS_SIZE_EYES], [Gate.IRIS_SIZE_EYES])),
        # 10 % apart: fit noise or a turned head, both kept.
        ((13.2, 12.0), (0.40, 0.90), ([], [])),
    ],
)
def test_iris_radii_of_the_two_eyes_must_agree(radii, shown, expected) -> None:
    rows = [
        _row(0, 0.0, side, iris_radius_frame_px=r, visible_iris_fraction=f, mrd1_mm=3.0)
        for side, r, f in zip(("right", "left"), radii, shown, strict=True)
    ]
    rows = _gate(rows, timeseries=False)
    assert [exclusion_reasons(r) for r in rows] == list(expected)


def test_an_eye_already_excluded_is_not_compared_with_the_other() -> None:
    rows = [
        _row(0, 0.0, "right", iris_radius_frame_px=17.3, visible_iris_fraction=0.9),
        _row(0, 0.0, "left", iris_radius_frame_px=12.2, visible_iris_fraction=0.5),
    ]
    rows[0]["gates_failed"] = "low_quality"
    rows = _gate(rows, timeseries=False)
    assert exclusion_reasons(rows[1]) == []


@pytest.mark.parametrize(
    ("timeseries", "jump", "fails"),
    [(False, 2.4, False), (False, 2.6, True), (True, 1.4, False), (True, 1.6, True)],
)
def test_mrd1_that_disagrees_with_the_other_frames_fails(timeseries, jump, fails) -> None:
    rows = [_row(i, i * 0.5, "right", mrd1_mm=4.0 + 0.01 * i) for i in range(7)]
    rows[3]["mrd1_mm"] -= jump
    rows = _gate(rows, timeseries=timeseries)
    assert ("mrd1_inconsistent" in exclusion_reasons(rows[3])) is fails
    assert all(exclusion_reasons(r) == [] for i, r in enumerate(rows) if i != 3)


def test_a_steady_droop_is_not_inconsistent() -> None:
    # A fatigable lid falling 0.6 mm/s (the phantom video's droop) in a 15 fps series.
    rows = [
        _row(i, i / 15, "left", mode="timeseries", mrd1_mm=5.0 - 0.6 * i / 15) for i in range(120)
    ]
    rows = _gate(rows, timeseries=True)
    assert all(exclusion_reasons(r) == [] for r in rows)


def test_blurred_frame_fails_against_the_input_median() -> None:
    rows = [r for i in range(5) for r in (_row(i, i, "right"), _row(i, i, "left"))]
    for row in rows[4:6]:
        row["sharpness"] = 40.0  # 0.4 × the median of 100
    rows = _gate(rows, timeseries=False)
    assert [("blurred" in exclusion_reasons(r)) for r in rows] == [
        False,
        False,
        False,
        False,
        True,
        True,
        False,
        False,
        False,
        False,
    ]


def test_few_frames_skip_the_between_frame_gates() -> None:
    rows = [_row(0, 0.0, "right", mrd1_mm=4.0), _row(1, 1.0, "right", mrd1_mm=0.0)]
    rows[1]["sharpness"] = 1.0
    rows = _gate(rows, timeseries=False)
    assert all(exclusion_reasons(r) == [] for r in rows)


# --- the quality signal -----------------------------------------------------------------


def test_mirror_agreement(open_eye) -> None:
    labels, _ = open_eye
    assert mirror_agreement(labels, mirror(labels)) == pytest.approx(1.0)
    shifted = np.roll(mirror(labels), 40, axis=1)
    assert mirror_agreement(labels, shifted) < 0.8
    empty = np.zeros_like(labels)
    assert math.isnan(mirror_agreement(empty, empty))
    with pytest.raises(InputError, match="shape"):
        mirror_agreement(labels, labels[:, :-1])


def test_outline_agreement_falls_when_the_eye_is_missed(open_eye) -> None:
    labels, outline = open_eye
    assert outline_agreement(labels, outline) > 0.95
    half = labels.copy()
    half[:, : int(outline[[0, 3], 0].mean())] = Label.BACKGROUND
    assert outline_agreement(half, outline) < 0.6
    assert outline_agreement(np.zeros_like(labels), outline) == 0.0
    with pytest.raises(InputError, match="six"):
        outline_agreement(labels, outline[:5])


def test_quality_score_is_the_smaller_part() -> None:
    assert quality_score(0.9, 0.7) == 0.7
    assert quality_score(math.nan, 0.7) == 0.7
    assert math.isnan(quality_score(math.nan, math.nan))


# --- parameters and words ---------------------------------------------------------------


def test_params_are_strict_and_ordered() -> None:
    with pytest.raises(ValidationError):
        GateParams(mrd1_min=-3.0)  # misspelt key
    with pytest.raises(ValidationError, match="mrd1_min_mm"):
        GateParams(mrd1_min_mm=9.0, mrd1_max_mm=4.0)
    with pytest.raises(ValidationError):
        GateParams(min_quality=1.5)
    with pytest.raises(ValidationError):
        GateParams(min_corner_clearance_r=2.5)  # more than primary gaze leaves
    params = GateParams()
    with pytest.raises(ValidationError):
        params.min_quality = 0.1  # type: ignore[misc]


def test_every_gate_has_words() -> None:
    assert set(GATE_NAMES) <= set(PLAIN_WORDS)
    assert plain_words(["blink", "something_new"]) == ["blink", "something new"]


def test_notes_are_the_worded_flags_that_do_not_exclude() -> None:
    flags = [Flag.EYE_CLOSED, Flag.AT_BORDER, Flag.IRIS_ABSENT, Flag.REFLEX_OFF_CENTRE]
    assert note_words(flags) == ["eye at the frame edge", "light reflex off the iris centre"]
