"""Grid tables: per-cell means with CIs, per-class Dice, and paired effects of added terms.

Reads the ``scores_<set>.csv`` files that :mod:`ocularseg.training.experiment` writes per
cell; pure pandas, so finished cells can be tabulated while others still train.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ocularseg.evaluation import bootstrap_ci
from ocularseg.training.grid_config import (
    CLASS_NAMES,
    SCORE_KEYS,
    GridConfig,
    cell_name,
    model_losses,
)


def aggregate(grid: GridConfig) -> pd.DataFrame:
    """One row per (model, loss, fraction, test set) over the finished cells."""
    records = []
    for model_name in grid.models:
        for loss in model_losses(grid, model_name):
            for fraction in grid.train_fractions:
                for set_name in grid.test_sets:
                    frames = _seed_frames(grid, model_name, loss, fraction, set_name)
                    if not frames:
                        continue
                    pooled = _pooled(frames)
                    present = [key for key in SCORE_KEYS if key in pooled]
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
                            float(np.std([df[key].mean() for df in frames], ddof=1))
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


def _seed_frames(
    grid: GridConfig, model: str, loss: str, fraction: float, set_name: str
) -> list[pd.DataFrame]:
    """The per-image score tables of one (model, loss, fraction) on one test set, per seed."""
    frames = []
    for seed in grid.seeds:
        cell_dir = grid.out / "cells" / cell_name(model, loss, fraction, seed)
        path = cell_dir / f"scores_{set_name}.csv"
        if path.is_file():
            frames.append(pd.read_csv(path))
    return frames


def _pooled(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Per-image means over seeds of every score the tables have, indexed by image."""
    stacked = pd.concat(frames)
    present = [key for key in SCORE_KEYS if key in stacked]
    return stacked.groupby("image_id").agg(
        subject=("subject", "first"), **{key: (key, "mean") for key in present}
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
                    with_term = _seed_frames(grid, model, loss, fraction, set_name)
                    without = _seed_frames(grid, model, base, fraction, set_name)
                    if not with_term or not without:
                        continue
                    joined = _pooled(with_term).merge(
                        _pooled(without), left_index=True, right_index=True, suffixes=("", "_base")
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
