"""Run a model folder (or read saved prediction masks) on a dataset and score it.

The scoring is ``ocularseg.evaluation.scoring`` (pure NumPy/SciPy); this module feeds it
from a dataset folder and either an ONNX model (through the segmentation stage, so the
numbers describe exactly what ``analyze`` would see) or a folder of prediction masks.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ocularseg.core.errors import ConfigError, DataError
from ocularseg.data.manifest import ManifestRow, read_manifest, select_rows
from ocularseg.evaluation import write_evaluation
from ocularseg.evaluation.scoring import EvaluationOutcome, IdPolicy, score_images
from ocularseg.io.images import read_image_rgb, read_image_unchanged

__all__ = ["EvaluationOutcome", "IdPolicy", "evaluate", "scored_dir", "select_rows"]

log = logging.getLogger(__name__)


def _pairs_from_model(
    root: Path, rows: list[ManifestRow], model_dir: Path, device: str, batch_size: int
) -> Iterator[tuple[str, str, np.ndarray, np.ndarray]]:
    from ocularseg.stages.segment import Segmenter

    segmenter = Segmenter(model_dir, device=device, batch_size=batch_size)
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        images = [read_image_rgb(root / r.image) for r in chunk]
        results = segmenter.segment(images)
        for row, result in zip(chunk, results, strict=True):
            yield row.stem, row.group or "ungrouped", result.labels, _mask(root / row.mask)


def _pairs_from_masks(
    root: Path, rows: list[ManifestRow], pred_dir: Path
) -> Iterator[tuple[str, str, np.ndarray, np.ndarray]]:
    for row in rows:
        pred_path = pred_dir / Path(row.mask).name
        if not pred_path.is_file():
            raise DataError(
                f"{pred_path}: no prediction for {row.image} (expected the mask's file name)"
            )
        yield row.stem, row.group or "ungrouped", _mask(pred_path), _mask(root / row.mask)


def _mask(path: Path) -> np.ndarray:
    mask = read_image_unchanged(path)
    if mask.ndim != 2:
        raise DataError(f"{path}: a label mask must be single-channel, got shape {mask.shape}")
    return mask


def scored_dir(
    model_dir: str | os.PathLike[str] | None, pred_dir: str | os.PathLike[str] | None
) -> Path:
    """The folder being scored: the model folder or the prediction-mask folder.

    Raises:
        ConfigError: neither or both are given.
    """
    if (model_dir is None) == (pred_dir is None):
        raise ConfigError("give exactly one of --model (a model folder) and --pred (mask folder)")
    return Path(model_dir if model_dir is not None else pred_dir)


def evaluate(
    data_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None,
    *,
    model_dir: str | os.PathLike[str] | None = None,
    pred_dir: str | os.PathLike[str] | None = None,
    split: str = "test",
    seed: int = 0,
    n_resamples: int = 1000,
    device: str = "auto",
    batch_size: int = 8,
    metadata: dict[str, Any] | None = None,
    ids: IdPolicy = "keep",
    id_key: bytes | None = None,
) -> EvaluationOutcome:
    """Evaluate and (when ``out_dir`` is given) write per_image.csv, summary.csv/json/md.

    Exactly one of ``model_dir`` and ``pred_dir`` must be given. CIs are 95 % percentile
    bootstrap intervals over images, resampled by subject (images of one person are not
    independent), ``n_resamples`` times with ``seed``. With ``ids="pseudonymise"`` the
    image and subject ids in every output are replaced by keyed-hash pseudonyms (rows of
    one person stay together) and the data and model folders are named without their path;
    evaluations given the same ``id_key`` get the same pseudonyms (to pair two models' rows).
    """
    scored_dir(model_dir, pred_dir)
    root = Path(data_dir)
    rows = select_rows(read_manifest(root), split)
    if model_dir is not None:
        pairs = _pairs_from_model(root, rows, Path(model_dir), device, batch_size)
    else:
        pairs = _pairs_from_masks(root, rows, Path(pred_dir))
    title = f"Evaluation on {root.name} ({split}, {len(rows)} images)"
    subjects = {r.stem: r.subject for r in rows}
    outcome = score_images(
        pairs,
        subjects,
        seed=seed,
        n_resamples=n_resamples,
        title=title,
        ids=ids,
        id_key=id_key,
    )
    if out_dir is not None:
        shown = (lambda p: Path(p).absolute().name) if ids == "pseudonymise" else str
        info = {"data": shown(root), "split": split, "images": len(rows), **(metadata or {})}
        if model_dir is not None:
            info["model"] = shown(model_dir)
        outcome.files = write_evaluation(
            outcome.per_image, outcome.summary, out_dir, title=title, metadata=info
        )
    return outcome
