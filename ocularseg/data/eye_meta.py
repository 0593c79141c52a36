"""The per-eye metadata of a real-eye dataset (``meta/NAME.json``), as one typed model.

``ocularseg data build-real`` writes one file per kept eye (``realdata.build``), the caruncle /
pupil relabelling rewrites it (``realdata.relabel``), and the trainer (``training.dataset``),
the real-set evaluation (``pipeline.evaluate_real``), the real-context phantoms
(``realdata.context_phantoms``) and the real-set benchmarks read it: all of them go through
:class:`RealEyeMeta` (:func:`read_eye_meta`; the teacher's eye as
``realdata.silver.TeacherEye.from_meta``), so the keys are written down once. Coordinates
are crop px of the 480×320 eye crop (x right, y down).

A phantom's metadata (``synth.dataset``: ``params``, ``truth``, ``seed``…) shares the folder
but not the format; its keys are left to ``synth`` and ignored here, so a reader can ask any
sample's file for the real-eye fields and get the defaults (no teacher, no dlib points).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from ocularseg.core.errors import DataError

#: A polyline or point set in crop px: ``[[x, y], ...]``.
PointList = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class PupilEvidence:
    """What the second teacher's radial profile said about the pupil (``realdata.silver_image``).

    Attributes:
        found: True when a pupil was labelled.
        radius_px: its radius (crop px), ``None`` when not found.
        step_l: luminance step across the best edge (L units).
        step_share: that step as a share of the iris ring − pupil core difference.
        visible_share: share of the candidate pupil disc inside the visible disc.
        reason: why not found (``""`` when found): ``no_disc``, ``too_small``,
            ``low_contrast``, ``soft_edge``, ``covered``.
    """

    found: bool
    radius_px: float | None
    step_l: float
    step_share: float
    visible_share: float
    reason: str


@dataclass(frozen=True)
class CaruncleEvidence:
    """What the second teacher's colour test said about the caruncle.

    Attributes:
        found: True when caruncle pixels were labelled.
        area_px: labelled caruncle pixels.
        reach_w: how far the labelled caruncle reaches from the inner corner (eye widths).
        sclera_da: skin − sclera redness (a* units); small = the test was not made.
        reason: why not found (``""`` when found): ``no_contrast``, ``no_pink``, ``too_small``.
    """

    found: bool
    area_px: int
    reach_w: float
    sclera_da: float
    reason: str


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class TeacherGeometry(_Record):
    """The first teacher's (MediaPipe) eye in crop px; the lids run outer → inner corner."""

    upper_lid_crop_px: PointList | None = None
    lower_lid_crop_px: PointList | None = None
    iris_centre_crop_px: tuple[float, float]
    iris_radius_crop_px: float


class SilverImageEvidence(_Record):
    """The second teacher's evidence of one eye; ``excluded_by_hand`` names why its
    image-based labels were dropped (``realdata.relabel``), None when they were kept."""

    pupil: PupilEvidence
    caruncle: CaruncleEvidence
    excluded_by_hand: str | None = None


class RealEyeMeta(_Record):
    """One real eye: where it came from, the crop, dlib's and the teacher's points.

    Every field has a default so that files written by earlier builds (or by hand, in tests)
    with fewer keys still read; :meth:`to_json` writes back only the keys that were given,
    in this order, so a file read and written again keeps its keys.
    """

    source: str = ""
    repo: str = ""
    commit: str = ""
    path: str = ""
    frame_index: int = 0
    licence: str = ""
    attribution: str = ""
    side: str | None = None
    subject: str = ""
    crop_flags: tuple[str, ...] = ()
    scale_crop_per_frame: float = 1.0
    crop_from_frame: tuple[tuple[float, float, float], ...] | None = None
    dlib_eye_points_crop_px: PointList | None = None
    teacher: TeacherGeometry | None = None
    opening_height_to_width: float | None = None
    open: bool = True
    silver_image: SilverImageEvidence | None = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any], where: str = "metadata") -> RealEyeMeta:
        """Parse a decoded meta JSON object.

        Raises:
            DataError: a known key holds a value of the wrong kind.
        """
        try:
            return cls.model_validate(dict(raw))
        except ValidationError as exc:
            raise DataError(f"{where}: not a real-eye metadata file ({exc})") from exc

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values of the keys that were set (the format on disk)."""
        return self.model_dump(mode="json", exclude_unset=True)

    def dlib_points(self) -> np.ndarray | None:
        """dlib's six eye points (6, 2) in crop px, or None when the file has none."""
        if self.dlib_eye_points_crop_px is None:
            return None
        return np.asarray(self.dlib_eye_points_crop_px, dtype=np.float64)


def read_meta_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The decoded JSON object of a sample's meta file (any kind of sample).

    Raises:
        DataError: the file cannot be read or is not a JSON object.
    """
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the sample metadata ({exc})") from exc
    if not isinstance(raw, dict):
        raise DataError(f"{path}: sample metadata must be a JSON object")
    return raw


def read_eye_meta(path: str | os.PathLike[str]) -> RealEyeMeta:
    """Read a real eye's ``meta/NAME.json``.

    Raises:
        DataError: unreadable, not a JSON object, or a key of the wrong kind.
    """
    return RealEyeMeta.from_json(read_meta_json(path), str(path))
