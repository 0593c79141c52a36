"""MODEL_CARD.md, built from ``model.json`` alone (:func:`render_card`).

The card is never edited by hand and never read back: everything it says is in the
folder's :class:`~ocularseg.io.modelfolder.document.ModelSpec` (facts from the export,
the evaluation's table, and ``card.sections`` for text written or measured elsewhere).
"""

from __future__ import annotations

import json

from ocularseg.io.modelfolder.document import ModelSpec
from ocularseg.io.modelfolder.sections import QuantizationSection, TrainConfigRecord
from ocularseg.io.modelfolder.spec import PriorSpec

_NOT_EVALUATED = "Not evaluated at export time."


def render_card(spec: ModelSpec) -> str:
    """The MODEL_CARD.md text of a model folder (an int8 folder gets its own shorter card)."""
    if spec.quantization is not None:
        return "\n".join(_quantized_lines(spec, spec.quantization))
    return "\n".join(_float_lines(spec))


def _evaluation_text(spec: ModelSpec) -> str:
    markdown = spec.evaluation.markdown if spec.evaluation else None
    return markdown.strip() if markdown else _NOT_EVALUATED


def _float_lines(spec: ModelSpec) -> list[str]:
    lines = [
        f"# Model card: {spec.name}",
        "",
        "Segments a 480×320 RGB eye crop into background, sclera, iris, pupil and caruncle "
        "for ocularseg's eyelid measurements. **A measurement aid, not a diagnostic device.**",
        "",
        "## Model",
        *_model_lines(spec),
        "",
        "## Training",
        *_training_lines(spec),
        "",
        "## Evaluation",
        _evaluation_text(spec),
        "",
    ]
    for section in spec.card.sections:
        lines += [f"## {section.title}", section.markdown.strip(), ""]
    config = spec.training.config if spec.training else TrainConfigRecord()
    lines += ["## Limitations", *_limitations(config), ""]
    return lines


def _model_lines(spec: ModelSpec) -> list[str]:
    arch, parity, shape = spec.architecture, spec.parity, spec.input
    onnx_mb = f"{(spec.onnx_size_bytes or 0) / 1e6:.1f} MB"
    max_diff = parity.max_abs_logit_diff if parity else float("nan")
    agreement = parity.argmax_agreement if parity else float("nan")
    parameters = f"{arch.parameters:,}" if arch.parameters is not None else "n/a"
    mean, std = list(shape.mean), list(shape.std)
    return [
        f"- Architecture: {arch.name} {json.dumps(arch.config, sort_keys=True)}",
        f"- Parameters: {parameters}",
        f"- ONNX opset {spec.opset}, sha256 `{spec.sha256}` ({onnx_mb})",
        f"- Input: {shape.width}×{shape.height} {shape.channel_order}, scaled by 1/255 then "
        f"normalised with mean {mean} and std {std}",
        *_prior_lines(shape.prior),
        *_unreliable_lines(spec.output.unreliable_classes),
        f"- Parity PyTorch vs ONNX Runtime: max |Δlogit| {max_diff:.2e}, "
        f"argmax agreement {100 * agreement:.3f} %",
        f"- Code: ocularseg {spec.ocularseg_version}, commit {spec.git_commit}",
    ]


def _prior_lines(prior: PriorSpec | None) -> list[str]:
    """The card's words for a landmark-prior input channel (model.json gives the numbers)."""
    if prior is None:
        return []
    template = ", ".join(f"({x:.0f}, {y:.0f})" for x, y in prior.template_points_crop_px)
    return [
        "- Fourth input channel, the landmark prior (model.json `input.prior`): 2·prior − 1, "
        "where prior = 1 inside the hexagon of dlib's six eye points (68-point model, "
        "36–41 or 42–47) in crop px and exp(−d² / (2 (σ·w)²)) at distance d outside it, "
        f"σ = {prior.sigma_frac} and w = the corner-to-corner distance. Crops without "
        f"landmarks (eye photographs, imported data sets) get the average eye: {template}."
    ]


