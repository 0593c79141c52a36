"""Percentile bootstrap: determinism, NaN handling, coverage, clusters, bad options."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from ocularseg.core.errors import ConfigError, DataError
from ocularseg.evaluation import bootstrap_ci

# (name, values, expected (estimate, low, high)); degenerate inputs whose answer is exact.
CASES: list[tuple[str, list[float], tuple[float, float, float]]] = [
    ("constant values", [0.8, 0.8, 0.8, 0.8], (0.8, 0.8, 0.8)),
    ("all NaN", [math.nan, math.nan], (math.nan, math.nan, math.nan)),
    ("empty", [], (math.nan, math.nan, math.nan)),
    ("one valid value", [math.nan, 0.5, math.nan], (0.5, math.nan, math.nan)),
]


@pytest.mark.parametrize(("name", "values", "expected"), CASES)
def test_degenerate_cases(name, values, expected) -> None:
    result = bootstrap_ci(values, seed=0, n_resamples=200)
    assert result == pytest.approx(expected, nan_ok=True), name


def test_same_seed_same_result_other_seed_differs() -> None:
    values = np.random.default_rng(1).normal(size=50)
    first = bootstrap_ci(values, seed=7)
    assert bootstrap_ci(values, seed=7) == first
    assert bootstrap_ci(values, seed=np.random.default_rng(7)) == first
    assert bootstrap_ci(values, seed=8)[1:] != first[1:]
    assert bootstrap_ci(values, seed=8)[0] == first[0]


def test_estimate_is_the_mean_and_inside_the_interval() -> None:
    values = np.random.default_rng(2).normal(loc=3.0, size=80)
    estimate, low, high = bootstrap_ci(values, seed=0)
    assert estimate == pytest.approx(values.mean())
    assert low < estimate < high


def test_interval_narrows_as_n_grows() -> None:
    rng = np.random.default_rng(3)
    widths = []
    for n in (20, 200, 2000):
        _, low, high = bootstrap_ci(rng.normal(size=n), seed=0)
        widths.append(high - low)
    assert widths[0] > widths[1] > widths[2]
    # Width shrinks like 1/sqrt(n): a factor ~sqrt(10) per step.
    assert widths[0] / widths[2] == pytest.approx(10.0, rel=0.3)


def test_coverage_on_normal_data_is_near_nominal() -> None:
    rng = np.random.default_rng(4)
    true_mean, trials = 1.0, 200
    hits = 0
    for _ in range(trials):
        _, low, high = bootstrap_ci(rng.normal(true_mean, 2.0, size=60), seed=rng)
        hits += low <= true_mean <= high
    assert 0.90 <= hits / trials <= 0.99


def test_nans_are_dropped_before_resampling() -> None:
    values = np.random.default_rng(5).normal(size=40)
    with_nans = np.insert(values, [0, 10, 10, 40], math.nan)
    assert bootstrap_ci(with_nans, seed=3) == bootstrap_ci(values, seed=3)


def test_confidence_level_changes_width() -> None:
    values = np.random.default_rng(6).normal(size=100)
    _, low90, high90 = bootstrap_ci(values, seed=0, confidence=0.90)
    _, low99, high99 = bootstrap_ci(values, seed=0, confidence=0.99)
    assert high99 - low99 > high90 - low90


def test_other_statistics_use_axis() -> None:
    values = np.random.default_rng(7).exponential(size=101)
    estimate, low, high = bootstrap_ci(values, seed=0, statistic=np.nanmedian)
    assert estimate == pytest.approx(np.median(values))
    assert low <= estimate <= high


def test_vectorised_1000_resamples_of_1000_values_is_fast() -> None:
    values = np.random.default_rng(8).random(1000)
    start = time.perf_counter()
    bootstrap_ci(values, seed=0, n_resamples=1000)
    assert time.perf_counter() - start < 1.0


def test_chunking_gives_the_same_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    import ocularseg.evaluation.bootstrap as bootstrap

    values = np.random.default_rng(9).normal(size=300)
    whole = bootstrap_ci(values, seed=1, n_resamples=500)
    monkeypatch.setattr(bootstrap, "_MAX_CHUNK_ELEMENTS", 300 * 7)  # 7 resamples a chunk
    assert bootstrap_ci(values, seed=1, n_resamples=500) == pytest.approx(whole)


def test_cluster_bootstrap_is_wider_for_correlated_clusters() -> None:
    # 20 subjects, 10 identical images each: only 20 independent values.
    subject_means = np.random.default_rng(10).normal(size=20)
    values = np.repeat(subject_means, 10)
    subjects = np.repeat(np.arange(20), 10)
    _, low_naive, high_naive = bootstrap_ci(values, seed=0)
    estimate, low, high = bootstrap_ci(values, seed=0, clusters=subjects)
    _, low_ref, high_ref = bootstrap_ci(subject_means, seed=0)
    assert estimate == pytest.approx(values.mean())
    assert high - low > 2.5 * (high_naive - low_naive)
    assert high - low == pytest.approx(high_ref - low_ref, rel=0.25)


def test_cluster_mean_fast_path_matches_general_path() -> None:
    rng = np.random.default_rng(11)
    values = rng.normal(size=60)
    values[[3, 17]] = math.nan
    subjects = rng.integers(0, 15, size=60).astype(str)
    fast = bootstrap_ci(values, seed=2, clusters=subjects)
    general = bootstrap_ci(values, seed=2, clusters=subjects, statistic=lambda v: np.nanmean(v))
    assert fast == pytest.approx(general)


def test_single_cluster_gives_nan_interval() -> None:
    estimate, low, high = bootstrap_ci([1.0, 2.0, 3.0], seed=0, clusters=["s1"] * 3)
    assert estimate == 2.0
    assert math.isnan(low) and math.isnan(high)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_resamples": 0}, ConfigError, "n_resamples"),
        ({"n_resamples": 10.5}, ConfigError, "n_resamples"),
        ({"confidence": 1.0}, ConfigError, "confidence"),
        ({"confidence": 95}, ConfigError, "confidence"),
        ({"seed": None}, ConfigError, "seed"),
        ({"seed": -1}, ConfigError, "seed"),
        ({"clusters": [1, 2]}, DataError, "clusters shape"),
    ],
)
def test_bad_options_are_rejected(kwargs: dict, error: type, match: str) -> None:
    options = {"seed": 0, **kwargs}
    with pytest.raises(error, match=match):
        bootstrap_ci([1.0, 2.0, 3.0], **options)


@pytest.mark.parametrize("values", [[[1.0, 2.0]], ["a", "b"]])
def test_bad_values_are_rejected(values) -> None:
    with pytest.raises(DataError, match="values must be"):
        bootstrap_ci(values, seed=0)
