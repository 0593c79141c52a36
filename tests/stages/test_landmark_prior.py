"""The landmark prior: as a gate after segmentation, and as a fourth input channel."""

from __future__ import annotations

import numpy as np
import pytest

from ocularseg.core.eye_prior import (
    TEMPLATE_POINTS_CROP_PX,
    eye_prior_map,
    hexagon_distance,
    prior_channel,
)
from ocularseg.core.labels import Label
from ocularseg.stages.landmark_gate import (
    LandmarkGateParams,
    allowed_region,
    apply_landmark_gate,
    eye_points_in_crop,
)
from tests.conftest import drawn_eye_labels

#: Six dlib-style points around the drawn eye of ``drawn_eye_labels`` (centre 240, 165,
#: half-axes 170 × 75): corners, then upper and lower lid at a third and two thirds.
DRAWN_EYE_POINTS = np.array(
    [[75, 165], [183, 95], [297, 95], [405, 165], [297, 235], [183, 235]], float
)


def test_distance_is_zero_inside_and_euclidean_outside() -> None:
    square = np.array([[10, 10], [20, 10], [20, 20], [10, 20]], float)
    distance = hexagon_distance(square, (40, 40))
    assert distance[15, 15] == 0
    assert distance[15, 25] == pytest.approx(5.0)
    assert distance[25, 25] == pytest.approx(np.hypot(5, 5))


def test_prior_is_one_on_the_eye_and_falls_off_with_the_eye_width() -> None:
    prior = eye_prior_map(DRAWN_EYE_POINTS, (320, 480), sigma_frac=0.08)
    assert prior[165, 240] == 1.0
    width = 330.0
    # One sigma (8 % of the width) above the upper-lid edge: exp(-1/2).
    assert prior[95 - round(0.08 * width), 240] == pytest.approx(np.exp(-0.5), abs=0.02)
    assert prior[5, 5] < 1e-6
    channel = prior_channel(prior)
    assert channel.min() >= -1 and channel.max() == 1


def test_without_landmarks_the_template_is_used() -> None:
    template = eye_prior_map(None, (320, 480))
    explicit = eye_prior_map(np.array(TEMPLATE_POINTS_CROP_PX), (320, 480))
    assert np.array_equal(template, explicit)
    centre = np.mean(TEMPLATE_POINTS_CROP_PX, axis=0).round().astype(int)
    assert template[centre[1], centre[0]] == 1.0
    with pytest.raises(ValueError, match="six finite"):
        eye_prior_map(np.zeros((5, 2)), (320, 480))


def test_gate_removes_sclera_on_the_brow_and_keeps_the_eye() -> None:
    labels = drawn_eye_labels()
    labels[0:25, 100:380] = Label.SCLERA  # "sclera" on the brow, 70+ px above the lid
    gated, removed = apply_landmark_gate(labels, DRAWN_EYE_POINTS)
    assert removed == 25 * 280
    assert (gated[0:25] == Label.BACKGROUND).all()
    eye = drawn_eye_labels() != Label.BACKGROUND
    assert (gated[eye] == drawn_eye_labels()[eye]).all()  # the eye itself is untouched
    unchanged, none = apply_landmark_gate(
        labels, DRAWN_EYE_POINTS, LandmarkGateParams(enabled=False)
    )
    assert none == 0 and unchanged is labels


def test_allowed_region_grows_with_the_margin_and_points_map_into_the_crop() -> None:
    small = allowed_region(DRAWN_EYE_POINTS, (320, 480), 0.05).sum()
    large = allowed_region(DRAWN_EYE_POINTS, (320, 480), 0.3).sum()
    assert small < large
    affine = np.array([[2.0, 0.0, 10.0], [0.0, 2.0, 20.0]])
    assert np.allclose(eye_points_in_crop([[1.0, 1.0]], affine), [[12.0, 22.0]])


def test_segmenter_feeds_the_prior_channel_from_landmarks_or_the_template(tmp_path) -> None:
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from ocularseg.stages.segment import Segmenter
    from tests.conftest import build_tiny_onnx_model

    folder = build_tiny_onnx_model(tmp_path / "prior-model", landmark_channel=True)
    segmenter = Segmenter(folder, device="cpu")
    assert segmenter.uses_prior
    crop = np.full((320, 480, 3), 128, np.uint8)
    shifted = DRAWN_EYE_POINTS + [0, 60]  # an eye lower in the crop than the template's
    with_points, without = segmenter.segment([crop, crop], [shifted, None])
    sclera_with = with_points.labels == Label.SCLERA
    sclera_template = without.labels == Label.SCLERA
    assert sclera_with[225, 240] and not sclera_template[225 + 60, 240]
    assert sclera_template[160, 240]
    # The sclera follows the hexagon it was given (to within the prior's falloff).
    assert abs(np.argwhere(sclera_with)[:, 0].mean() - (165 + 60)) < 15
