"""The export and quantize workflows behind ``ocularseg export`` and ``ocularseg quantize``.

Each takes a request (what the user asked for) and a :class:`ModelScorer` (how a model
folder is scored on a data set: the CLI passes the pipeline's evaluation, since this layer
never imports the pipeline) and returns what the command prints. Every write to the model
folder goes through :mod:`ocularseg.io.modelfolder`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from ocularseg.core.errors import ConfigError
from ocularseg.evaluation.compare import differences_markdown, paired_differences
from ocularseg.io.atomic import replacing_folder
from ocularseg.io.modelfolder import (
    EvaluationSection,
    ModelSpec,
    QuantComparison,
    load_model_spec,
    make_shareable,
    onnx_path,
)
from ocularseg.io.share import new_key
from ocularseg.training.export import attach_card_section, attach_evaluation, export_model_folder
from ocularseg.training.quantize import attach_comparison, measure_latency_ms, quantize_model_folder

#: The card's title for the real development set's results (``export --real``).
REAL_SECTION_TITLE = "Real development set (silver labels)"


class Scored(Protocol):
    """One evaluation: per-image rows, its Markdown table and the files it wrote."""

    per_image: Any  # pandas DataFrame: image_id, subject, class and one column per metric
    markdown: str
    files: dict[str, Path]


class ModelScorer(Protocol):
    """Scores a model folder on a data set (``ocularseg evaluate`` / ``evaluate-real``)."""

    def phantoms(
        self,
        data: Path,
        out_dir: Path | None,
        model_dir: Path,
        *,
        split: str,
        ids: str,
        id_key: bytes | None = None,
    ) -> Scored:
        """Per-image scores with CIs on ``data``'s ``split``; files in ``out_dir`` if given."""
        ...

    def real(self, data: Path, model_dir: Path) -> str:
        """The Markdown summary of the model on a real-eye data set's test split."""
        ...


class _Request(BaseModel):
    """A command's options as one frozen record (built from the command's parameters)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ExportRequest(_Request):
    """What ``ocularseg export`` was asked for (see its options)."""

    checkpoint: Path
    out: Path
    data: Path | None = None
    name: str | None = None
    evaluate: bool = True
    split: str = "test"
    real: Path | None = None
    overwrite: bool = False
    include_ids: bool = False


@dataclass(frozen=True)
class ExportOutcome:
    """The exported folder's spec and the Markdown shown to the user."""

    spec: ModelSpec
    evaluation_markdown: str | None
    real_markdown: str | None


def export_workflow(request: ExportRequest, scorer: ModelScorer) -> ExportOutcome:
    """Export, evaluate (``request.evaluate``), score on real eyes (``request.real``) and,
    unless ``include_ids``, cut every path in the folder to its last component.

    The model folder is made to be shared: by default its evaluation holds pseudonyms
    instead of subject and image ids, and only the real-eye summary (no per-eye rows,
    whose ids could name people) goes into it.
    """
    out = request.out
    spec = export_model_folder(
        request.checkpoint,
        out,
        name=request.name,
        data_dir=request.data,
        overwrite=request.overwrite,
    )
    markdown = real_markdown = None
    if request.evaluate:
        config_data = spec.training.config.data if spec.training else None
        dataset = request.data or Path(config_data or "")
        ids = "keep" if request.include_ids else "pseudonymise"
        scored = scorer.phantoms(dataset, out / "evaluation", out, split=request.split, ids=ids)
        summary = json.loads(scored.files["summary_json"].read_text())
        spec = attach_evaluation(out, summary, scored.markdown)
        markdown = scored.markdown
    if request.real is not None:
        real_markdown = scorer.real(request.real, out)
        spec = attach_card_section(out, REAL_SECTION_TITLE, real_markdown)
    if not request.include_ids:
        spec = make_shareable(out)
    return ExportOutcome(spec=spec, evaluation_markdown=markdown, real_markdown=real_markdown)


class QuantizeRequest(_Request):
    """What ``ocularseg quantize`` was asked for (see its options)."""

    model: Path
    out: Path
    calibration: Path
    images: int = 128
    seed: int = 0
    data: Path | None = None
    split: str = "test"
    max_dice_loss_points: float = 0.5
    latency_runs: int = 20
    overwrite: bool = False


