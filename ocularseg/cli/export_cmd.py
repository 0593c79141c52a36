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
    import json

    from ocularseg.io.atomic import write_json_atomic, write_text_atomic
    from ocularseg.io.share import without_paths
    from ocularseg.pipeline.evaluate import evaluate as run_evaluation
    from ocularseg.training.export import attach_evaluation, export_model_folder, model_card

    content = export_model_folder(checkpoint, out, name=name, data_dir=data, overwrite=overwrite)
    parity = content["parity"]
    typer.echo(
        f"exported {out}: parity max |Δlogit| {parity['max_abs_logit_diff']:.2e}, argmax "
        f"agreement {100 * parity['argmax_agreement']:.3f} %"
    )
    markdown = None
    if evaluate:
        dataset = data or Path(content["training"]["config"].get("data", ""))
        outcome = run_evaluation(
            dataset,
            out / "evaluation",
            model_dir=out,
            split=split,
            device="cpu",
            ids="keep" if include_ids else "pseudonymise",
        )
        summary_json = json.loads(outcome.files["summary_json"].read_text())
        attach_evaluation(out, summary_json, outcome.markdown)
        markdown = outcome.markdown
        typer.echo(outcome.markdown)
    if real is not None:
        from ocularseg.pipeline.evaluate_real import evaluate_real
        from ocularseg.training.export import attach_card_section

        # Only the summary goes into the model folder (it is meant to be shared): no
        # per-eye rows, whose ids could name people.
        outcome_real = evaluate_real(real, out, split="test", device="cpu")
        attach_card_section(out, "Real development set (silver labels)", outcome_real.markdown)
        typer.echo(outcome_real.markdown)
    if include_ids:
        typer.echo(
            f"warning: {out} holds subject and image ids and data-set paths (--include-ids); "
            "do not share it outside the team allowed to see them",
            err=True,
        )
        return
    # The exporter records the paths it was given; a folder to be shared keeps their names.
    shared = without_paths(json.loads((out / "model.json").read_text(encoding="utf-8")))
    write_json_atomic(out / "model.json", shared)
    write_text_atomic(
        out / "MODEL_CARD.md", model_card(shared, shared.get("evaluation_markdown", markdown))
    )
    typer.echo(
        f"{out} holds no subject or image ids (pseudonyms in evaluation/) and no data-set "
        "paths (folder names only): it can be shared"
    )
