"""Is the predicted pupil a pupil? Visible, concentric with the iris, of a human size.

A network that cannot see a pupil in a dark brown iris may still paint one: a ragged blob
over most of the iris, or a dark patch beside the centre. The row must then say that the
pupil was not seen instead of reporting that blob's area as ``pupil_iris_ratio``.

The predicted pupil (its largest 8-connected component of class ``PUPIL``) is accepted
when, against the fitted iris circle (radius r):

* its centre (centroid) lies within ``max_offset_r`` iris radii of the iris centre, and
* its equivalent-area radius ``sqrt(area / π)`` is ``min_radius_r``–``max_radius_r`` of r
  (a human pupil spans about 2–8 mm of an 11.7 mm iris), and
* its largest component holds at least ``min_main_share`` of the pupil pixels (one pupil).

Otherwise ``pupil_iris_ratio`` is empty and the row carries ``pupil_not_visible`` (fewer
than ``min_area_px`` pupil pixels: the model saw none) or ``pupil_implausible`` (a pupil
was painted but fails a test). Without an iris circle nothing is checked.

Crop px, pixel ``labels[i, j]`` centred on ``(x, y) = (j, i)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import ndimage

from ocularseg.core.labels import Label
from ocularseg.core.records import Flag

FLAG_PUPIL_NOT_VISIBLE = Flag.PUPIL_NOT_VISIBLE
FLAG_PUPIL_IMPLAUSIBLE = Flag.PUPIL_IMPLAUSIBLE

PupilStatus = Literal["visible", "not_visible", "implausible"]

_EIGHT = np.ones((3, 3), dtype=bool)


class PupilCheckParams(BaseModel):
    """Thresholds of the pupil check (frozen; unknown keys are an error).

    Attributes:
        min_area_px: fewer predicted pupil pixels than this (crop px) = no pupil seen.
        max_offset_r: farthest pupil centre from the iris centre, in iris radii.
        min_radius_r / max_radius_r: pupil equivalent-area radius range, in iris radii.
        min_main_share: least share of the pupil pixels in its largest component.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_area_px: int = Field(default=12, ge=1)
    max_offset_r: float = Field(default=0.15, gt=0.0, le=1.0)
    min_radius_r: float = Field(default=0.15, ge=0.0, le=1.0)
    max_radius_r: float = Field(default=0.75, gt=0.0, le=1.0)
    min_main_share: float = Field(default=0.9, ge=0.0, le=1.0)


@dataclass(frozen=True)
class PupilCheck:
    """The verdict on one eye's predicted pupil.

    Attributes:
        status: ``visible`` (accepted), ``not_visible`` or ``implausible``.
        radius_r: equivalent-area radius of the largest pupil component / iris radius
            (NaN without pupil pixels).
        offset_r: its centroid's distance from the iris centre / iris radius (NaN likewise).
    """

    status: PupilStatus
    radius_r: float
    offset_r: float

    @property
    def flags(self) -> tuple[str, ...]:
        if self.status == "not_visible":
            return (FLAG_PUPIL_NOT_VISIBLE,)
        if self.status == "implausible":
            return (FLAG_PUPIL_IMPLAUSIBLE,)
        return ()


def check_pupil(
    labels: np.ndarray,
    centre_px: tuple[float, float],
    radius_px: float,
    params: PupilCheckParams | None = None,
) -> PupilCheck:
    """Check the predicted pupil of ``labels`` (H, W) against the iris circle (crop px)."""
    p = params or PupilCheckParams()
    pupil = np.asarray(labels) == Label.PUPIL
    total = int(pupil.sum())
    if total < p.min_area_px:
        return PupilCheck("not_visible", math.nan, math.nan)
    components, _ = ndimage.label(pupil, structure=_EIGHT)
    sizes = np.bincount(components.ravel())[1:]
    main = int(np.argmax(sizes)) + 1
    rows, cols = np.nonzero(components == main)
    radius = float(radius_px)
    radius_r = math.sqrt(sizes[main - 1] / math.pi) / radius
    offset_r = math.hypot(cols.mean() - centre_px[0], rows.mean() - centre_px[1]) / radius
    plausible = (
        offset_r <= p.max_offset_r
        and p.min_radius_r <= radius_r <= p.max_radius_r
        and sizes[main - 1] >= p.min_main_share * total
    )
    return PupilCheck("visible" if plausible else "implausible", radius_r, offset_r)
