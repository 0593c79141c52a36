"""Experiment grid configuration: which cells exist and how each one trains.

A grid is models × losses × training fractions × seeds (the layout of the TIU paper's
Table 2), plus per-model extra rows (``extra_losses``) and named loss settings
(``loss_variants``) for ablations. See ``GRID.yaml`` for a complete example.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ocularseg.core.errors import ConfigError
from ocularseg.core.labels import Label
from ocularseg.io.config_files import read_yaml_mapping, relative_to_file, validate_config

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
