"""Bland–Altman and ICC(2,1): hand-computed cases, the NaN policy and cluster CIs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ocularseg.core.errors import DataError
from ocularseg.evaluation.agreement import Interval, agreement, icc_2_1

# (a, b, ICC(2,1)) worked by hand from the two-way ANOVA table.
CASES = [
    # identical: perfect agreement
    ([1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 2.0, 3.0, 4.0, 5.0], 1.0),
    # a constant offset of 1: MSR 5, MSC 2.5, MSE 0 -> 5 / (5 + 2·2.5/5) = 5/6
    ([1.0, 2.0, 3.0, 4.0, 5.0], [2.0, 3.0, 4.0, 5.0, 6.0], 5.0 / 6.0),
    # two middle values swapped: MSR 3, MSC 0, MSE 1/3 -> (8/3) / (10/3 - 1/6) = 16/19
    ([1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 2.0, 4.0], 16.0 / 19.0),
]


@pytest.mark.parametrize(("a", "b", "expected"), CASES)
def test_icc_matches_hand_computation(a, b, expected):
    assert icc_2_1(a, b) == pytest.approx(expected, abs=1e-12)


def test_offset_gives_bias_and_zero_spread():
    result = agreement([1, 2, 3, 4, 5], [2, 3, 4, 5, 6], clusters=[0, 1, 2, 3, 4], seed=0)
    assert result.bias.estimate == pytest.approx(-1.0)
    assert result.sd.estimate == pytest.approx(0.0)
    assert result.loa_low.estimate == pytest.approx(-1.0)
    assert result.mae.estimate == pytest.approx(1.0)
    assert result.n == 5 and result.clusters == 5


def test_limits_of_agreement_are_bias_plus_minus_1_96_sd():
    rng = np.random.default_rng(3)
    truth = rng.normal(3.0, 1.0, 400)
    a = truth + rng.normal(0.2, 0.3, 400)
    result = agreement(a, truth, clusters=np.arange(400) // 2, seed=1, n_resamples=300)
    d = a - truth
    assert result.bias.estimate == pytest.approx(d.mean())
    assert result.sd.estimate == pytest.approx(d.std(ddof=1))
    assert result.loa_high.estimate == pytest.approx(d.mean() + 1.96 * d.std(ddof=1))
    # the bootstrap interval brackets the estimate and the true bias of 0.2
    assert result.bias.low < 0.2 < result.bias.high
    assert result.icc.low < result.icc.estimate < result.icc.high


def test_pairs_with_nan_are_dropped():
    result = agreement([1.0, math.nan, 3.0, 4.0], [1.0, 2.0, math.nan, 4.5], [0, 1, 2, 3], seed=0)
    assert result.n == 2
    assert result.clusters == 2
    assert result.bias.estimate == pytest.approx(-0.25)


def test_one_cluster_has_no_interval():
    result = agreement([1.0, 2.0, 3.0], [1.5, 2.0, 3.5], clusters=["p", "p", "p"], seed=0)
    assert math.isfinite(result.bias.estimate)
    assert math.isnan(result.bias.low) and math.isnan(result.bias.high)


def test_clusters_move_together():
    # Two eyes per person agreeing perfectly within a person: resampling people, not eyes,
    # gives a wider interval than treating every eye as independent.
    rng = np.random.default_rng(0)
    person_error = np.repeat(rng.normal(0.0, 0.5, 30), 2)
    b = rng.normal(3.0, 1.0, 60)
    a = b + person_error
    by_person = agreement(a, b, np.arange(60) // 2, seed=0, n_resamples=400)
    by_eye = agreement(a, b, np.arange(60), seed=0, n_resamples=400)
    width = lambda i: i.high - i.low  # noqa: E731
    assert width(by_person.bias) > width(by_eye.bias)


def test_bad_shapes_are_refused():
    with pytest.raises(DataError, match="one length"):
        icc_2_1([1.0, 2.0], [1.0])
    with pytest.raises(DataError, match="clusters"):
        agreement([1.0, 2.0], [1.0, 2.0], clusters=[0])


def test_interval_text():
    assert Interval(0.123, 0.05, 0.2).text(signed=True) == "+0.12 [+0.05, +0.20]"
    assert Interval(0.9, math.nan, math.nan).text() == "0.90"
    assert Interval(math.nan, math.nan, math.nan).text() == "—"
