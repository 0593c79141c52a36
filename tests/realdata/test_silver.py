"""Silver labels from the teacher's landmarks, and the checks that drop doubtful eyes."""

from __future__ import annotations

import numpy as np
import pytest

from ocularseg.core.labels import PartialLabel
from ocularseg.realdata.silver import (
    MP_IRIS_GROUPS,
    MP_LOWER_LID,
    MP_UPPER_LID,
    TeacherEye,
    catmull_rom,
    fill_polygon,
    opening_height_to_width,
    silver_label_map,
    teacher_eye,
    teacher_eye_problems,
)


def _almond(cx: float, cy: float, half_width: float, half_height: float) -> TeacherEye:
    """An eye whose lids are arcs through 9 points each, iris centred, radius 0.16 width."""
    s = np.linspace(-1, 1, 9)
    upper = np.stack([cx + half_width * s, cy - half_height * (1 - s**2)], axis=1)
    lower = np.stack([cx - half_width * s, cy + 0.7 * half_height * (1 - s**2)], axis=1)
    return TeacherEye(upper, lower, np.array([cx, cy]), 0.32 * half_width)


def _mesh_with(eye_right: TeacherEye, eye_left: TeacherEye) -> np.ndarray:
    points = np.zeros((478, 2))
    for side, eye in (("right", eye_right), ("left", eye_left)):
        points[list(MP_UPPER_LID[side])] = eye.upper_lid
        points[list(MP_LOWER_LID[side])] = eye.lower_lid
    # The iris groups deliberately in the "other" order: assignment is by distance.
    for group, eye in zip(MP_IRIS_GROUPS, (eye_left, eye_right), strict=True):
        points[group[0]] = eye.iris_centre
        angles = np.array([0, np.pi / 2, np.pi, 3 * np.pi / 2])
        points[list(group[1:])] = eye.iris_centre + eye.iris_radius * np.stack(
            [np.cos(angles), np.sin(angles)], axis=1
        )
    return points


def test_catmull_rom_passes_through_its_points_without_overshoot() -> None:
    points = np.array([[0, 0], [10, -6], [20, -8], [30, -6], [40, 0]], float)
    curve = catmull_rom(points, samples_per_segment=8)
    assert len(curve) == 4 * 8 + 1
    for p in points:
        assert np.min(np.hypot(*(curve - p).T)) < 1e-9
    assert curve[:, 1].min() >= -8.0 - 1e-9  # centripetal: no bulge beyond the top point


def test_silver_map_marks_opening_and_disc_inside_the_lids() -> None:
    eye = _almond(240, 160, 130, 60)
    labels = silver_label_map(eye, (320, 480))
    assert set(np.unique(labels)) == {
        0,
        PartialLabel.OPENING_NOT_DISC,
        PartialLabel.IRIS_DISC,
        PartialLabel.IGNORE,
    }
    assert labels[160, 240] == PartialLabel.IRIS_DISC
    assert labels[160, 160] == PartialLabel.OPENING_NOT_DISC
    assert labels[40, 240] == 0 and labels[160, 20] == 0
    # The disc is cut by the upper lid: nothing of it above the lid at the centre column.
    top = np.argmax(
        np.isin(labels[:, 240], (PartialLabel.OPENING_NOT_DISC, PartialLabel.IRIS_DISC))
    )
    assert top == pytest.approx(100, abs=1)
    disc_area = (labels == PartialLabel.IRIS_DISC).sum()
    assert disc_area == pytest.approx(np.pi * eye.iris_radius**2, rel=0.03)


def test_fill_polygon_uses_pixel_centres() -> None:
    square = np.array([[1.6, 1.6], [4.4, 1.6], [4.4, 4.4], [1.6, 4.4]])
    mask = fill_polygon(square, (8, 8))
    assert mask.sum() == 9 and mask[2:5, 2:5].all()


def test_teacher_eye_takes_the_nearer_iris_group_and_maps_into_the_crop() -> None:
    right, left = _almond(100, 200, 40, 18), _almond(300, 205, 40, 18)
    mesh = _mesh_with(right, left)
    eye = teacher_eye(mesh, "right")
    assert np.allclose(eye.iris_centre, right.iris_centre)
    assert eye.iris_radius == pytest.approx(right.iris_radius)
    affine = np.array([[2.0, 0, 10], [0, 2.0, -5]])
    moved = eye.transformed(affine)
    assert np.allclose(moved.iris_centre, [210, 395])
    assert moved.iris_radius == pytest.approx(2 * right.iris_radius)
    with pytest.raises(ValueError, match="478"):
        teacher_eye(mesh[:468], "right")


def test_checks_name_disagreement_implausible_iris_and_closed_eyes() -> None:
    eye = _almond(240, 160, 130, 60)
    assert teacher_eye_problems(eye, eye.corners) == []
    shifted = eye.corners + np.array([80.0, 0])
    assert teacher_eye_problems(eye, shifted) == ["teacher_dlib_disagree"]
    tiny_iris = TeacherEye(eye.upper_lid, eye.lower_lid, eye.iris_centre, 10.0)
    assert "teacher_iris_implausible" in teacher_eye_problems(tiny_iris, eye.corners)
    assert opening_height_to_width(eye) == pytest.approx((60 + 42) / 260, rel=0.05)
    assert opening_height_to_width(_almond(240, 160, 130, 3)) < 0.1


def test_the_skin_beside_the_inner_corner_is_left_unlabelled() -> None:
    # MediaPipe's inner corner often sits on the caruncle: just outside its contour there,
    # the silver map must not claim "skin".
    eye = _almond(240, 160, 130, 60)
    labels = silver_label_map(eye, (320, 480))
    inner = eye.corners[1].round().astype(int)  # (370, 160)
    assert labels[inner[1], inner[0] + 10] == PartialLabel.IGNORE
    assert labels[inner[1], inner[0] + 60] == 0  # far from the corner: skin
    assert labels[160, 110 - 10] == 0  # beside the outer corner: skin
