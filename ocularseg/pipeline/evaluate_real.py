"""Run a model on real eyes with silver labels (``ocularseg data build-real`` datasets).

The runner half of the real-set evaluation: it segments each crop as ``analyze`` does (the
crop and its mirror, dlib's eye points for a landmark-prior model), runs analyze's per-eye
chain (``stages.eye``: landmark gate, clean-up, measurement, quality signal, per-frame gates)
and hands each eye with its silver map and its teacher's reference to the pure scoring in
``ocularseg.evaluation.real`` (which documents the regions and the columns).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from ocularseg.core.containers import SegmentationResult
from ocularseg.core.errors import DataError
from ocularseg.data.eye_meta import RealEyeMeta, read_eye_meta
from ocularseg.data.manifest import ManifestRow, read_manifest, select_rows
from ocularseg.evaluation.real import (
    REGIONS,
    EyeScoreInput,
    RealEvaluation,
    TeacherReference,
    anatomy_violations,
    class_placement_columns,
    measure_summary,
    measures_markdown,
    region_maps,
    score_real_eyes,
    teacher_measures,
    write_real_evaluation,
)
from ocularseg.io.images import read_image_rgb, read_image_unchanged
from ocularseg.stages.eye import EyeResult, run_eye_chain
from ocularseg.stages.landmark_gate import LandmarkGateParams
from ocularseg.stages.measure import MeasureParams
from ocularseg.stages.quality import mirror, mirror_points

__all__ = [
    "REGIONS",
    "RealEvaluation",
    "anatomy_violations",
    "class_placement_columns",
    "evaluate_real",
    "is_silver_dataset",
    "measure_summary",
    "measures_markdown",
    "region_maps",
    "teacher_measures",
]

log = logging.getLogger(__name__)


def is_silver_dataset(data_dir: str | os.PathLike[str]) -> bool:
    """True for a dataset built by ``data build-real`` (it has a build_report.json and its
    first mask holds partial labels)."""
    root = Path(data_dir)
    if not (root / "build_report.json").is_file():
        return False
    rows = read_manifest(root)
    return bool(rows) and bool((read_image_unchanged(root / rows[0].mask) >= 10).any())


def teacher_reference(meta: RealEyeMeta, where: str) -> TeacherReference:
    """What the teachers say about one eye, from its metadata.

    Raises:
        DataError: the metadata has no teacher eye (not a real-eye sample).
    """
    if meta.teacher is None:
        raise DataError(f"{where}: no teacher eye in the metadata")
    teacher = meta.teacher
    pupil = meta.silver_image.pupil if meta.silver_image is not None else None
    return TeacherReference(
        iris_centre_px=teacher.iris_centre_crop_px,
        iris_radius_px=teacher.iris_radius_crop_px,
        upper_lid_px=None
        if teacher.upper_lid_crop_px is None
        else np.asarray(teacher.upper_lid_crop_px, float),
        silver_pupil=bool(pupil.found) if pupil is not None else False,
        silver_pupil_reason=str(pupil.reason) if pupil is not None else "",
    )


def _outline(meta: RealEyeMeta, where: str) -> np.ndarray:
    """dlib's six eye points (6, 2) in crop px; raises DataError when absent."""
    points = meta.dlib_points()
    if points is None or meta.side is None:
        raise DataError(f"{where}: the metadata lacks the side or dlib's eye points")
    return points


def _predictions(
    root: Path,
    rows: list[ManifestRow],
    metas: dict[str, RealEyeMeta],
    model_dir: Path,
    device: str,
    batch_size: int,
    use_landmarks: bool,
) -> Iterator[tuple[ManifestRow, np.ndarray, SegmentationResult, SegmentationResult]]:
    """(row, crop image, segmentation, segmentation of the mirrored crop) per eye, as
    analyze segments them."""
    from ocularseg.stages.segment import Segmenter

    segmenter = Segmenter(model_dir, device=device, batch_size=batch_size)
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        images = [read_image_rgb(root / r.image) for r in chunk]
        points = [_outline(metas[r.stem], r.meta) if use_landmarks else None for r in chunk]
        results = segmenter.segment(images, points)
        width = images[0].shape[1]
        mirrored = segmenter.segment(
            [mirror(image) for image in images],
            [None if p is None else mirror_points(p, width) for p in points],
        )
        yield from zip(chunk, images, results, mirrored, strict=True)


