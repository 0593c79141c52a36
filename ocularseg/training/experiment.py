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
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch.nn import functional as F

from ocularseg.core.errors import ConfigError
from ocularseg.core.labels import Label
from ocularseg.core.preprocess import normalise_rgb
from ocularseg.data.manifest import read_manifest
from ocularseg.evaluation import bootstrap_ci, evaluate_dataset
from ocularseg.io.atomic import write_json_atomic, write_text_atomic
from ocularseg.io.config_files import read_yaml_mapping, relative_to_file, validate_config
from ocularseg.io.images import read_image_rgb, read_image_unchanged
from ocularseg.training.config import parse_train_config
from ocularseg.training.dataset import rescale_image
from ocularseg.training.models.io import load_model
from ocularseg.training.trainer import train

log = logging.getLogger(__name__)

CELL_RESULT = "cell_result.json"
#: Foreground classes scored per image (``dice_<name>`` columns).
CLASS_NAMES: tuple[str, ...] = tuple(
    label.name.lower() for label in Label if label != Label.BACKGROUND
)
#: Per-image scores aggregated per cell (mean with a bootstrap CI and the seed spread).
SCORE_KEYS: tuple[str, ...] = (
    "dice",
    "hd95_px",
    "component_error",
    *(f"dice_{name}" for name in CLASS_NAMES),
)


class LossVariant(BaseModel):
    """A named loss setting for ablations, e.g. ``ce+tiu-topo: {loss: ce+tiu, options: ...}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    loss: str = Field(description="loss registry name")
    options: dict[str, Any] = Field(
        default_factory=dict, description="options, on top of loss_options[loss]"
    )


class GridConfig(BaseModel):
    """An experiment grid (see ``GRID.yaml``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    out: Path = Field(description="results folder")
    train_data: Path = Field(description="dataset for training/validation")
    test_sets: dict[str, Path] = Field(description="name -> dataset, e.g. test, shifted")
    models: dict[str, dict[str, Any]] = Field(description="model name -> constructor options")
    losses: list[str] = Field(min_length=1, description="loss registry names")
    extra_losses: dict[str, list[str]] = Field(
        default_factory=dict,
        description="model name -> further losses run for that model only (extra rows)",
    )
    train_fractions: list[float] = Field([1.0], description="shares of training subjects")
    seeds: list[int] = Field([0], min_length=1)
    base: dict[str, Any] = Field(
        default_factory=dict, description="TrainConfig fields shared by every cell"
    )
    loss_options: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="loss name -> options"
    )
    loss_variants: dict[str, LossVariant] = Field(
        default_factory=dict,
        description="row name -> loss and options; the name can be used in losses and "
        "extra_losses like a registry name (ablations of one loss's weights)",
    )
    resamples: int = Field(1000, ge=100)
    bootstrap_seed: int = 0
    max_test_images: int | None = Field(None, ge=1, description="cap per test set (speed)")


def model_losses(grid: GridConfig, model: str) -> list[str]:
    """The losses of one model's rows: the shared ones, then its extra ones."""
    return list(dict.fromkeys([*grid.losses, *grid.extra_losses.get(model, [])]))


def grid_cells(grid: GridConfig) -> list[tuple[str, str, float, int]]:
    """Every ``(model, loss, train fraction, seed)`` of the grid, in run order."""
    return [
        (model, loss, fraction, seed)
        for model in grid.models
        for loss in model_losses(grid, model)
        for fraction in grid.train_fractions
        for seed in grid.seeds
    ]


