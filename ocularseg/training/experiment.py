"""Experiment grids: models × losses × training fractions × seeds, trained and scored.

The layout follows Table 2 of the TIU paper: for each (model, loss, train fraction), Dice
and HD95 with 95 % CIs on a test set and on a shifted test set. Each cell (one seed) is a
normal training run in ``OUT/cells/<cell>/`` and is skipped when its ``cell_result.json``
exists, so a grid can be interrupted and resumed.

Scoring: the best checkpoint of each cell segments every test image (PyTorch, eval mode).
Per image, Dice / HD95 are averaged over the foreground classes present in the reference,
component error is summed over classes. Across seeds, each image's value is averaged, then
a 95 % percentile bootstrap over test *subjects* gives the CI (test-set uncertainty); the
standard deviation over seeds is reported beside it (training uncertainty).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from pydantic import BaseModel, ConfigDict, Field

from ocularseg.core.preprocess import normalise_rgb
from ocularseg.data.manifest import read_manifest
from ocularseg.evaluation import bootstrap_ci, evaluate_dataset
from ocularseg.io.atomic import write_json_atomic, write_text_atomic
from ocularseg.io.config_files import read_yaml_mapping, relative_to_file, validate_config
from ocularseg.io.images import read_image_rgb, read_image_unchanged
from ocularseg.training.config import parse_train_config
from ocularseg.training.models.io import load_model
from ocularseg.training.trainer import train

log = logging.getLogger(__name__)

CELL_RESULT = "cell_result.json"


class GridConfig(BaseModel):
    """An experiment grid (see ``docs/configs/grid.yaml``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    out: Path = Field(description="results folder")
    train_data: Path = Field(description="dataset for training/validation")
    test_sets: dict[str, Path] = Field(description="name -> dataset, e.g. test, shifted")
    models: dict[str, dict[str, Any]] = Field(description="model name -> constructor options")
    losses: list[str] = Field(min_length=1, description="loss registry names")
    train_fractions: list[float] = Field([1.0], description="shares of training subjects")
    seeds: list[int] = Field([0], min_length=1)
    base: dict[str, Any] = Field(
        default_factory=dict, description="TrainConfig fields shared by every cell"
    )
    loss_options: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="loss name -> options"
    )
    resamples: int = Field(1000, ge=100)
    bootstrap_seed: int = 0
    max_test_images: int | None = Field(None, ge=1, description="cap per test set (speed)")


def load_grid(path: str | os.PathLike[str]) -> GridConfig:
    """Read a grid YAML; relative paths are relative to its folder."""
    raw = read_yaml_mapping(path)
    for key in ("out", "train_data"):
        if key in raw:
            raw[key] = relative_to_file(path, raw[key])
    if isinstance(raw.get("test_sets"), dict):
        raw["test_sets"] = {k: relative_to_file(path, v) for k, v in raw["test_sets"].items()}
    return validate_config(GridConfig, raw, str(path))


def cell_name(model: str, loss: str, fraction: float, seed: int) -> str:
    return f"{model}__{loss.replace('+', '-')}__f{fraction:g}__s{seed}"


def _predict(model: torch.nn.Module, images: list[np.ndarray]) -> list[np.ndarray]:
    with torch.no_grad():
        logits = model(torch.from_numpy(normalise_rgb(np.stack(images))))
    return list(logits.argmax(dim=1).to(torch.uint8).numpy())


def score_checkpoint(
    weights: Path, dataset: Path, *, max_images: int | None = None, batch: int = 8
) -> pd.DataFrame:
    """Per-image rows (``image_id``, ``subject``, ``dice``, ``hd95_px``, ``component_error``)."""
    model = load_model(weights).eval()
    rows = read_manifest(dataset)
    rows = [r for r in rows if r.split in ("", "test")][: max_images or None]

    def pairs():
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            preds = _predict(model, [read_image_rgb(dataset / r.image) for r in chunk])
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
    subjects = {r.stem: r.subject for r in rows}
    per_image["subject"] = [subjects[i] for i in per_image.index]
    return per_image.reset_index()


def run_grid(grid: GridConfig) -> pd.DataFrame:
    """Train and score every missing cell, then write ``results.csv`` and ``results.md``."""
    out = grid.out
    out.mkdir(parents=True, exist_ok=True)
    for model_name, model_options in grid.models.items():
        for loss in grid.losses:
            for fraction in grid.train_fractions:
                for seed in grid.seeds:
                    _run_cell(grid, model_name, model_options, loss, fraction, seed)
    table = aggregate(grid)
    write_text_atomic(out / "results.csv", table.to_csv(index=False))
    write_text_atomic(out / "results.md", results_markdown(table, grid))
    return table


