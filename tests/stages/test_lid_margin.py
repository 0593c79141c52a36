"""Lid margins read from a trimmed quadratic over the columns near the iris centre.

A notch of lashes labelled skin over the iris must not move MRD1; a smooth margin must
read as the single centre column does (within the pixel rounding); too few columns fall
back to the centre column.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from synthetic_eyes import draw_eye

from ocularseg.core.labels import Label
from ocularseg.stages.iris_circle import IrisCircle
from ocularseg.stages.lid_margin import margin_at_column_px, margin_edges_px
from ocularseg.stages.measure import MeasureParams, lid_distances_px, measure_eye

CENTRE = (240.4, 170.3, 60.0)


def _arched_eye(notch_depth_px: int = 0, notch_half_width_px: int = 0) -> np.ndarray:
    """An eye whose upper lid is an arc y = 125 + 0.004 (x − 240)² over the iris.

    Optionally a notch: background cut ``notch_depth_px`` deep under the lid, centred on
    the iris column, ``2 × notch_half_width_px + 1`` columns wide (lashes read as skin).
    """
    labels = draw_eye(iris=CENTRE)
    height, width = labels.shape
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    labels[yy < 125.0 + 0.004 * (xx - 240.0) ** 2] = Label.BACKGROUND
    if notch_depth_px:
        column = round(CENTRE[0])
        for x in range(column - notch_half_width_px, column + notch_half_width_px + 1):
            top = int(np.flatnonzero(labels[:, x])[0])
            labels[top : top + notch_depth_px, x] = Label.BACKGROUND
    return labels


def _circle() -> IrisCircle:
    return IrisCircle(*CENTRE, 200, 200, 0.2, 250.0)


def test_a_notch_over_the_iris_does_not_move_mrd1() -> None:
    clean = lid_distances_px(_arched_eye(), _circle(), margin_half_width_px=48.0)
    clean_column = lid_distances_px(_arched_eye(), _circle())
    # 21 of the window's 97 columns notched 8 px deep.
    notched_labels = _arched_eye(notch_depth_px=8, notch_half_width_px=10)
    column_only = lid_distances_px(notched_labels, _circle())
    fitted = lid_distances_px(notched_labels, _circle(), margin_half_width_px=48.0)
    # Read in the centre column alone, the notch takes 8 px (about 0.8 mm) off MRD1 ...
    assert clean_column["mrd1_px"] - column_only["mrd1_px"] == pytest.approx(8.0)
    # ... read from the fitted margin, it takes off less than half a pixel.
    assert abs(fitted["mrd1_px"] - clean["mrd1_px"]) < 0.5
    # The lower lid has no notch: MRD2 is unchanged either way.
    assert fitted["mrd2_px"] == pytest.approx(clean["mrd2_px"], abs=0.5)


def test_a_smooth_margin_reads_as_the_centre_column() -> None:
    labels = _arched_eye()
    column = lid_distances_px(labels, _circle())
    fitted = lid_distances_px(labels, _circle(), margin_half_width_px=48.0)
    true_lid_y = 125.0 + 0.004 * (math.floor(CENTRE[0] + 0.5) - 240.0) ** 2
    for got in (column, fitted):
        assert got["mrd1_px"] == pytest.approx(CENTRE[1] - true_lid_y, abs=0.5)
    # The column reading is rounded to whole pixels, the fit is not: within 0.75 px.
    assert fitted["fissure_height_px"] == pytest.approx(column["fissure_height_px"], abs=0.75)


def test_few_columns_fall_back_to_the_centre_column() -> None:
    columns = np.array([100, 101, 102, 103])
    edges = np.array([50.5, 49.5, 40.5, 49.5])
    assert margin_at_column_px(columns, edges, 102, half_width_px=10.0) == 40.5
    assert math.isnan(margin_at_column_px(columns, edges, 120, half_width_px=10.0))


def test_margin_edges_follow_the_pixel_edge_convention() -> None:
    opening = np.zeros((6, 3), dtype=bool)
    opening[2:5, 1] = True
    columns, upper, lower = margin_edges_px(opening)
    assert columns.tolist() == [1]
    assert upper.tolist() == [1.5] and lower.tolist() == [4.5]


def test_measure_eye_uses_the_fitted_margin_by_default() -> None:
    labels = _arched_eye(notch_depth_px=8, notch_half_width_px=8)
    fitted = measure_eye(labels)
    literal = measure_eye(labels, params=MeasureParams(lid_margin_half_width_r=0.0))
    clean = measure_eye(_arched_eye())
    assert abs(fitted["mrd1_mm"] - clean["mrd1_mm"]) < 0.05
    assert clean["mrd1_mm"] - literal["mrd1_mm"] > 0.6
