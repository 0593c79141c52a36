"""The training configuration: one frozen pydantic model, every field documented.

Loaded from YAML by ``ocularseg train CONFIG.yaml``; unknown keys are an error so a misspelt
option never silently falls back to a default. ``examples/train.yaml`` shows every field.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ocularseg.io.config_files import read_yaml_mapping, relative_to_file, validate_config
from ocularseg.training.augment import AugmentParams
from ocularseg.training.dataset import AmodalDiscParams, PriorParams


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ModelConfig(_Frozen):
    """Which network to build (see ``ocularseg.training.models``)."""

    name: str = Field("unet", description="registry name: unet, fcn or unetr")
    options: dict[str, Any] = Field(
        default_factory=dict, description="constructor keyword arguments, e.g. base_channels"
    )


#: One loss option as YAML writes it: a number, flag, name or list (kernels, class weights).
#: Each keeps its exact type here; the loss's options model (``losses.options``) checks it.
LossOptionValue = bool | int | float | str | list[bool | int | float | str] | None


class LossConfig(_Frozen):
    """Which compound loss to use (see ``ocularseg.training.losses``)."""

    name: str = Field("ce+tiu", description="registry name, e.g. ce, dice, ce+tiu, ce+rw-gradual")
    options: dict[str, LossOptionValue] = Field(
        default_factory=dict, description="keyword arguments of the loss, e.g. alpha, beta"
    )


class ExtraData(_Frozen):
    """A further training dataset (e.g. real eyes with silver labels) mixed into every batch."""

    path: Path = Field(
        description="dataset folder; its 'train' rows train, its 'val' rows validate"
    )
    share: float = Field(gt=0, description="share of each batch drawn from it (vs data_share)")

    @field_validator("path")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return Path(os.path.expanduser(str(value)))


class TrainConfig(_Frozen):
    """Everything a training run needs; written beside the run's outputs."""

    data: Path = Field(description="dataset folder (manifest.csv, images/, masks/)")
    out: Path = Field(Path("runs/train"), description="run folder for checkpoints and metrics")
    extra_data: tuple[ExtraData, ...] = Field(
        (),
        description="further datasets mixed into training by batch share (real silver-labelled "
        "eyes, real-context phantoms); their 'val' rows join the validation",
    )
    data_share: float = Field(
        1.0, gt=0, description="batch share of 'data' when extra_data is given"
    )
    model: ModelConfig = Field(default_factory=ModelConfig)
    loss: LossConfig = Field(default_factory=LossConfig)
    epochs: int = Field(50, ge=1, description="maximum number of epochs")
    batch_size: int = Field(16, ge=1, description="images per step (the paper used 16)")
    learning_rate: float = Field(1e-3, gt=0, description="Adam learning rate")
    weight_decay: float = Field(0.0, ge=0, description="Adam weight decay")
    lr_schedule: Literal["cosine", "step", "constant"] = Field(
        "cosine", description="cosine decay to 1 % over the epochs, step (×0.1 at 2/3), constant"
    )
    train_fraction: float = Field(
        1.0, gt=0, le=1, description="fraction of training subjects used (0.1 / 0.5 / 1.0)"
    )
    val_fraction: float = Field(
        0.15,
        ge=0,
        lt=1,
        description="share of subjects held out for validation if the manifest has no val split",
    )
    augment: AugmentParams | None = Field(
        default_factory=AugmentParams, description="augmentation strengths; null switches it off"
    )
    prior: PriorParams | None = Field(
        None,
        description="landmark-prior input channel (ocularseg.core.eye_prior); the model then "
        "needs in_channels 4; null = RGB only",
    )
    amodal_disc: AmodalDiscParams | None = Field(
        None,
        description="also predict the whole iris disc, under the lids too "
        "(training.dataset.AmodalDiscParams); the model then needs num_classes 6; null = no",
    )
    crop_hw: tuple[int, int] | None = Field(
        None,
        description="train on random [height, width] windows (crop px, multiples of the "
        "model's stride) near the eye instead of whole crops: cheaper steps on CPU; "
        "validation always uses whole crops; null = whole crops",
    )
    input_scale: float = Field(
        1.0,
        gt=0,
        le=1,
        description="resize images and masks by this factor for training and validation "
        "(0.5 = 240×160; experiments on a CPU). Export refuses models trained at a scale "
        "other than 1, because analyze feeds whole 480×320 crops",
    )
    early_stopping_patience: int = Field(
        10, ge=0, description="stop after this many epochs without a better val Dice (0 = never)"
    )
    amp: bool = Field(True, description="mixed precision on CUDA (ignored on CPU)")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto = CUDA if present")
    num_workers: int = Field(0, ge=0, description="data-loading worker processes")
    seed: int = Field(0, description="seeds subsampling, splits, augmentation and init")
    max_steps_per_epoch: int | None = Field(
        None, ge=1, description="cap on steps per epoch (for quick runs); null = whole epoch"
    )
    init: Path | None = Field(
        None, description="model folder or safetensors file to start from (fine-tuning)"
    )

    @field_validator("data", "out", "init")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return None if value is None else Path(os.path.expanduser(str(value)))


def load_train_config(path: str | os.PathLike[str], **overrides: Any) -> TrainConfig:
    """Read a YAML config; relative paths are taken relative to the YAML file's folder.

    ``overrides`` (None = not given) win over the file; their paths are used as given.

    Raises:
        ConfigError: the file is missing, not YAML, or a field is unknown or invalid
            (the message names the field).
    """
    raw = read_yaml_mapping(path)
    for key in ("data", "out", "init"):
        if raw.get(key) is not None:
            raw[key] = relative_to_file(path, raw[key])
    for extra in raw.get("extra_data") or []:
        if isinstance(extra, dict) and extra.get("path") is not None:
            extra["path"] = relative_to_file(path, extra["path"])
    raw.update({k: v for k, v in overrides.items() if v is not None})
    return parse_train_config(raw, source=str(path))


def parse_train_config(raw: dict[str, Any], source: str = "config") -> TrainConfig:
    """Validate a mapping into a ``TrainConfig``; errors name the offending field."""
    return validate_config(TrainConfig, raw, source)
