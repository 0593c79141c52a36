"""Export a trained checkpoint as a self-describing model folder.

``models/NAME/``: ``model.onnx`` (dynamic batch, weights inside), ``model.json`` (input size,
channel order, normalisation, labels, opset, sha256, architecture, training config, git
commit, parity and evaluation results), ``model.safetensors`` (for ``train --init``
fine-tuning) and ``MODEL_CARD.md``. The folder is assembled beside the target and renamed
into place only after the parity check passed, so a failed export leaves nothing behind.
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

from ocularseg import __version__
from ocularseg.core.errors import ConfigError, DataError
from ocularseg.core.eye_prior import TEMPLATE_POINTS_CROP_PX, eye_prior_map, prior_channel
from ocularseg.core.labels import NUM_CLASSES
from ocularseg.core.preprocess import CHANNEL_ORDER, NORM_MEAN_RGB, NORM_STD_RGB, normalise_rgb
from ocularseg.data.manifest import read_manifest
from ocularseg.io.atomic import replacing_folder, write_json_atomic, write_text_atomic
from ocularseg.io.images import read_image_rgb
from ocularseg.io.model_folder import InputSpec, OutputSpec, PriorSpec, build_model_json
from ocularseg.training.models.io import load_model, read_metadata, save_weights
from ocularseg.training.onnx_export import DEFAULT_OPSET, check_parity, export_onnx
from ocularseg.training.trainer import git_commit

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


def export_model_folder(
    checkpoint: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    name: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    evaluation: dict[str, Any] | None = None,
    evaluation_markdown: str | None = None,
    overwrite: bool = False,
    opset: int = DEFAULT_OPSET,
) -> dict[str, Any]:
    """Export, check parity, and write the model folder; returns the model.json content.

    Args:
        checkpoint: run folder (uses checkpoints/best.safetensors) or a .safetensors file.
        out_dir: the model folder to create (e.g. ``models/my-model``).
        name: model name (default: the folder name).
        data_dir: dataset for the parity batch (default: the run's training data).
        evaluation: evaluation summary to embed in model.json.
        evaluation_markdown: the evaluation table for MODEL_CARD.md.
        overwrite: replace an existing folder.

    Raises:
        ConfigError: missing checkpoint or data, the target exists without overwrite, or
            the run was trained at an ``input_scale`` other than 1.
        ModelError: parity between PyTorch and ONNX Runtime fails.
    """
    weights, run_dir = resolve_checkpoint(Path(checkpoint))
    target = Path(out_dir)
    if target.exists() and not overwrite:
        raise ConfigError(f"{target} already exists (pass --overwrite to replace it)")
    train_config: dict[str, Any] = {}
    run_info: dict[str, Any] = {}
    if run_dir is not None and (run_dir / "train_config.json").is_file():
        train_config = json.loads((run_dir / "train_config.json").read_text())
        if (run_dir / "run.json").is_file():
            run_info = json.loads((run_dir / "run.json").read_text())
    input_scale = float(train_config.get("input_scale", 1.0))
    if input_scale != 1:
        # analyze feeds whole 480×320 crops; a net trained on 240×160 would see every
        # structure twice as large as it learned and segment it badly without any error.
        raise ConfigError(
            f"{run_dir}: trained at input_scale {input_scale:g}, but analyze feeds 480×320 "
            "crops; only models trained at input_scale 1 can be exported"
        )
    data = Path(data_dir) if data_dir else (Path(train_config["data"]) if train_config else None)
    if data is None:
        raise ConfigError("no dataset for the parity check: pass --data DATASET")

    model = load_model(weights)
    model.eval()
    batch = parity_batch(data)
    prior_spec = None
    if train_config.get("prior"):
        prior_spec = PriorSpec(
            sigma_frac=float(train_config["prior"]["sigma_frac"]),
            template_points_crop_px=TEMPLATE_POINTS_CROP_PX,
        )
        # The parity batch gets the template prior (what a crop without landmarks sees).
        prior = prior_channel(eye_prior_map(None, batch.shape[2:], prior_spec.sigma_frac))
        batch = np.concatenate(
            [batch, np.broadcast_to(prior, (len(batch), 1, *prior.shape))], axis=1
        ).astype(np.float32)
    if int(getattr(model, "in_channels", 3)) != batch.shape[1]:
        raise ConfigError(
            f"{weights}: the network takes {model.in_channels} input channels but the "
            f"training config gives {batch.shape[1]} (a landmark prior needs 4)"
        )
    with replacing_folder(target) as staging:
        export_onnx(model, staging / "model.onnx", opset=opset, in_channels=batch.shape[1])
        parity = check_parity(model, staging / "model.onnx", torch.from_numpy(batch))
        save_weights(model, staging / "model.safetensors", {"exported_from": weights.name})
        spec = InputSpec(
            height=batch.shape[2],
            width=batch.shape[3],
            channel_order=CHANNEL_ORDER,
            mean=NORM_MEAN_RGB,
            std=NORM_STD_RGB,
            prior=prior_spec,
        )
        meta = read_metadata(weights)
        outputs = int(getattr(model, "num_classes", NUM_CLASSES))
        if outputs not in (NUM_CLASSES, NUM_CLASSES + 1):
            raise ConfigError(
                f"{weights}: the network has {outputs} output channels; a model folder holds "
                f"{NUM_CLASSES} class logits, or those and one amodal iris-disc channel"
            )
        output_spec = (
            OutputSpec(amodal_iris_disc_channel=NUM_CLASSES) if outputs > NUM_CLASSES else None
        )
        content = build_model_json(
            staging,
            name=name or target.name,
            opset=opset,
            input_spec=spec,
            output_spec=output_spec,
            architecture={
                "name": model.name,
                "config": model.config(),
                "parameters": int(sum(p.numel() for p in model.parameters())),
            },
            training={
                "config": train_config,
                "run": run_info,
                "checkpoint": weights.name,
                "epoch": meta.get("epoch"),
            },
            git_commit=git_commit(),
            ocularseg_version=__version__,
            parity={
                **asdict(parity),
                "tolerance_max_abs_logit": 1e-3,
                "tolerance_min_argmax_agreement": 0.999,
            },
            evaluation=evaluation or {},
            onnx_size_bytes=(staging / "model.onnx").stat().st_size,
        )
        write_json_atomic(staging / "model.json", content)
        write_text_atomic(staging / "MODEL_CARD.md", model_card(content, evaluation_markdown))
    log.info("exported %s (parity max |Δ| %.2e)", target, parity.max_abs_logit_diff)
    return content


def _data_lines(config: dict[str, Any], run: dict[str, Any]) -> list[str]:
    extra = config.get("extra_data") or []
    lines = [
        f"- Data: `{config.get('data', 'n/a')}`"
        + (f" (batch share {config.get('data_share', 1.0)})" if extra else "")
        + f" — {run.get('train_images', 'n/a')} training images from "
        f"{run.get('train_subjects', 'n/a')} subjects, {run.get('val_images', 'n/a')} "
        f"validation images from {run.get('val_subjects', 'n/a')} subjects in all"
    ]
    lines += [f"- Mixed in: `{e.get('path')}` (batch share {e.get('share')})" for e in extra]
    if config.get("prior"):
        lines.append(
            f"- Landmark-prior input channel: {json.dumps(config['prior'], sort_keys=True)}"
        )
    return lines


def _limitations(config: dict[str, Any]) -> list[str]:
    loss = str(config.get("loss", {}).get("name", ""))
    if config.get("extra_data") or loss.startswith("pce"):
        first = (
            "- Trained on procedural phantoms and on real faces whose labels come from a "
            "teacher (MediaPipe Face Mesh + iris), not from human masks: real-data numbers are "
            "agreement with that teacher. Validate it on your own annotated images "
            "(`ocularseg evaluate`) before relying on it, and fine-tune on them "
            "(`ocularseg train --init`) if needed."
        )
    else:
        first = (
            "- Trained on procedural eye phantoms only (no real patient images were available). "
            "Validate it on your own annotated images (`ocularseg evaluate`) before relying on "
            "it, and fine-tune on them (`ocularseg train --init`) if needed."
        )
    return [
        first,
        "- Phantom metrics overstate accuracy on real photographs (domain shift).",
        "- Measurements in mm assume an 11.7 mm horizontal visible iris diameter.",
    ]


def _prior_lines(prior: dict[str, Any] | None) -> list[str]:
    """The card's words for a landmark-prior input channel (model.json gives the numbers)."""
    if not prior:
        return []
    template = ", ".join(f"({x:.0f}, {y:.0f})" for x, y in prior["template_points_crop_px"])
    return [
        "- Fourth input channel, the landmark prior (model.json `input.prior`): 2·prior − 1, "
        "where prior = 1 inside the hexagon of dlib's six eye points (68-point model, "
        "36–41 or 42–47) in crop px and exp(−d² / (2 (σ·w)²)) at distance d outside it, "
        f"σ = {prior['sigma_frac']} and w = the corner-to-corner distance. Crops without "
        f"landmarks (eye photographs, imported data sets) get the average eye: {template}."
    ]


def model_card(content: dict[str, Any], evaluation_markdown: str | None) -> str:
    """MODEL_CARD.md text from model.json content and an evaluation table.

    Sections stored in model.json under ``card_sections`` (title → Markdown, e.g. the real
    development set's results added by ``export --real``) follow the evaluation.
    """
    arch = content["architecture"]
    training = content.get("training", {})
    config = training.get("config", {})
    run = training.get("run", {})
    parity = content.get("parity", {})
    onnx_mb = f"{content.get('onnx_size_bytes', 0) / 1e6:.1f} MB"
    max_diff = parity.get("max_abs_logit_diff", float("nan"))
    agreement = parity.get("argmax_agreement", float("nan"))
    lines = [
        f"# Model card: {content['name']}",
        "",
        "Segments a 480×320 RGB eye crop into background, sclera, iris, pupil and caruncle "
        "for ocularseg's eyelid measurements. **A measurement aid, not a diagnostic device.**",
        "",
        "## Model",
        f"- Architecture: {arch.get('name')} {json.dumps(arch.get('config', {}), sort_keys=True)}",
        f"- Parameters: {arch.get('parameters', 'n/a'):,}"
        if isinstance(arch.get("parameters"), int)
        else "- Parameters: n/a",
        f"- ONNX opset {content['opset']}, sha256 `{content['sha256']}` ({onnx_mb})",
        f"- Input: {content['input']['width']}×{content['input']['height']} "
        f"{content['input']['channel_order']}, scaled by 1/255 then normalised with mean "
        f"{content['input']['mean']} and std {content['input']['std']}",
        *_prior_lines(content["input"].get("prior")),
        f"- Parity PyTorch vs ONNX Runtime: max |Δlogit| {max_diff:.2e}, "
        f"argmax agreement {100 * agreement:.3f} %",
        f"- Code: ocularseg {content.get('ocularseg_version')}, commit {content.get('git_commit')}",
        "",
        "## Training",
        *_data_lines(config, run),
        f"- Loss: {config.get('loss', {}).get('name', 'n/a')} "
        f"{json.dumps(config.get('loss', {}).get('options', {}), sort_keys=True)}",
        f"- Epochs run: {run.get('epochs_done', 'n/a')} "
        f"(best epoch {run.get('best_epoch', 'n/a')}), "
        f"batch {config.get('batch_size', 'n/a')}, lr {config.get('learning_rate', 'n/a')}, "
        f"train fraction {config.get('train_fraction', 'n/a')}, seed {config.get('seed', 'n/a')}",
        f"- Hardware: {run.get('device', 'n/a')}, {run.get('total_seconds', float('nan')):.0f} s",
        "",
        "## Evaluation",
        evaluation_markdown.strip() if evaluation_markdown else "Not evaluated at export time.",
        "",
    ]
    sections = content.get("card_sections", {})
    # model.json is written with sorted keys: the order sections were added is kept apart.
    order = [t for t in content.get("card_section_order", []) if t in sections]
    for title in order + sorted(set(sections) - set(order)):
        lines += [f"## {title}", sections[title].strip(), ""]
    lines += ["## Limitations", *_limitations(config), ""]
    return "\n".join(lines)


def attach_evaluation(
    model_dir: str | os.PathLike[str], evaluation: dict[str, Any], markdown: str
) -> None:
    """Add an evaluation summary to an exported folder's model.json and MODEL_CARD.md.

    The ONNX file is untouched, so its sha256 stays valid.
    """
    folder = Path(model_dir)
    content = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    content["evaluation"] = evaluation
    content["evaluation_markdown"] = markdown
    write_json_atomic(folder / "model.json", content)
    write_text_atomic(folder / "MODEL_CARD.md", model_card(content, markdown))


def attach_card_section(model_dir: str | os.PathLike[str], title: str, markdown: str) -> None:
    """Add (or replace) a titled section of MODEL_CARD.md, kept in model.json.

    The ONNX file is untouched, so its sha256 stays valid.
    """
    folder = Path(model_dir)
    content = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    content.setdefault("card_sections", {})[title] = markdown
    order = content.setdefault("card_section_order", [])
    if title not in order:
        order.append(title)
    write_json_atomic(folder / "model.json", content)
    write_text_atomic(
        folder / "MODEL_CARD.md", model_card(content, content.get("evaluation_markdown"))
    )
