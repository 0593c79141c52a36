"""``ocularseg export``: checkpoint -> model folder (ONNX + model.json + card), parity-checked."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from ocularseg.training.workflows import ExportOutcome


def register(app: typer.Typer) -> None:
    app.command("export")(export)


def export(
    ctx: typer.Context,
    checkpoint: Path = typer.Argument(..., help="Run folder or .safetensors checkpoint."),
    out: Path = typer.Option(..., "--out", "-o", help="Model folder to create, e.g. models/NAME."),
    data: Path | None = typer.Option(
        None, "--data", help="Dataset for the parity batch and evaluation (default: the run's)."
    ),
    name: str | None = typer.Option(None, "--name", help="Model name (default: folder name)."),
    evaluate: bool = typer.Option(
        True, "--evaluate/--no-evaluate", help="Evaluate on the dataset's test split."
    ),
    split: str = typer.Option("test", "--split", help="Split to evaluate (train, val, test, all)."),
    real: Path | None = typer.Option(
        None,
        "--real",
        help="Also score the model on this real-eye dataset (`data build-real`; its test split) "
        "and put the results in MODEL_CARD.md.",
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing folder."),
    include_ids: bool = typer.Option(
        False,
        "--include-ids",
        help="Keep subject and image ids (evaluation/per_image.csv) and full data-set paths "
        "(model.json, MODEL_CARD.md) in the model folder. Default: ids pseudonymised, paths "
        "cut to folder names, so the folder can be shared.",
    ),
) -> None:
    """Export to ONNX, check parity with PyTorch, write model.json and MODEL_CARD.md.

    The model folder is made to be shared: by default it holds no patient or image id and
    no machine path (see README, Privacy).
    """
    from ocularseg.cli.deps import require_torch

    require_torch()
    from ocularseg.training.workflows import ExportRequest, export_workflow

    # The request's fields are this command's parameters, by name.
    outcome = export_workflow(ExportRequest.model_validate(ctx.params), PipelineScorer())
    _report(outcome, out, include_ids=include_ids)


def _report(outcome: ExportOutcome, out: Path, *, include_ids: bool) -> None:
    """Print the parity check, the evaluation tables and whether the folder may be shared."""
    parity = outcome.spec.parity
    if parity is not None:
        typer.echo(
            f"exported {out}: parity max |Δlogit| {parity.max_abs_logit_diff:.2e}, argmax "
            f"agreement {100 * parity.argmax_agreement:.3f} %"
        )
    for markdown in (outcome.evaluation_markdown, outcome.real_markdown):
        if markdown is not None:
            typer.echo(markdown)
    if include_ids:
        typer.echo(
            f"warning: {out} holds subject and image ids and data-set paths (--include-ids); "
            "do not share it outside the team allowed to see them",
            err=True,
        )
        return
    typer.echo(
        f"{out} holds no subject or image ids (pseudonyms in evaluation/) and no data-set "
        "paths (folder names only): it can be shared"
    )


class PipelineScorer:
    """``training.workflows.ModelScorer`` through the pipeline's evaluation, on the CPU."""

    def phantoms(self, data, out_dir, model_dir, *, split, ids, id_key=None):
        from ocularseg.pipeline.evaluate import evaluate

        return evaluate(
            data, out_dir, model_dir=model_dir, split=split, device="cpu", ids=ids, id_key=id_key
        )

    def real(self, data, model_dir):
        from ocularseg.pipeline.evaluate_real import evaluate_real

        return evaluate_real(data, model_dir, split="test", device="cpu").markdown