def load_grid(path: str | os.PathLike[str]) -> GridConfig:
    """Read a grid YAML; relative paths are relative to its folder."""
    raw = read_yaml_mapping(path)
    for key in ("out", "train_data"):
        if key in raw:
            raw[key] = relative_to_file(path, raw[key])
    if isinstance(raw.get("test_sets"), dict):
        raw["test_sets"] = {k: relative_to_file(path, v) for k, v in raw["test_sets"].items()}
    grid = validate_config(GridConfig, raw, str(path))
    bad = sorted(n for n in grid.loss_variants if not re.fullmatch(r"[a-z0-9][a-z0-9+._-]*", n))
    if bad:
        raise ConfigError(
            f"{path}: loss variant name(s) {', '.join(bad)} must be lower-case letters, "
            "digits and + . _ - (they name folders)"
        )
    unknown = sorted(set(grid.extra_losses) - set(grid.models))
    if unknown:
        raise ConfigError(
            f"{path}: extra_losses names model(s) {', '.join(unknown)} that are not in "
            f"models ({', '.join(grid.models)})"
        )
    return grid


def resolve_loss(grid: GridConfig, row_loss: str) -> tuple[str, dict[str, Any]]:
    """Registry name and options of a row's loss (a registry name or a loss variant)."""
    variant = grid.loss_variants.get(row_loss)
    if variant is None:
        return row_loss, dict(grid.loss_options.get(row_loss, {}))
    return variant.loss, {**grid.loss_options.get(variant.loss, {}), **variant.options}


def cell_name(model: str, loss: str, fraction: float, seed: int) -> str:
    return f"{model}__{loss.replace('+', '-')}__f{fraction:g}__s{seed}"


