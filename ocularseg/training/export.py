"""Export a trained checkpoint as a self-describing model folder.

``models/NAME/``: ``model.onnx`` (dynamic batch, weights inside), ``model.json`` (input size,
channel order, normalisation, labels, opset, sha256, architecture, training config, git
commit, parity and evaluation results), ``model.safetensors`` (for ``train --init``
fine-tuning) and ``MODEL_CARD.md``. The folder is assembled beside the target and renamed
into place only after the parity check passed, so a failed export leaves nothing behind.
``model.json`` and the card are written through :mod:`ocularseg.io.modelfolder`.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import ValidationError

from ocularseg import __version__
from ocularseg.core.errors import ConfigError, DataError
from ocularseg.core.eye_prior import TEMPLATE_POINTS_CROP_PX, eye_prior_map, prior_channel
from ocularseg.core.labels import NUM_CLASSES
from ocularseg.core.preprocess import CHANNEL_ORDER, NORM_MEAN_RGB, NORM_STD_RGB, normalise_rgb
from ocularseg.data.manifest import read_manifest
from ocularseg.io.atomic import replacing_folder
from ocularseg.io.images import read_image_rgb
from ocularseg.io.modelfolder import (
    Architecture,
    EvaluationSection,
    InputSpec,
    ModelSpec,
    OutputSpec,
    ParitySection,
    PriorSpec,
    TrainingSection,
    load_model_spec,
    new_model_spec,
    update_model_folder,
    write_model_folder,
)
from ocularseg.training.models.io import load_model, read_metadata, save_weights
from ocularseg.training.onnx_export import (
    DEFAULT_OPSET,
    MAX_ABS_LOGIT_DIFF,
    MIN_ARGMAX_AGREEMENT,
    ParityReport,
    check_parity,
    export_onnx,
)
from ocularseg.training.source_version import git_commit

log = logging.getLogger(__name__)

PARITY_IMAGES = 4


def resolve_checkpoint(checkpoint: Path) -> tuple[Path, Path | None]:
    """(weights file, run folder or None) from a run folder or a .safetensors file."""
    if checkpoint.is_dir():
        weights = checkpoint / "checkpoints" / "best.safetensors"
        if not weights.is_file():
            raise ConfigError(f"{checkpoint}: no checkpoints/best.safetensors in this run folder")
        return weights, checkpoint
    if not checkpoint.is_file():
        raise ConfigError(f"{checkpoint}: checkpoint not found")
    run_dir = checkpoint.parent.parent if checkpoint.parent.name == "checkpoints" else None
    return checkpoint, run_dir


def parity_batch(data_dir: Path, count: int = PARITY_IMAGES) -> np.ndarray:
    """A real batch (count, 3, 320, 480) float32 from a dataset's first images."""
    rows = read_manifest(data_dir)
    if not rows:
        raise DataError(f"{data_dir}: dataset has no images for the parity check")
    images = [read_image_rgb(data_dir / row.image) for row in rows[:count]]
    return normalise_rgb(np.stack(images))


