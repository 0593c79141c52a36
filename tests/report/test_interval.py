"""The 95 % interval of an eye's MRD1, and indicators that say borderline at the threshold."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ocularseg.report.interval import (
    BORDERLINE,
    NO,
    NOT_ASSESSABLE,
    YES,
    at_or_below,
    difference_interval,
    magnitude_at_least,
    median_interval,
)
from ocularseg.report.summary import summarise
from tests.report.report_cases import make_row, measurements_frame_of

# (MRD1 of a single photo in mm, mm per original-image pixel, the MRD1 ≤ 2 mm word)
PHOTO_CASES = [
    (1.73, 0.61, BORDERLINE),  # 2.8 image px from the threshold's side: the pixels cannot decide
    (2.08, 0.61, BORDERLINE),
    (0.90, 0.61, YES),  # 0.90 + 0.61 = 1.51 ≤ 2
    (3.00, 0.61, NO),  # 3.00 − 0.61 = 2.39 > 2
    (1.73, 0.05, YES),  # a close-up: one pixel is 0.05 mm
    (2.08, 0.05, NO),
]


@pytest.mark.parametrize(("mrd1_mm", "mm_per_px", "word"), PHOTO_CASES)
def test_single_photo_interval_is_one_image_pixel(mrd1_mm, mm_per_px, word) -> None:
    interval = median_interval(np.array([mrd1_mm]), np.array([mm_per_px]))
    assert interval.low_mm == pytest.approx(mrd1_mm - mm_per_px)
    assert interval.high_mm == pytest.approx(mrd1_mm + mm_per_px)
    assert interval.spread_mm == 0.0
    assert at_or_below(interval, 2.0) == word


def test_frames_spread_and_resolution_add_in_quadrature() -> None:
    values = np.array([3.0, 3.2, 3.4, 3.6, 3.8])
    interval = median_interval(values, np.full(5, 0.1))
    se = math.sqrt(math.pi / 2) * np.std(values, ddof=1) / math.sqrt(5)
    half = math.hypot(1.959963984540054 * se, 0.1)
    assert interval.median_mm == pytest.approx(3.4)
    assert interval.half_width_mm == pytest.approx(half)
    # More frames of the same spread narrow the interval, down to the pixel bound.
    many = median_interval(np.tile(values, 40), np.full(200, 0.1))
    assert 0.1 < many.half_width_mm < interval.half_width_mm


def test_a_smaller_eye_in_the_image_widens_the_interval_smoothly() -> None:
    widths = [
        median_interval(np.array([1.5]), np.array([mm])).half_width_mm
        for mm in (0.2, 0.3, 0.4, 0.5)
    ]
    assert widths == sorted(widths) and widths == pytest.approx([0.2, 0.3, 0.4, 0.5])


def test_unknown_scale_leaves_the_spread_only_and_no_values_are_not_assessable() -> None:
    interval = median_interval(np.array([3.0]), np.array([math.nan]))
    assert math.isnan(interval.resolution_mm) and interval.half_width_mm == 0.0
    assert at_or_below(median_interval(np.empty(0), np.empty(0)), 2.0) == NOT_ASSESSABLE


@pytest.mark.parametrize(
    ("right", "left", "ge_1", "ge_2"),
    [
        (4.0, 1.0, YES, YES),  # 3.0 ± 0.14
        (4.0, 2.9, BORDERLINE, NO),  # 1.1 ± 0.14 straddles 1
        (3.0, 2.5, NO, NO),
        (1.0, 4.0, YES, YES),  # the sign does not matter
    ],
)
def test_asymmetry_interval(right, left, ge_1, ge_2) -> None:
    r = median_interval(np.array([right]), np.array([0.1]))
    lt = median_interval(np.array([left]), np.array([0.1]))
    difference = difference_interval(r, lt)
    assert difference.half_width_mm == pytest.approx(math.hypot(0.1, 0.1))
    assert magnitude_at_least(difference, 1.0) == ge_1
    assert magnitude_at_least(difference, 2.0) == ge_2


def test_summary_reports_the_interval_and_borderline_for_a_photo() -> None:
    rows = [
        make_row("smile.jpg", 0, 0.0, "right", mrd1_mm=1.73, mm_per_frame_px=0.61),
        make_row("smile.jpg", 0, 0.0, "left", mrd1_mm=3.1, mm_per_frame_px=0.61),
    ]
    summary = summarise(measurements_frame_of(rows))
    right, left, both = (summary.iloc[i] for i in range(3))
    assert right["mrd1_mm_ci_low"] == pytest.approx(1.12)
    assert right["mrd1_mm_ci_high"] == pytest.approx(2.34)
    assert right["mm_per_frame_px"] == pytest.approx(0.61)
    assert right["indicator_mrd1_le_2mm"] == BORDERLINE
    assert "[95 % 1.12, 2.34]" in right["screening_notes"]
    assert "borderline" in right["screening_notes"]
    assert left["indicator_mrd1_le_2mm"] == NO
    # Right − left = −1.37 ± 0.86 mm: the difference may or may not be ≥ 1 mm.
    assert both["indicator_asymmetry_ge_1mm"] == BORDERLINE
    half = math.hypot(0.61, 0.61)
    assert both["mrd1_mm_right_minus_left_ci_low"] == pytest.approx(-1.37 - half)
    assert both["mrd1_mm_right_minus_left_ci_high"] == pytest.approx(-1.37 + half)


def test_values_that_round_to_zero_print_without_a_minus_sign() -> None:
    rows = [
        make_row("z.jpg", 0, 0.0, "right", mrd1_mm=2.0001, mm_per_frame_px=0.01),
        make_row("z.jpg", 0, 0.0, "left", mrd1_mm=2.0003, mm_per_frame_px=0.01),
    ]
    notes = summarise(measurements_frame_of(rows)).iloc[2]["screening_notes"]
    assert "−0.00" not in notes and "-0.00" not in notes and "= 0.00 mm" in notes
