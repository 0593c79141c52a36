"""``ocularseg export``: checkpoint -> model folder (ONNX + model.json + card), parity-checked."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("export")(export)


def export(
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
) -> None:
    """Export to ONNX, check parity with PyTorch, write model.json and MODEL_CARD.md."""
    from ocularseg.cli.deps import require_torch

    require_torch()
    import json

    from ocularseg.pipeline.evaluate import evaluate as run_evaluation
    from ocularseg.training.export import attach_evaluation, export_model_folder

    content = export_model_folder(checkpoint, out, name=name, data_dir=data, overwrite=overwrite)
    parity = content["parity"]
    typer.echo(
        f"exported {out}: parity max |Δlogit| {parity['max_abs_logit_diff']:.2e}, argmax "
        f"agreement {100 * parity['argmax_agreement']:.3f} %"
    )
    if evaluate:
        dataset = data or Path(content["training"]["config"].get("data", ""))
        outcome = run_evaluation(
            dataset, out / "evaluation", model_dir=out, split=split, device="cpu"
        )
        summary_json = json.loads(outcome.files["summary_json"].read_text())
        attach_evaluation(out, summary_json, outcome.markdown)
        typer.echo(outcome.markdown)
    if real is not None:
        from ocularseg.pipeline.evaluate_real import evaluate_real
        from ocularseg.training.export import attach_card_section

        # Only the summary goes into the model folder (it is meant to be shared): no
        # per-eye rows, whose ids could name people.
        outcome_real = evaluate_real(real, out, split="test", device="cpu")
        attach_card_section(out, "Real development set (silver labels)", outcome_real.markdown)
        typer.echo(outcome_real.markdown)
