"""Score a model folder (or saved prediction masks) on a dataset: per-image metrics, CIs.

The metrics themselves are ``ocularseg.evaluation`` (pure NumPy/SciPy); this module feeds
them from a dataset folder and either an ONNX model (through the segmentation stage, so the
numbers describe exactly what ``analyze`` would see) or a folder of prediction masks.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ocularseg.core.errors import ConfigError, DataError
from ocularseg.data.manifest import ManifestRow, read_manifest
from ocularseg.evaluation import evaluate_dataset, summarise, summary_markdown, write_evaluation
from ocularseg.io.images import read_image_rgb, read_image_unchanged
from ocularseg.io.share import IMAGE_PREFIX, SUBJECT_PREFIX, new_key, pseudonymise

#: How image and subject ids are written: as they are, or as unlinkable pseudonyms (for
#: files that travel with a shared model folder; see ``io.share``).
IdPolicy = Literal["keep", "pseudonymise"]

log = logging.getLogger(__name__)


@dataclass
class EvaluationOutcome:
    """Per-image rows, the summary with CIs, its Markdown and the files written."""

    per_image: pd.DataFrame
    summary: pd.DataFrame
    markdown: str
    files: dict[str, Path]


def select_rows(rows: list[ManifestRow], split: str) -> list[ManifestRow]:
    """Rows of ``split`` ('train', 'val', 'test' or 'all'); 'test' falls back to all rows of
    an unsplit dataset (logged)."""
    if split == "all":
        return rows
    chosen = [r for r in rows if r.split == split]
    if not chosen and split == "test" and not any(r.split for r in rows):
        log.info("dataset has no splits: evaluating every image")
        return rows
    if not chosen:
        raise DataError(f"the dataset has no '{split}' rows (use --split all)")
    return chosen


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
    if (model_dir is None) == (pred_dir is None):
        raise ConfigError("give exactly one of --model (a model folder) and --pred (mask folder)")
    root = Path(data_dir)
    rows = select_rows(read_manifest(root), split)
    if model_dir is not None:
        pairs = _pairs_from_model(root, rows, Path(model_dir), device, batch_size)
    else:
        pairs = _pairs_from_masks(root, rows, Path(pred_dir))
    per_image = evaluate_dataset(pairs)
    subjects = {r.stem: r.subject for r in rows}
    per_image.insert(1, "subject", per_image["image_id"].map(subjects))
    if ids == "pseudonymise":
        key = id_key or new_key()
        per_image["image_id"] = per_image["image_id"].map(
            pseudonymise(per_image["image_id"], IMAGE_PREFIX, key)
        )
        per_image["subject"] = per_image["subject"].map(
            pseudonymise(per_image["subject"], SUBJECT_PREFIX, key)
        )
    summary = summarise(per_image, seed=seed, n_resamples=n_resamples, cluster_column="subject")
    title = f"Evaluation on {root.name} ({split}, {len(rows)} images)"
    markdown = summary_markdown(summary, per_image=per_image, title=title)
    files: dict[str, Path] = {}
    if out_dir is not None:
        shown = (lambda p: Path(p).absolute().name) if ids == "pseudonymise" else str
        info = {"data": shown(root), "split": split, "images": len(rows), **(metadata or {})}
        if model_dir is not None:
            info["model"] = shown(model_dir)
        files = write_evaluation(per_image, summary, out_dir, title=title, metadata=info)
    return EvaluationOutcome(per_image, summary, markdown, files)