def _run_records(run_dir: Path | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(train_config.json, run.json) of a run folder, empty where absent."""
    if run_dir is None or not (run_dir / "train_config.json").is_file():
        return {}, {}
    config = json.loads((run_dir / "train_config.json").read_text())
    run = json.loads(run_path.read_text()) if (run_path := run_dir / "run.json").is_file() else {}
    return config, run


def _training_section(
    config: dict[str, Any], run: dict[str, Any], weights: Path
) -> TrainingSection:
    """What model.json records of the run; the checkpoint's epoch counted from 1."""
    saved = read_metadata(weights).get("epoch")  # the trainer's 0-based epoch, as text
    epoch = int(saved) + 1 if saved is not None and str(saved).isdigit() else None
    record = {"config": config, "run": run, "checkpoint": weights.name, "checkpoint_epoch": epoch}
    try:
        return TrainingSection.model_validate(record)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(
            f"{weights}: its run's {where} cannot be recorded: {first['msg']}"
        ) from exc


def _check_exportable(config: dict[str, Any], run_dir: Path | None) -> None:
    input_scale = float(config.get("input_scale", 1.0))
    if input_scale != 1:
        # analyze feeds whole 480×320 crops; a net trained on 240×160 would see every
        # structure twice as large as it learned and segment it badly without any error.
        raise ConfigError(
            f"{run_dir}: trained at input_scale {input_scale:g}, but analyze feeds 480×320 "
            "crops; only models trained at input_scale 1 can be exported"
        )


def _input_and_batch(config: dict[str, Any], data: Path) -> tuple[InputSpec, np.ndarray]:
    """The folder's input spec and the parity batch (with the template prior if any)."""
    batch = parity_batch(data)
    prior_spec = None
    if config.get("prior"):
        prior_spec = PriorSpec(
            sigma_frac=float(config["prior"]["sigma_frac"]),
            template_points_crop_px=TEMPLATE_POINTS_CROP_PX,
        )
        # The parity batch gets the template prior (what a crop without landmarks sees).
        prior = prior_channel(eye_prior_map(None, batch.shape[2:], prior_spec.sigma_frac))
        batch = np.concatenate(
            [batch, np.broadcast_to(prior, (len(batch), 1, *prior.shape))], axis=1
        ).astype(np.float32)
    spec = InputSpec(
        height=batch.shape[2],
        width=batch.shape[3],
        channel_order=CHANNEL_ORDER,
        mean=NORM_MEAN_RGB,
        std=NORM_STD_RGB,
        prior=prior_spec,
    )
    return spec, batch


def _output_spec(model: torch.nn.Module, weights: Path, channels: int) -> OutputSpec:
    """Checks the network's channels against the data; the output spec it implies."""
    if int(getattr(model, "in_channels", 3)) != channels:
        raise ConfigError(
            f"{weights}: the network takes {model.in_channels} input channels but the "
            f"training config gives {channels} (a landmark prior needs 4)"
        )
    outputs = int(getattr(model, "num_classes", NUM_CLASSES))
    if outputs not in (NUM_CLASSES, NUM_CLASSES + 1):
        raise ConfigError(
            f"{weights}: the network has {outputs} output channels; a model folder holds "
            f"{NUM_CLASSES} class logits, or those and one amodal iris-disc channel"
        )
    return OutputSpec(amodal_iris_disc_channel=NUM_CLASSES if outputs > NUM_CLASSES else None)


def _architecture(model: torch.nn.Module) -> Architecture:
    """The network's registry name, constructor config and parameter count."""
    return Architecture(
        name=model.name,
        config=model.config(),
        parameters=int(sum(p.numel() for p in model.parameters())),
    )


def _parity_section(parity: ParityReport) -> ParitySection:
    """The parity check's result with the tolerances it was held to."""
    return ParitySection(
        **asdict(parity),
        tolerance_max_abs_logit=MAX_ABS_LOGIT_DIFF,
        tolerance_min_argmax_agreement=MIN_ARGMAX_AGREEMENT,
    )


def export_model_folder(
    checkpoint: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    name: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    opset: int = DEFAULT_OPSET,
) -> ModelSpec:
    """Export, check parity, and write the model folder; returns its spec (not evaluated).

    Args:
        checkpoint: run folder (uses checkpoints/best.safetensors) or a .safetensors file.
        out_dir: the model folder to create (e.g. ``models/my-model``).
        name: model name (default: the folder name).
        data_dir: dataset for the parity batch (default: the run's training data).
        overwrite: replace an existing folder.
        opset: ONNX opset version.

    Raises:
        ConfigError: missing checkpoint or data, the target exists without overwrite, or
            the run was trained at an ``input_scale`` other than 1.
        ModelError: parity between PyTorch and ONNX Runtime fails.
    """
    weights, run_dir = resolve_checkpoint(Path(checkpoint))
    target = Path(out_dir)
    if target.exists() and not overwrite:
        raise ConfigError(f"{target} already exists (pass --overwrite to replace it)")
    config, run = _run_records(run_dir)
    _check_exportable(config, run_dir)
    data = Path(data_dir) if data_dir else (Path(config["data"]) if config else None)
    if data is None:
        raise ConfigError("no dataset for the parity check: pass --data DATASET")
    model = load_model(weights)
    model.eval()
    input_spec, batch = _input_and_batch(config, data)
    output_spec = _output_spec(model, weights, batch.shape[1])
    with replacing_folder(target) as staging:
        export_onnx(model, staging / "model.onnx", opset=opset, in_channels=batch.shape[1])
        parity = check_parity(model, staging / "model.onnx", torch.from_numpy(batch))
        save_weights(model, staging / "model.safetensors", {"exported_from": weights.name})
        spec = new_model_spec(
            staging,
            name=name or target.name,
            opset=opset,
            input_spec=input_spec,
            output_spec=output_spec,
            architecture=_architecture(model),
            training=_training_section(config, run, weights),
            git_commit=git_commit(),
            ocularseg_version=__version__,
            parity=_parity_section(parity),
        )
        spec = write_model_folder(staging, spec)
    log.info("exported %s (parity max |Δ| %.2e)", target, parity.max_abs_logit_diff)
    return spec


def attach_evaluation(
    model_dir: str | os.PathLike[str], evaluation: dict[str, Any], markdown: str
) -> ModelSpec:
    """Record an evaluation summary (summary.json's ``settings`` and ``rows``) and its
    Markdown table in a model folder; the ONNX file is untouched, so its sha256 stays valid.
    """
    section = EvaluationSection.model_validate({**evaluation, "markdown": markdown})
    return update_model_folder(model_dir, evaluation=section)


def attach_card_section(model_dir: str | os.PathLike[str], title: str, markdown: str) -> ModelSpec:
    """Add (or replace, in its place) a titled section of a folder's card.

    The ONNX file is untouched, so its sha256 stays valid.
    """
    spec = load_model_spec(model_dir, verify_checksum=False)
    return update_model_folder(model_dir, card=spec.card.with_section(title, markdown))