def _unreliable_lines(marks: dict[str, str]) -> list[str]:
    """One card line per class the model marks unreliable (model.json says why)."""
    return [
        f"- **{name.capitalize()} marked unreliable** (model.json `output.unreliable_classes`; "
        f"the overlays' legend and every report say so): {reason}"
        for name, reason in marks.items()
    ]


def _na(value: object) -> object:
    return "n/a" if value is None else value


def _training_lines(spec: ModelSpec) -> list[str]:
    training = spec.training
    config = training.config if training else TrainConfigRecord()
    run = training.run if training else None
    loss_name = config.loss.name if config.loss else "n/a"
    loss_options = config.loss.options if config.loss else {}
    seconds = run.total_seconds if run and run.total_seconds is not None else float("nan")
    return [
        *_data_lines(spec),
        f"- Loss: {loss_name} {json.dumps(loss_options, sort_keys=True)}",
        f"- Epochs run: {_na(run and run.epochs_done)} (best epoch {_na(run and run.best_epoch)}), "
        f"batch {_na(config.batch_size)}, lr {_na(config.learning_rate)}, "
        f"train fraction {_na(config.train_fraction)}, seed {_na(config.seed)}",
        f"- Hardware: {_na(run and run.device)}, {seconds:.0f} s",
    ]


def _data_lines(spec: ModelSpec) -> list[str]:
    config = spec.training.config if spec.training else TrainConfigRecord()
    run = spec.training.run if spec.training else None
    share = config.data_share if config.data_share is not None else 1.0
    lines = [
        f"- Data: `{_na(config.data)}`"
        + (f" (batch share {share})" if config.extra_data else "")
        + f" — {_na(run and run.train_images)} training images from "
        f"{_na(run and run.train_subjects)} subjects, {_na(run and run.val_images)} "
        f"validation images from {_na(run and run.val_subjects)} subjects in all"
    ]
    lines += [f"- Mixed in: `{e.path}` (batch share {e.share})" for e in config.extra_data]
    if config.prior:
        lines.append(f"- Landmark-prior input channel: {json.dumps(config.prior, sort_keys=True)}")
    return lines


def _limitations(config: TrainConfigRecord) -> list[str]:
    loss = config.loss.name if config.loss else ""
    if config.extra_data or loss.startswith("pce"):
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


def _quantized_lines(spec: ModelSpec, q: QuantizationSection) -> list[str]:
    agreement = q.agreement_with_float
    comparison = q.comparison.markdown if q.comparison else None
    return [
        f"# Model card: {spec.name}",
        "",
        f"The int8-quantised variant of `{q.float_model.name}` (sha256 "
        f"`{q.float_model.sha256[:12]}…`): the same network, task, training data and "
        "limitations — read that model's card first. **A measurement aid, not a diagnostic "
        "device.** Use it with `ocularseg analyze --model <this folder>`; fine-tune from the "
        "float folder, not this one.",
        "",
        "## Quantisation",
        f"- {q.method}; weights {q.weights}, activations {q.activations}",
        f"- Kept in float: {', '.join(q.kept_float_nodes)} (first and last layer)",
        f"- Calibration: {q.calibration_images} crops of `{q.calibration_data}` "
        f"(non-test rows, seed {q.calibration_seed}), ONNX Runtime {q.onnxruntime_version}",
        f"- ONNX sha256 `{spec.sha256}` ({(spec.onnx_size_bytes or 0) / 1e6:.1f} MB)",
        *_unreliable_lines(spec.output.unreliable_classes),
        f"- Agreement with the float model on {agreement.images} other crops: "
        f"{100 * agreement.mean:.2f} % of pixels get the same class (worst crop "
        f"{100 * agreement.min:.2f} %)",
        "",
        "## Compared with the float model",
        comparison.strip() if comparison else "Not compared at export time.",
        "",
        "## Evaluation",
        _evaluation_text(spec),
        "",
    ]
