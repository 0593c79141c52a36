"""Caruncle placement along the eye and Dice against the second teacher's silver labels."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ocularseg.core.labels import Label, PartialLabel
from ocularseg.evaluation.placement import axis_position, caruncle_placement, silver_class_dice

INNER, OUTER = np.array([400.0, 160.0]), np.array([80.0, 160.0])


def test_axis_position_is_zero_at_the_inner_corner_and_one_at_the_outer() -> None:
    t = axis_position((320, 480), INNER, OUTER)
    assert t[160, 400] == pytest.approx(0.0)
    assert t[160, 80] == pytest.approx(1.0)
    assert t[10, 240] == pytest.approx(0.5)


def test_a_caruncle_at_the_outer_corner_is_counted_as_misplaced() -> None:
    labels = np.zeros((320, 480), np.uint8)
    labels[150:170, 370:400] = Label.CARUNCLE  # medial: t 0 … 0.09
    medial = caruncle_placement(labels, INNER, OUTER)
    assert medial.medial_share == 1.0 and medial.lateral_px == 0
    labels[150:170, 80:110] = Label.CARUNCLE  # the same again at the outer corner
    both = caruncle_placement(labels, INNER, OUTER)
    assert both.medial_share == pytest.approx(0.5)
    assert both.lateral_px == 600
    none = caruncle_placement(np.zeros((320, 480), np.uint8), INNER, OUTER)
    assert none.caruncle_px == 0 and math.isnan(none.medial_share)


def test_silver_dice_counts_only_pixels_the_teacher_decided() -> None:
    silver = np.full((10, 10), PartialLabel.IRIS_DISC, np.uint8)
    silver[2:5, 2:5] = Label.PUPIL  # 9 px of pupil
    silver[7:, :] = Label.IRIS
    pred = np.zeros((10, 10), np.uint8)
    pred[2:5, 2:5] = Label.PUPIL
    pred[5:7, :] = Label.PUPIL  # in the undecided band: not counted
    assert silver_class_dice(pred, silver, Label.PUPIL, Label.IRIS) == pytest.approx(1.0)
    pred[8, :] = Label.PUPIL  # 10 px on silver iris: counted
    assert silver_class_dice(pred, silver, Label.PUPIL, Label.IRIS) == pytest.approx(18 / 28)
    assert math.isnan(silver_class_dice(pred, np.zeros_like(silver), Label.PUPIL, Label.IRIS))
