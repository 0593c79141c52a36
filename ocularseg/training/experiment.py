"""Experiment grids: train and score every cell (``ocularseg experiment GRID.yaml``).

Each cell (one model, loss, train fraction and seed) is a normal training run in
``OUT/cells/<cell>/`` and is skipped when its ``cell_result.json`` exists, so a grid can be
interrupted and resumed, and ``--shard I/N`` lets N processes share one grid folder.

Scoring: the best checkpoint of each cell segments every test image (PyTorch, eval mode;
trained at ``input_scale`` < 1, its logits are resized back to the full 480×320 crop) and
is scored against the full-size masks. Per image, Dice / HD95 are averaged over the
foreground classes present, component error is summed over classes, and per-class Dice is
kept beside them. Tables: :mod:`ocularseg.training.grid_results`.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F

from ocularseg.core.errors import ConfigError
from ocularseg.core.preprocess import normalise_rgb
from ocularseg.data.manifest import read_manifest
from ocularseg.evaluation import evaluate_dataset
from ocularseg.io.atomic import write_json_atomic, write_text_atomic
from ocularseg.io.images import read_image_rgb, read_image_unchanged
from ocularseg.training.config import parse_train_config
from ocularseg.training.dataset import rescale_image
from ocularseg.training.grid_config import (
    CELL_RESULT,
    CLASS_NAMES,
    GridConfig,
    cell_name,
    grid_cells,
    load_grid,
    resolve_loss,
)
from ocularseg.training.grid_results import aggregate, paired_effects, results_markdown
from ocularseg.training.models.io import load_model
from ocularseg.training.trainer import train

log = logging.getLogger(__name__)

__all__ = [
    "GridConfig",
    "aggregate",
    "grid_cells",
    "load_grid",
    "paired_effects",
    "resolve_loss",
    "results_markdown",
    "run_grid",
    "score_checkpoint",
]


def _predict(
    model: torch.nn.Module, images: list[np.ndarray], input_scale: float = 1.0
) -> list[np.ndarray]:
    """Label maps (H, W) uint8 at the images' own size for a list of (H, W, 3) RGB images.

    With ``input_scale`` < 1 the network sees images resized as in training
    (:func:`~ocularseg.training.dataset.rescale_image`) and its logits are resized back
    (bilinear) before the argmax, so the scores are in full-size crop pixels.
    """
    height, width = images[0].shape[:2]
    if input_scale != 1:
        images = [rescale_image(image, input_scale) for image in images]
    with torch.no_grad():
        logits = model(torch.from_numpy(normalise_rgb(np.stack(images))))
        if logits.shape[-2:] != (height, width):
            logits = F.interpolate(logits, size=(height, width), mode="bilinear")
    return list(logits.argmax(dim=1).to(torch.uint8).numpy())


def score_checkpoint(
    weights: Path,
    dataset: Path,
    *,
    max_images: int | None = None,
    batch: int = 8,
    input_scale: float = 1.0,
) -> pd.DataFrame:
    """Per-image rows (``image_id``, ``subject``, ``dice``, ``hd95_px``, ``component_error``,
    and ``dice_<class>`` for each foreground class, NaN where the class is in neither mask).

    ``input_scale`` is the scale the checkpoint was trained at; scores are always against
    the full-size reference masks (HD95 in full-size crop px).
    """
    model = load_model(weights).eval()
    rows = read_manifest(dataset)
    rows = [r for r in rows if r.split in ("", "test")][: max_images or None]

    def pairs():
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            images = [read_image_rgb(dataset / r.image) for r in chunk]
            preds = _predict(model, images, input_scale)
            for row, pred in zip(chunk, preds, strict=True):
                yield (
                    row.stem,
                    row.group or "all-images",
                    pred,
                    read_image_unchanged(dataset / row.mask),
                )

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # absent classes are expected (closed eyes, no caruncle)
        per_class = evaluate_dataset(pairs())
    per_image = per_class.groupby("image_id").agg(
        dice=("dice", "mean"),
        hd95_px=("hd95_px", "mean"),
        component_error=("component_error", "sum"),
    )
    # Per-class Dice beside the mean, so a table can show which structure a loss helps.
    by_class = per_class.pivot_table(index="image_id", columns="class", values="dice")
    for name in CLASS_NAMES:
        per_image[f"dice_{name}"] = by_class[name] if name in by_class else np.nan
    subjects = {r.stem: r.subject for r in rows}
    per_image["subject"] = [subjects[i] for i in per_image.index]
    return per_image.reset_index()


def run_grid(grid: GridConfig, *, shard: tuple[int, int] = (0, 1)) -> pd.DataFrame:
    """Train and score every missing cell, then write ``results.csv``, ``effects.csv`` and
    ``results.md``.

    Args:
        grid: The grid.
        shard: ``(index, count)``: run only cells ``index, index + count, …`` of
            :func:`grid_cells`, so ``count`` processes can share one grid folder (each
            writes its own cells; the tables cover every cell finished so far).
    """
    index, count = shard
    if not 0 <= index < count:
        raise ConfigError(f"shard {index}/{count}: the index must be in 0..{count - 1}")
    out = grid.out
    out.mkdir(parents=True, exist_ok=True)
    for position, (model_name, loss, fraction, seed) in enumerate(grid_cells(grid)):
        if position % count == index:
            _run_cell(grid, model_name, grid.models[model_name], loss, fraction, seed)
    table = aggregate(grid)
    write_text_atomic(out / "results.csv", table.to_csv(index=False))
    effects = paired_effects(grid)
    write_text_atomic(out / "effects.csv", effects.to_csv(index=False))
    write_text_atomic(out / "results.md", results_markdown(table, grid, effects))
    return table


def _run_cell(grid, model_name, model_options, loss, fraction, seed) -> None:
    name = cell_name(model_name, loss, fraction, seed)
    cell_dir = grid.out / "cells" / name
    if (cell_dir / CELL_RESULT).is_file():
        if _scores_current(cell_dir, grid):
            log.info("cell %s done; skipped", name)
        else:  # scored by an older version (no per-class columns): scoring is cheap
            log.info("cell %s done; re-scoring its best checkpoint", name)
            _score_cell(grid, cell_dir, float(grid.base.get("input_scale", 1.0)))
        return
    raw = {
        **grid.base,
        "data": str(grid.train_data),
        "out": str(cell_dir / "run"),
        "model": {"name": model_name, "options": model_options},
        "loss": dict(zip(("name", "options"), resolve_loss(grid, loss), strict=True)),
        "train_fraction": fraction,
        "seed": seed,
    }
    config = parse_train_config(raw, source=f"grid cell {name}")
    began = time.perf_counter()
    # An interrupted cell restarts from its last checkpoint.
    resume = (cell_dir / "run" / "checkpoints" / "last_state.pt").is_file()
    result = train(config, resume=resume, show_progress=False)
    train_s = time.perf_counter() - began
    _score_cell(grid, cell_dir, config.input_scale)
    write_json_atomic(
        cell_dir / CELL_RESULT,
        {
            "cell": name,
            "model": model_name,
            "loss": loss,
            "train_fraction": fraction,
            "seed": seed,
            "best_val_dice": result.best_val_dice,
            "best_epoch": result.best_epoch,
            "epochs_run": result.epochs_run,
            "train_seconds": round(train_s, 1),
        },
    )


def _score_cell(grid: GridConfig, cell_dir: Path, input_scale: float) -> None:
    weights = cell_dir / "run" / "checkpoints" / "best.safetensors"
    for set_name, dataset in grid.test_sets.items():
        scores = score_checkpoint(
            weights, dataset, max_images=grid.max_test_images, input_scale=input_scale
        )
        write_text_atomic(cell_dir / f"scores_{set_name}.csv", scores.to_csv(index=False))


def _scores_current(cell_dir: Path, grid: GridConfig) -> bool:
    """Whether every test set's scores exist with today's columns."""
    wanted = {f"dice_{name}" for name in CLASS_NAMES}
    for set_name in grid.test_sets:
        path = cell_dir / f"scores_{set_name}.csv"
        if not path.is_file():
            return False
        with path.open(encoding="utf-8") as handle:
            if not wanted <= set(handle.readline().strip().split(",")):
                return False
    return True