def _score_input(
    row: ManifestRow, meta: RealEyeMeta, eye: EyeResult, silver: np.ndarray
) -> EyeScoreInput:
    measurement = eye.measurement
    return EyeScoreInput(
        image_id=row.stem,
        subject=row.subject,
        group=row.group,
        side=str(meta.side),
        teacher_open=bool(meta.open),
        too_small="too_small" in meta.crop_flags,
        gated=eye.gated,
        cleaned=eye.labels,
        silver=silver,
        values=measurement.values,
        flags=measurement.flags,
        quality=eye.quality,
        gates_failed=eye.gates_failed,
    )


def _scored_eye(
    root: Path,
    row: ManifestRow,
    meta: RealEyeMeta,
    image: np.ndarray,
    segmentation: SegmentationResult,
    mirrored: SegmentationResult,
    params: MeasureParams,
    gate: LandmarkGateParams,
) -> tuple[EyeScoreInput, TeacherReference]:
    """One eye through analyze's per-eye chain (``stages.eye``), with its silver map and
    teacher reference (``mirrored``: the segmentation of the mirrored crop)."""
    # analyze's per-eye chain: landmark gate, clean-up, measurement with the crop image,
    # quality signal and per-frame gates (a still: no between-frame gates).
    eye = run_eye_chain(
        segmentation,
        image,
        str(meta.side),
        meta.scale_crop_per_frame,
        _outline(meta, row.meta),
        mirrored=mirrored,
        measure=params,
        landmark_gate=gate,
    )
    silver = read_image_unchanged(root / row.mask)
    return _score_input(row, meta, eye, silver), teacher_reference(meta, row.meta)


def evaluate_real(
    data_dir: str | os.PathLike[str],
    model_dir: str | os.PathLike[str],
    *,
    split: str = "test",
    seed: int = 0,
    n_resamples: int = 1000,
    device: str = "auto",
    batch_size: int = 8,
    out_dir: str | os.PathLike[str] | None = None,
    use_landmarks: bool = True,
    landmark_gate: bool = True,
    groups: Sequence[str] | None = None,
    measure_params: MeasureParams | None = None,
) -> RealEvaluation:
    """Evaluate ``model_dir`` on the ``split`` of a silver dataset (``evaluation.real``).

    Args:
        use_landmarks: give a landmark-prior model dlib's eye points (as analyze does);
            False gives it the template, as for crops that come without landmarks.
        landmark_gate: apply analyze's landmark gate (``stages.landmark_gate``) to the
            prediction before scoring and measuring (on, as in analyze; False scores the
            model's raw mask).
        groups: score only the eyes of these manifest groups (sources), e.g.
            ``("london-neutral", "canada")``; None scores every group of the split.
        measure_params: the measurement stage's parameters (default: analyze's).

    Writes ``real_per_image.csv``, ``real_eyes.csv``, ``real_summary.csv``,
    ``real_measures.csv`` and ``real_summary.md`` into ``out_dir`` when given.

    Raises:
        DataError: a sample's metadata is unreadable or lacks the teacher or dlib's points.
    """
    root = Path(data_dir)
    rows = select_rows(read_manifest(root), split)
    if groups is not None:
        rows = [r for r in rows if r.group in set(groups)]
    metas = {r.stem: read_eye_meta(root / r.meta) for r in rows}
    params = measure_params or MeasureParams()
    gate = LandmarkGateParams(enabled=landmark_gate)
    predictions = _predictions(
        root, rows, metas, Path(model_dir), device, batch_size, use_landmarks
    )
    scored = [
        _scored_eye(root, row, metas[row.stem], image, segmentation, mirrored, params, gate)
        for row, image, segmentation, mirrored in predictions
    ]
    people = len({r.subject for r in rows})
    title = f"Real eyes: {root.name} ({split}, {len(rows)} eyes, {people} people)"
    result = score_real_eyes(
        scored,
        iris_mm=params.iris_diameter_mm,
        seed=seed,
        n_resamples=n_resamples,
        title=title,
    )
    if out_dir is not None:
        write_real_evaluation(result, out_dir)
    return result