def _predict(
    model: torch.nn.Module, images: list[np.ndarray], input_scale: float = 1.0
) -> list[np.ndarray]:
    """Label maps (H, W) uint8 at the images' own size for a list of (H, W, 3) RGB images.

    With ``input_scale`` < 1 the network sees images resized as in training
    (:func:`~ocularseg.training.dataset.rescale_pair`) and its logits are resized back
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


def aggregate(grid: GridConfig) -> pd.DataFrame:
    """One row per (model, loss, fraction, test set) over the finished cells."""
    records = []
    for model_name in grid.models:
        for loss in model_losses(grid, model_name):
            for fraction in grid.train_fractions:
                for set_name in grid.test_sets:
                    frames: list[pd.DataFrame] = []
                    seed_means: dict[str, list[float]] = {key: [] for key in SCORE_KEYS}
                    for seed in grid.seeds:
                        path = grid.out / "cells" / cell_name(model_name, loss, fraction, seed)
                        scores_path = path / f"scores_{set_name}.csv"
                        if scores_path.is_file():
                            df = pd.read_csv(scores_path)
                            frames.append(df)
                            for key in seed_means:
                                seed_means[key].append(
                                    float(df[key].mean()) if key in df else float("nan")
                                )
                    if not frames:
                        continue
                    stacked = pd.concat(frames)
                    present = [key for key in SCORE_KEYS if key in stacked]
                    pooled = stacked.groupby("image_id").agg(
                        subject=("subject", "first"),
                        **{key: (key, "mean") for key in present},
                    )
                    record = {
                        "model": model_name,
                        "loss": loss,
                        "train_fraction": fraction,
                        "test_set": set_name,
                        "seeds": len(frames),
                        "images": len(pooled),
                    }
                    for key in present:
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


def results_markdown(
    table: pd.DataFrame, grid: GridConfig, effects: pd.DataFrame | None = None
) -> str:
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
    lines += _per_class_markdown(table, sets)
    if effects is None:
        effects = paired_effects(grid)
    if not effects.empty:
        lines += _effects_markdown(effects)
    return "\n".join(lines) + "\n"


def _per_class_markdown(table: pd.DataFrame, sets: list[str]) -> list[str]:
    if "dice_sclera" not in table:
        return []
    lines = []
    for s in sets:
        part = table[table.test_set == s]
        lines += [
            "",
            f"Per-class Dice % on {s} (mean over images where the class is in the reference "
            "or the prediction):",
            "",
            "| model | loss | train % | " + " | ".join(CLASS_NAMES) + " |",
            "|" + "---|" * (3 + len(CLASS_NAMES)),
        ]
        for r in part.itertuples(index=False):
            values = [f"{100 * getattr(r, f'dice_{name}'):.1f}" for name in CLASS_NAMES]
            head = f"| {r.model} | {r.loss} | {100 * r.train_fraction:g} | "
            lines.append(head + " | ".join(values) + " |")
    return lines


def _cell_scores(grid: GridConfig, model: str, loss: str, fraction: float, set_name: str):
    """Per-image scores of one (model, loss, fraction) averaged over its finished seeds."""
    frames = []
    for seed in grid.seeds:
        cell_dir = grid.out / "cells" / cell_name(model, loss, fraction, seed)
        path = cell_dir / f"scores_{set_name}.csv"
        if path.is_file():
            frames.append(pd.read_csv(path))
    if not frames:
        return None
    return (
        pd.concat(frames)
        .groupby("image_id")
        .agg(subject=("subject", "first"), dice=("dice", "mean"), hd95_px=("hd95_px", "mean"))
    )


def paired_effects(grid: GridConfig) -> pd.DataFrame:
    """Effect of each added term: ``score(X+extra) − score(X)`` per image, paired.

    For every model and every loss ``X+extra`` whose pixel loss ``X`` is also in that model's
    row set (``ce+tiu`` vs ``ce``, ``dice+tiu`` vs ``dice``, ``dice+pp`` vs ``dice``, …), the
    per-image differences of Dice and HD95 on the same test images, with a 95 % percentile
    bootstrap CI over test subjects. Pairing removes the between-image spread, so these CIs
    are much narrower than a comparison of two cells' own CIs.
    """
    records = []
    for model in grid.models:
        losses = model_losses(grid, model)
        for loss in losses:
            base = loss.split("+", 1)[0]
            if "+" not in loss or base not in losses:
                continue
            for fraction in grid.train_fractions:
                for set_name in grid.test_sets:
                    with_term = _cell_scores(grid, model, loss, fraction, set_name)
                    without = _cell_scores(grid, model, base, fraction, set_name)
                    if with_term is None or without is None:
                        continue
                    joined = with_term.merge(
                        without, left_index=True, right_index=True, suffixes=("", "_base")
                    )
                    record = {
                        "model": model,
                        "loss": loss,
                        "baseline": base,
                        "train_fraction": fraction,
                        "test_set": set_name,
                        "images": len(joined),
                    }
                    for key in ("dice", "hd95_px"):
                        est, low, high = bootstrap_ci(
                            (joined[key] - joined[f"{key}_base"]).to_numpy(),
                            seed=grid.bootstrap_seed,
                            n_resamples=grid.resamples,
                            clusters=joined["subject"].to_numpy(),
                        )
                        record.update(
                            {
                                f"delta_{key}": est,
                                f"delta_{key}_ci_low": low,
                                f"delta_{key}_ci_high": high,
                            }
                        )
                    records.append(record)
    return pd.DataFrame.from_records(records)


def _effects_markdown(effects: pd.DataFrame) -> list[str]:
    lines = [
        "",
        "Paired effect of the added term (X+term − X on the same images; 95 % CI by subject "
        "bootstrap; Dice in points, HD95 in px, negative HD95 = better):",
        "",
        "| model | loss vs baseline | train % | test set | ΔDice [95% CI] | ΔHD95 px [95% CI] |",
        "|---|---|---|---|---|---|",
    ]
    for r in effects.itertuples(index=False):
        lines.append(
            f"| {r.model} | {r.loss} vs {r.baseline} | {100 * r.train_fraction:g} | {r.test_set} "
            f"| {100 * r.delta_dice:+.1f} [{100 * r.delta_dice_ci_low:+.1f}, "
            f"{100 * r.delta_dice_ci_high:+.1f}] | {r.delta_hd95_px:+.1f} "
            f"[{r.delta_hd95_px_ci_low:+.1f}, {r.delta_hd95_px_ci_high:+.1f}] |"
        )
    return lines
