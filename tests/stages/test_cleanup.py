"""The anatomical clean-up removes what cannot be anatomy and keeps a valid eye unchanged."""

from __future__ import annotations

import numpy as np

from ocularseg.core.labels import Label
from ocularseg.stages.cleanup import clean_label_map


def _eye() -> np.ndarray:
    yy, xx = np.mgrid[0:320, 0:480]
    labels = np.zeros((320, 480), np.uint8)
    labels[((xx - 240) / 180) ** 2 + ((yy - 160) / 80) ** 2 <= 1] = Label.SCLERA
    disc = (xx - 240) ** 2 + (yy - 160) ** 2 <= 60**2
    labels[disc & (labels > 0)] = Label.IRIS
    labels[((xx - 240) ** 2 + (yy - 160) ** 2 <= 20**2)] = Label.PUPIL
    return labels


def test_valid_eye_is_unchanged():
    labels = _eye()
    np.testing.assert_array_equal(clean_label_map(labels), labels)


def test_pupil_blob_in_sclera_becomes_sclera():
    labels = _eye()
    labels[150:160, 100:110] = Label.PUPIL
    cleaned = clean_label_map(labels)
    assert np.all(cleaned[150:160, 100:110] == Label.SCLERA)


def test_speck_on_the_skin_is_removed_and_holes_filled():
    labels = _eye()
    labels[10:14, 10:14] = Label.IRIS
    labels[155:158, 200:203] = Label.SCLERA  # a hole inside the iris
    cleaned = clean_label_map(labels)
    assert np.all(cleaned[10:14, 10:14] == Label.BACKGROUND)
    assert np.all(cleaned[155:158, 200:203] == Label.IRIS)
    assert labels[10, 10] == Label.IRIS  # the input is not modified


def _eye_with_caruncle_at_both_corners() -> np.ndarray:
    labels = np.zeros((320, 480), np.uint8)
    labels[120:200, 80:401] = Label.SCLERA  # opening columns 80 … 400
    labels[130:190, 200:280] = Label.IRIS
    labels[150:170, 380:401] = Label.CARUNCLE  # at the crop's right end
    labels[150:170, 80:101] = Label.CARUNCLE  # at the left end
    labels[120:124, 300:360] = Label.CARUNCLE  # a pink lid rim, half-way along
    return labels


def test_the_caruncle_stays_only_at_the_inner_corner_of_the_patients_side() -> None:
    labels = _eye_with_caruncle_at_both_corners()
    right = clean_label_map(labels, "right")  # OD: inner corner on the crop's right
    assert (right[150:170, 380:401] == Label.CARUNCLE).all()
    assert not (right[:, :300] == Label.CARUNCLE).any()
    assert not (right[120:124, 300:360] == Label.CARUNCLE).any()
    assert (right[150:170, 80:101] == Label.SCLERA).all()
    left = clean_label_map(labels, "left")
    assert (left[150:170, 80:101] == Label.CARUNCLE).all()
    assert not (left[:, 200:] == Label.CARUNCLE).any()
    # Without the side nothing is decided about the caruncle.
    np.testing.assert_array_equal(
        clean_label_map(labels) == Label.CARUNCLE, labels == Label.CARUNCLE
    )
    # The opening and the iris are untouched.
    np.testing.assert_array_equal(right != Label.BACKGROUND, labels != Label.BACKGROUND)
    np.testing.assert_array_equal(right == Label.IRIS, labels == Label.IRIS)