@dataclass(frozen=True)
class QuantizeOutcome:
    """The int8 folder's spec, how it compares, and whether it was kept."""

    spec: ModelSpec
    comparison: QuantComparison
    kept: bool


class _Rejected(Exception):
    """The int8 variant lost more Dice than allowed (raised to discard the staging folder)."""


def _latency(request: QuantizeRequest, int8_onnx: Path) -> QuantComparison:
    spec = load_model_spec(request.model)
    latency = measure_latency_ms(
        [onnx_path(request.model, spec), int8_onnx],
        spec.input.height,
        spec.input.width,
        channels=3 + (spec.input.prior is not None),
        runs=request.latency_runs,
    )
    line = (
        f"CPU latency per crop (2 threads, median of {request.latency_runs}, interleaved): float "
        f"{latency[0]:.1f} ms, int8 {latency[1]:.1f} ms (ratio {latency[1] / latency[0]:.2f})."
    )
    return QuantComparison(
        latency_ms_cpu_2_threads={"float": latency[0], "int8": latency[1]},
        latency_ratio=latency[1] / latency[0],
        markdown=line,
    )


def _paired(
    request: QuantizeRequest,
    data: Path,
    staging: Path,
    scorer: ModelScorer,
    latency: QuantComparison,
) -> tuple[QuantComparison, EvaluationSection]:
    """Float and int8 scored on the same images (one pseudonym key, so rows still pair)."""
    common: dict[str, Any] = {"split": request.split, "ids": "pseudonymise", "id_key": new_key()}
    float_eval = scorer.phantoms(data, None, request.model, **common)
    int8_eval = scorer.phantoms(data, staging / "evaluation", staging, **common)
    table = paired_differences(float_eval.per_image, int8_eval.per_image)
    dice = table[table.metric == "dice"]
    name = data.absolute().name
    lines = [latency.markdown or "", "", f"On `{name}` ({request.split}), paired per image:", ""]
    lines.append(differences_markdown(table, "float", "int8"))
    comparison = QuantComparison.model_validate(
        {
            **latency.model_dump(by_alias=True),
            "data": name,
            "split": request.split,
            "paired": table.to_dict(orient="records"),
            "worst_class_dice_loss_points": float(-100 * dice["delta"].min()),
            "max_dice_loss_points": request.max_dice_loss_points,
            "markdown": "\n".join(lines),
        }
    )
    summary = json.loads(int8_eval.files["summary_json"].read_text())
    evaluation = EvaluationSection.model_validate({**summary, "markdown": int8_eval.markdown})
    return comparison, evaluation


def quantize_workflow(request: QuantizeRequest, scorer: ModelScorer) -> QuantizeOutcome:
    """Quantise, time against the float model, compare on ``request.data`` and keep the
    int8 folder only if no class's mean Dice falls by more than ``max_dice_loss_points``.

    Built in a staging folder and moved into place only once it passed that check, so a
    variant that loses too much never sits where ``analyze --model`` could pick it up.

    Raises:
        ConfigError: ``out`` exists without ``overwrite``; as :func:`quantize_model_folder`.
    """
    out = request.out
    if out.exists() and not request.overwrite:
        raise ConfigError(f"{out} already exists (pass --overwrite to replace it)")
    found: dict[str, Any] = {}
    try:
        with replacing_folder(out) as staging:
            found["spec"] = quantize_model_folder(
                request.model, staging, request.calibration, n_images=request.images,
                seed=request.seed, name=out.name, overwrite=True,
            )  # fmt: skip
            comparison = found["comparison"] = _latency(request, staging / "model.onnx")
            evaluation = None
            if request.data is not None:
                comparison, evaluation = _paired(request, request.data, staging, scorer, comparison)
                found["comparison"] = comparison
                if (comparison.worst_class_dice_loss_points or 0) > request.max_dice_loss_points:
                    raise _Rejected
            attach_comparison(staging, comparison, evaluation)
            found["spec"] = make_shareable(staging)
    except _Rejected:
        return QuantizeOutcome(spec=found["spec"], comparison=found["comparison"], kept=False)
    return QuantizeOutcome(spec=found["spec"], comparison=found["comparison"], kept=True)
