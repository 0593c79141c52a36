"""Where a predicted caruncle and pupil sit, and how they agree with silver labels.

Real eyes have no human masks here, so the caruncle and pupil are judged by anatomy and by
the second teacher's silver labels (``realdata.silver_image``), which label a class only
where the image shows it clearly:

* **caruncle placement** — the caruncle is pink tissue at the inner (medial) corner. Each
  predicted caruncle pixel's position along the corner-to-corner axis, ``t`` = 0 at the
  inner corner and 1 at the outer corner (eye widths), gives the share in the medial
  quarter (``t ≤ 0.25``) and the pixels in the lateral half (``t > 0.5``), where a caruncle
  never is;
* **silver agreement** — Dice of one class against the silver labels, counted only over the
  pixels the silver map labels as that class or as its neighbour (pupil vs iris, caruncle
  vs sclera), i.e. where the teacher decided.

Crop px, pixel ``labels[i, j]`` centred on ``(x, y) = (j, i)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ocularseg.core.labels import Label

#: The medial quarter and lateral half of the eye, along the corner-to-corner axis.
MEDIAL_T = 0.25
LATERAL_T = 0.5


@dataclass(frozen=True)
class CarunclePlacement:
    """Predicted caruncle pixels of one eye by position.

    Attributes:
        caruncle_px: predicted caruncle pixels.
        medial_share: share of them with ``t ≤ MEDIAL_T`` (NaN without caruncle).
        lateral_px: how many lie in the lateral half (``t > LATERAL_T``).
    """

    caruncle_px: int
    medial_share: float
    lateral_px: int


def axis_position(
    shape_hw: tuple[int, int], inner_px: np.ndarray, outer_px: np.ndarray
) -> np.ndarray:
    """(H, W) position ``t`` of every pixel along inner → outer corner (eye widths)."""
    inner = np.asarray(inner_px, float)
    outer = np.asarray(outer_px, float)
    axis = outer - inner
    length2 = float(axis @ axis)
    if length2 <= 0:
        raise ValueError("inner and outer corner coincide")
    rows, cols = np.indices(shape_hw)
    return ((cols - inner[0]) * axis[0] + (rows - inner[1]) * axis[1]) / length2


def caruncle_placement(
    labels: np.ndarray, inner_px: np.ndarray, outer_px: np.ndarray
) -> CarunclePlacement:
    """Where the predicted caruncle of ``labels`` (H, W) lies between the two corners."""
    caruncle = np.asarray(labels) == Label.CARUNCLE
    count = int(caruncle.sum())
    if count == 0:
        return CarunclePlacement(0, math.nan, 0)
    t = axis_position(caruncle.shape, inner_px, outer_px)[caruncle]
    return CarunclePlacement(count, float((t <= MEDIAL_T).mean()), int((t > LATERAL_T).sum()))


def silver_class_dice(
    pred: np.ndarray, silver: np.ndarray, label: Label, neighbour: Label
) -> float:
    """Dice of ``label`` over the pixels the silver map calls ``label`` or ``neighbour``.

    NaN when the silver map labels no pixel as ``label`` (nothing to agree with).
    """
    silver = np.asarray(silver)
    decided = (silver == label) | (silver == neighbour)
    truth = silver == label
    if not truth.any():
        return math.nan
    predicted = (np.asarray(pred) == label) & decided
    return float(2 * (predicted & truth).sum() / (predicted.sum() + truth.sum()))
