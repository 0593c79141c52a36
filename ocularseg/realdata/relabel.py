"""Caruncle and pupil silver labels for a real set: the second teacher over every eye.

``ocularseg data build-real`` already applies :func:`image_silver_map` to each eye; this
module also re-applies it to a set built before (the teacher's points are in each sample's
``meta/NAME.json``), writing a *new* dataset folder with the same images, people and split,
so the MediaPipe pass does not have to run again. The image-based evidence of each eye goes
into its metadata (``silver_image``), the counts into ``silver_report.json``, and contact
sheets of the new labels into ``contact_silver/`` to be looked at by a person; eyes listed
by hand in an exclusion file keep only the first teacher's labels.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ocularseg.data.eye_meta import RealEyeMeta, SilverImageEvidence, read_eye_meta
from ocularseg.data.manifest import read_manifest
from ocularseg.data.writer import DatasetWriter
from ocularseg.io.config_files import read_yaml_mapping
from ocularseg.io.images import read_image_rgb, read_image_unchanged
from ocularseg.realdata.silver import TeacherEye
from ocularseg.realdata.silver_image import ImageSilverParams, refine_silver_labels

#: Files of a real set carried over unchanged.
_CARRIED = ("LICENCES.md", "sources.csv", "teacher.json", "build_report.json")


@dataclass
class SilverReport:
    """Counts of the second teacher's outcome per eye (``silver_report.json``)."""

    pupil: Counter = field(default_factory=Counter)
    caruncle: Counter = field(default_factory=Counter)
    excluded_by_hand: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "pupil": dict(self.pupil),
            "caruncle": dict(self.caruncle),
            "excluded_by_hand": self.excluded_by_hand,
        }


def image_silver_map(
    image_rgb: np.ndarray,
    eye: TeacherEye,
    labels: np.ndarray,
    scale_crop_per_frame: float,
    params: ImageSilverParams | None = None,
) -> tuple[np.ndarray, SilverImageEvidence]:
    """The sharpened map of one eye and the evidence as written into its metadata."""
    silver = refine_silver_labels(image_rgb, eye, labels, params, scale_crop_per_frame)
    return silver.labels, SilverImageEvidence(pupil=silver.pupil, caruncle=silver.caruncle)


def read_excluded(path: str | os.PathLike[str] | None) -> dict[str, str]:
    """``{sample_name: reason}`` of eyes whose image-based labels are plainly wrong."""
    if path is None:
        return {}
    mapping = read_yaml_mapping(path)
    return {str(k): str(v) for k, v in mapping.items()}


def relabel_real_set(
    real: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    params: ImageSilverParams | None = None,
    excluded_yaml: str | os.PathLike[str] | None = None,
) -> SilverReport:
    """Write a copy of the real set ``real`` with caruncle / pupil silver labels into ``out_dir``.

    Raises:
        DataError: ``real`` is not a real set (no teacher points in a sample's metadata).
    """
    from ocularseg.realdata.build import draw_contact_sheets

    root = Path(real)
    excluded = read_excluded(excluded_yaml)
    report = SilverReport()
    sheet_items: list[tuple[np.ndarray, np.ndarray, str, bool]] = []
    rows = read_manifest(root)
    with DatasetWriter(out_dir) as writer:
        for row in rows:
            meta, eye = _teacher_eye(root / row.meta)
            image = read_image_rgb(root / row.image)
            first = read_image_unchanged(root / row.mask)
            labels, evidence = image_silver_map(
                image, eye, first, meta.scale_crop_per_frame, params
            )
            name = row.stem
            if name in excluded:
                labels = first
                evidence = evidence.model_copy(update={"excluded_by_hand": excluded[name]})
                report.excluded_by_hand += 1
            else:
                report.pupil[evidence.pupil.reason or "found"] += 1
                report.caruncle[evidence.caruncle.reason or "found"] += 1
            added = writer.add(
                name, image, labels, subject=row.subject, group=row.group, partial=True
            )
            relabelled = meta.model_copy(update={"silver_image": evidence})
            writer.write_json(f"meta/{added.stem}.json", relabelled.to_json())
            sheet_items.append((image, labels, name, name not in excluded))
        by_image = {r.image: r.split for r in rows}
        writer.rows[:] = [replace(r, split=by_image[r.image]) for r in writer.rows]
        for carried in _CARRIED:
            if (root / carried).exists():
                shutil.copy2(root / carried, writer.staging / carried)
        writer.write_json("silver_report.json", report.to_json())
        draw_contact_sheets(writer.staging / "contact_silver", sheet_items)
        writer.commit()
    return report


def _teacher_eye(meta_path: Path) -> tuple[RealEyeMeta, TeacherEye]:
    """A real eye's metadata and the teacher's eye in it.

    Raises:
        DataError: the file is unreadable or holds no teacher eye.
    """
    meta = read_eye_meta(meta_path)
    return meta, TeacherEye.from_meta(meta, str(meta_path))
