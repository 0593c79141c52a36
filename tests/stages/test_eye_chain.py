"""The per-eye chain (landmark gate → clean-up → measure → quality → gates), written once."""

from __future__ import annotations

import math

import numpy as np
import pytest
from phantom_eyes import outline_from_truth, phantom

from ocularseg.core.containers import SegmentationResult
from ocularseg.core.labels import Label
from ocularseg.stages.eye import run_eye_chain
from ocularseg.stages.measure import measure_eye_crop


def _true_mrd1_mm(truth: dict) -> float:
    return truth["mrd1_px"] * 11.7 / (2 * truth["iris_radius_px"])


def test_an_exact_mask_is_measured_to_its_truth_and_passes_every_gate() -> None:
    params, eye = phantom()
    outline = outline_from_truth(eye.truth)
    result = run_eye_chain(SegmentationResult(eye.labels), eye.image, params.side, 1.0, outline)
    assert result.gates_failed == ()
    assert result.landmark_gate_removed_px == 0
    assert result.measurement.values["mrd1_mm"] == pytest.approx(_true_mrd1_mm(eye.truth), abs=0.1)
    assert math.isnan(result.mirror_agreement)  # no mirror pass given
    assert 0.0 < result.quality <= 1.0


def test_stray_pixels_far_from_the_eye_and_a_caruncle_at_the_outer_corner_are_not_measured():
    params, eye = phantom()  # a right eye: its inner corner is on the crop's right
    outline = outline_from_truth(eye.truth)
    labels = eye.labels.copy()
    labels[5:25, 5:25] = Label.SCLERA  # a speck of "sclera" on the skin, far from the eye
    opening_cols = np.flatnonzero((eye.labels != Label.BACKGROUND).any(axis=0))
    outer = opening_cols[0] + 3
    rows = np.flatnonzero(eye.labels[:, outer] != Label.BACKGROUND)
    labels[rows, outer : outer + 4] = Label.CARUNCLE  # pink rim at the outer corner
    result = run_eye_chain(SegmentationResult(labels), eye.image, params.side, 1.0, outline)
    assert result.landmark_gate_removed_px >= 400
    assert not (result.gated[5:25, 5:25] != Label.BACKGROUND).any()
    assert not (result.labels[:, : opening_cols[0] + 20] == Label.CARUNCLE).any()
    # The exact mask's own numbers are kept.
    exact = measure_eye_crop(eye.labels, params.side, image=eye.image).values
    assert result.measurement.values["mrd1_mm"] == pytest.approx(exact["mrd1_mm"], abs=0.05)


def test_without_the_clean_up_the_gated_mask_is_what_is_measured() -> None:
    params, eye = phantom()
    outline = outline_from_truth(eye.truth)
    labels = eye.labels.copy()
    labels[5:25, 5:25] = Label.SCLERA
    result = run_eye_chain(
        SegmentationResult(labels), eye.image, params.side, 1.0, outline, cleanup=False
    )
    np.testing.assert_array_equal(result.labels, result.gated)
