"""The label list, the error hierarchy and the containers' invariants."""

from __future__ import annotations

import numpy as np
import pytest

from ocularseg.core import (
    CROP_HEIGHT_PX,
    CROP_WIDTH_PX,
    ConfigError,
    DataError,
    EyeCrop,
    FaceLandmarks,
    Frame,
    InputError,
    Label,
    OcularsegError,
    SegmentationResult,
)
from ocularseg.core.containers import ContainerError, EyeMeasurement
from ocularseg.core.labels import LABEL_NAMES, label_mapping


def _crop_image() -> np.ndarray:
    return np.zeros((CROP_HEIGHT_PX, CROP_WIDTH_PX, 3), np.uint8)


def test_label_ids_are_the_documented_ones():
    assert [int(x) for x in Label] == [0, 1, 2, 3, 4]
    assert LABEL_NAMES == {"background": 0, "sclera": 1, "iris": 2, "pupil": 3, "caruncle": 4}
    mapping = label_mapping()
    mapping["extra"] = 9
    assert "extra" not in LABEL_NAMES  # callers get a copy


def test_config_errors_exit_2_and_others_exit_1():
    assert ConfigError.exit_code == 2
    assert InputError.exit_code == 1 and DataError.exit_code == 1
    assert issubclass(ConfigError, OcularsegError) and issubclass(ContainerError, OcularsegError)


def test_eye_crop_must_be_480_by_320():
    with pytest.raises(ContainerError, match="480×320 px, got 240×160 px"):
        EyeCrop("right", np.zeros((160, 240, 3), np.uint8), np.eye(2, 3), (640, 480), 1.0)


def test_eye_crop_side_is_patient_side():
    with pytest.raises(ContainerError, match="patient's side"):
        EyeCrop("OD", _crop_image(), np.eye(2, 3), (640, 480), 1.0)


def test_eye_crop_inverse_affine_maps_back():
    forward = np.array([[2.0, 0.0, -100.0], [0.0, 2.0, -50.0]])
    crop = EyeCrop("left", _crop_image(), forward, (640, 480), 2.0)
    point_frame = np.array([130.0, 90.0, 1.0])
    point_crop = np.append(forward @ point_frame, 1.0)
    np.testing.assert_allclose(crop.frame_from_crop @ point_crop, point_frame[:2])


def test_segmentation_rejects_unknown_label_value():
    labels = np.zeros((CROP_HEIGHT_PX, CROP_WIDTH_PX), np.uint8)
    labels[0, 0] = 7
    with pytest.raises(ContainerError, match="unknown value 7"):
        SegmentationResult(labels)


def test_landmarks_eye_points_follow_ibug_order():
    points = np.arange(136, dtype=float).reshape(68, 2)
    face = FaceLandmarks(points, (0, 0, 10, 10), 1.0)
    np.testing.assert_array_equal(face.eye_points_px("right"), points[36:42])
    np.testing.assert_array_equal(face.eye_points_px("left"), points[42:48])
    with pytest.raises(ContainerError):
        FaceLandmarks(points[:5], (0, 0, 10, 10), 1.0)


def test_frame_requires_rgb_uint8():
    with pytest.raises(ContainerError, match="uint8"):
        Frame("v.mp4", 0, 0.0, np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ContainerError, match="timestamp"):
        Frame("v.mp4", 0, -1.0, np.zeros((4, 4, 3), np.uint8))
    assert Frame("v.mp4", 3, 0.1, np.zeros((4, 6, 3), np.uint8)).size_px == (6, 4)


def test_measurement_side_checked():
    with pytest.raises(ContainerError):
        EyeMeasurement("middle", {})
