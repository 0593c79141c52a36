"""``ocularseg quantize``: float model folder -> int8 model folder, compared and evaluated."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("quantize")(quantize)


def quantize(
    ctx: typer.Context,
    model: Path = typer.Argument(..., help="Float model folder, e.g. models/ocularseg-unet-tiu."),
    out: Path = typer.Option(..., "--out", "-o", help="int8 model folder to create."),
    calibration: Path = typer.Option(
        ..., "--calibration", help="Dataset whose non-test crops calibrate the int8 ranges."
    ),
    images: int = typer.Option(128, "--images", min=1, help="Calibration crops (seeded)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the calibration choice."),
    data: Path | None = typer.Option(
        None, "--data", help="Dataset to compare float and int8 on (recommended)."
    ),
    split: str = typer.Option("test", "--split", help="Split of --data (train, val, test, all)."),
    max_dice_loss_points: float = typer.Option(
        0.5,
        "--max-dice-loss",
        min=0,
        help="Largest allowed fall of any class's mean Dice, in points, on --data; above it "
        "the int8 folder is not kept (exit 1).",
    ),
    latency_runs: int = typer.Option(20, "--latency-runs", min=1, help="Timed runs per model."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing folder."),
) -> None:
    """Quantise to int8 (ONNX Runtime, static QDQ) and compare with the float model."""
    from ocularseg.cli.export_cmd import PipelineScorer
    from ocularseg.training.workflows import QuantizeRequest, quantize_workflow

    # The request's fields are this command's parameters, by name.
    outcome = quantize_workflow(QuantizeRequest.model_validate(ctx.params), PipelineScorer())
    spec, comparison = outcome.spec, outcome.comparison
    agreement = spec.quantization.agreement_with_float if spec.quantization else None
    typer.echo(
        f"quantised {model} -> {out} ({(spec.onnx_size_bytes or 0) / 1e6:.1f} MB): "
        f"{100 * agreement.mean if agreement else float('nan'):.2f} % of pixels agree with "
        "the float model"
    )
    typer.echo(comparison.markdown or "")
    if not outcome.kept:
        typer.echo(
            f"int8 loses {comparison.worst_class_dice_loss_points:.2f} Dice points on one class "
            f"(limit {max_dice_loss_points}): not kept",
            err=True,
        )
        raise typer.Exit(1)
    latency = comparison.latency_ms_cpu_2_threads
    if latency["int8"] >= latency["float"]:
        typer.echo("warning: the int8 model was not faster here", err=True)
    typer.echo(f"wrote {out}")