def _run_cell(grid, model_name, model_options, loss, fraction, seed) -> None:
    name = cell_name(model_name, loss, fraction, seed)
    cell_dir = grid.out / "cells" / name
    if (cell_dir / CELL_RESULT).is_file():
        log.info("cell %s done; skipped", name)
        return
    raw = {
        **grid.base,
        "data": str(grid.train_data),
        "out": str(cell_dir / "run"),
        "model": {"name": model_name, "options": model_options},
        "loss": {"name": loss, "options": grid.loss_options.get(loss, {})},
        "train_fraction": fraction,
        "seed": seed,
    }
    config = parse_train_config(raw, source=f"grid cell {name}")
    began = time.perf_counter()
    # An interrupted cell restarts from its last checkpoint.
    resume = (cell_dir / "run" / "checkpoints" / "last_state.pt").is_file()
    result = train(config, resume=resume, show_progress=False)
    train_s = time.perf_counter() - began
    weights = cell_dir / "run" / "checkpoints" / "best.safetensors"
    for set_name, dataset in grid.test_sets.items():
        scores = score_checkpoint(weights, dataset, max_images=grid.max_test_images)
        write_text_atomic(cell_dir / f"scores_{set_name}.csv", scores.to_csv(index=False))
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


def aggregate(grid: GridConfig) -> pd.DataFrame:
    """One row per (model, loss, fraction, test set) over the finished cells."""
    records = []
    for model_name in grid.models:
        for loss in grid.losses:
            for fraction in grid.train_fractions:
                for set_name in grid.test_sets:
                    frames, seed_means = [], {"dice": [], "hd95_px": [], "component_error": []}
                    for seed in grid.seeds:
                        path = grid.out / "cells" / cell_name(model_name, loss, fraction, seed)
                        scores_path = path / f"scores_{set_name}.csv"
                        if scores_path.is_file():
                            df = pd.read_csv(scores_path)
                            frames.append(df)
                            for key in seed_means:
                                seed_means[key].append(float(df[key].mean()))
                    if not frames:
                        continue
                    pooled = (
                        pd.concat(frames)
                        .groupby("image_id")
                        .agg(
                            dice=("dice", "mean"),
                            hd95_px=("hd95_px", "mean"),
                            component_error=("component_error", "mean"),
                            subject=("subject", "first"),
                        )
                    )
                    record = {
                        "model": model_name,
                        "loss": loss,
                        "train_fraction": fraction,
                        "test_set": set_name,
                        "seeds": len(frames),
                        "images": len(pooled),
                    }
                    for key in ("dice", "hd95_px", "component_error"):
                        est, low, high = bootstrap_ci(
                            pooled[key].to_numpy(),
                            seed=grid.bootstrap_seed,
                            n_resamples=grid.resamples,
                            clusters=pooled["subject"].to_numpy(),
                        )
                        record[key] = est
                        record[f"{key}_ci_low"] = low
                        record[f"{key}_ci_high"] = high
                        record[f"{key}_seed_sd"] = (
                            float(np.std(seed_means[key], ddof=1))
                            if len(frames) > 1
                            else float("nan")
                        )
                    records.append(record)
    return pd.DataFrame.from_records(records)


def results_markdown(table: pd.DataFrame, grid: GridConfig) -> str:
    """The Table-2 layout: one row per (model, loss, fraction), Dice / HD95 per test set."""
    if table.empty:
        return "No finished cells.\n"
    sets = list(grid.test_sets)
    header = ["model", "loss", "train %"]
    for s in sets:
        header += [f"{s} Dice % [95% CI]", f"{s} HD95 px [95% CI]", f"{s} comp. err."]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    keys = table[["model", "loss", "train_fraction"]].drop_duplicates().itertuples(index=False)
    for model_name, loss, fraction in keys:
        cells = [model_name, loss, f"{100 * fraction:g}"]
        for s in sets:
            row = table[
                (table.model == model_name)
                & (table.loss == loss)
                & (table.train_fraction == fraction)
                & (table.test_set == s)
            ]
            if row.empty:
                cells += ["n/a"] * 3
                continue
            r = row.iloc[0]
            cells.append(
                f"{100 * r.dice:.1f} [{100 * r.dice_ci_low:.1f}, {100 * r.dice_ci_high:.1f}]"
            )
            cells.append(f"{r.hd95_px:.1f} [{r.hd95_px_ci_low:.1f}, {r.hd95_px_ci_high:.1f}]")
            cells.append(
                f"{r.component_error:.2f} [{r.component_error_ci_low:.2f}, "
                f"{r.component_error_ci_high:.2f}]"
            )
        lines.append("| " + " | ".join(cells) + " |")
    seeds = int(table["seeds"].max())
    lines += [
        "",
        f"Seeds per cell: {seeds}. CIs: 95 % percentile bootstrap over test subjects "
        f"({grid.resamples} resamples) of per-image values averaged over seeds. "
        "Dice and HD95 are means over the foreground classes present in each image; "
        "component error is summed over classes.",
    ]
    return "\n".join(lines) + "\n"
