"""Agreement between two methods measuring the same eyes: Bland–Altman and ICC(2,1).

Pure NumPy. ``a`` and ``b`` are paired measurements of the same quantity on the same eyes
(e.g. MRD1 in mm by the model and by a human-placed template); pairs where either is NaN
are dropped first.

* Bland–Altman (Bland & Altman, 1986): the differences ``d = a − b``; ``bias`` = mean of
  ``d``, ``sd`` = its sample standard deviation (ddof 1), 95 % limits of agreement
  ``bias ± 1.96 sd``.
* ICC(2,1) (Shrout & Fleiss, 1979; McGraw & Wong's ICC(A,1)): two-way random effects,
  absolute agreement, single measurement, from the two-way ANOVA of the n × 2 table::

      ICC = (MSR − MSE) / (MSR + MSE + 2 (MSC − MSE) / n)

  with MSR the mean square between eyes (rows), MSC between methods (columns) and MSE the
  residual. Absolute agreement: a constant offset between the methods lowers it.
* Confidence intervals: percentile bootstrap over clusters (people), so the two eyes of a
  person (and a person's several photographs) move together; the point estimate uses every
  pair.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ocularseg.core.errors import DataError
from ocularseg.evaluation.bootstrap import make_rng

#: z of a two-sided 95 % interval, as Bland and Altman use it for the limits of agreement.
LOA_Z = 1.96


@dataclass(frozen=True)
class Interval:
    """A point estimate with its percentile-bootstrap 95 % interval (NaN when undefined)."""

    estimate: float
    low: float
    high: float

    def text(self, digits: int = 2, signed: bool = False) -> str:
        """``"+0.12 [+0.05, +0.20]"`` (``signed``) or ``"0.12 [0.05, 0.20]"``."""
        spec = f"{'+' if signed else ''}.{digits}f"
        if not math.isfinite(self.estimate):
            return "—"
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            return format(self.estimate, spec)
        return (
            f"{format(self.estimate, spec)} [{format(self.low, spec)}, {format(self.high, spec)}]"
        )


@dataclass(frozen=True)
class Agreement:
    """Agreement of two methods over ``n`` paired values from ``clusters`` people.

    Attributes:
        n: pairs used (both values finite).
        clusters: distinct clusters (people) among them.
        bias: mean of ``a − b`` (units of the values).
        sd: standard deviation of ``a − b``.
        loa_low, loa_high: 95 % limits of agreement, ``bias ∓ 1.96 sd``.
        mae: mean of ``|a − b|``.
        icc: ICC(2,1), absolute agreement (dimensionless, ≤ 1).
    """

    n: int
    clusters: int
    bias: Interval
    sd: Interval
    loa_low: Interval
    loa_high: Interval
    mae: Interval
    icc: Interval


def _pairs(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise DataError(
            f"paired values must be two 1-D arrays of one length, got {x.shape}, {y.shape}"
        )
    keep = np.isfinite(x) & np.isfinite(y)
    return x, y, keep


def icc_2_1(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """ICC(2,1) of two methods (absolute agreement); NaN with fewer than 2 finite pairs.

    Raises:
        DataError: ``a`` and ``b`` are not 1-D arrays of one length.
    """
    x, y, keep = _pairs(a, b)
    return _icc(x[keep], y[keep])


def _icc(x: np.ndarray, y: np.ndarray) -> float:
    n = x.size
    if n < 2:
        return math.nan
    table = np.stack([x, y], axis=1)
    grand = table.mean()
    row_means = table.mean(axis=1)
    col_means = table.mean(axis=0)
    k = 2
    ss_rows = k * float(np.sum((row_means - grand) ** 2))
    ss_cols = n * float(np.sum((col_means - grand) ** 2))
    ss_total = float(np.sum((table - grand) ** 2))
    ss_error = ss_total - ss_rows - ss_cols
    ms_rows = ss_rows / (n - 1)
    ms_cols = ss_cols / (k - 1)
    ms_error = ss_error / ((n - 1) * (k - 1))
    denominator = ms_rows + (k - 1) * ms_error + k * (ms_cols - ms_error) / n
    if denominator <= 0:
        return math.nan
    return (ms_rows - ms_error) / denominator


def _stats(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(bias, sd, loa_low, loa_high, mae, icc) of finite pairs."""
    d = x - y
    bias = float(d.mean()) if d.size else math.nan
    sd = float(d.std(ddof=1)) if d.size > 1 else math.nan
    mae = float(np.abs(d).mean()) if d.size else math.nan
    return np.array([bias, sd, bias - LOA_Z * sd, bias + LOA_Z * sd, mae, _icc(x, y)])


def agreement(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    clusters: Sequence[Any] | np.ndarray,
    *,
    seed: int | np.random.Generator = 0,
    n_resamples: int = 1000,
) -> Agreement:
    """Bland–Altman and ICC(2,1) of ``a`` against ``b`` with cluster-bootstrap 95 % CIs.

    Args:
        a, b: (n,) paired values (same units); a pair with a NaN is dropped.
        clusters: (n,) cluster ids (people) aligned with the values.
        seed: bootstrap seed (int or Generator).
        n_resamples: bootstrap resamples.

    Returns:
        ``Agreement``; intervals are NaN with fewer than 2 clusters.

    Raises:
        DataError: the arrays differ in length or are not 1-D.
    """
    x, y, keep = _pairs(a, b)
    ids = np.asarray(clusters)
    if ids.shape != x.shape:
        raise DataError(f"clusters shape {ids.shape} does not match values shape {x.shape}")
    x, y, ids = x[keep], y[keep], ids[keep]
    estimate = _stats(x, y)
    groups = [np.flatnonzero(ids == c) for c in dict.fromkeys(ids.tolist())]
    samples = np.full((n_resamples, estimate.size), np.nan)
    if len(groups) >= 2:
        rng = make_rng(seed)
        for r in range(n_resamples):
            picks = rng.integers(0, len(groups), size=len(groups))
            index = np.concatenate([groups[p] for p in picks])
            samples[r] = _stats(x[index], y[index])
    with np.errstate(all="ignore"):
        low = np.nanpercentile(samples, 2.5, axis=0) if len(groups) >= 2 else samples[0]
        high = np.nanpercentile(samples, 97.5, axis=0) if len(groups) >= 2 else samples[0]
    parts = [
        Interval(float(e), float(lo), float(hi))
        for e, lo, hi in zip(estimate, low, high, strict=True)
    ]
    return Agreement(
        n=int(x.size),
        clusters=len(groups),
        bias=parts[0],
        sd=parts[1],
        loa_low=parts[2],
        loa_high=parts[3],
        mae=parts[4],
        icc=parts[5],
    )
