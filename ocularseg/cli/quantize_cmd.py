"""``ocularseg quantize``: float model folder -> int8 model folder, compared and evaluated."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("quantize")(quantize)


def quantize(
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
    max_dice_loss: float = typer.Option(
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
    import json

    from ocularseg.core.errors import ConfigError
    from ocularseg.evaluation.compare import differences_markdown, paired_differences
    from ocularseg.io.atomic import replacing_folder
    from ocularseg.io.model_folder import load_model_spec, onnx_path
    from ocularseg.io.share import new_key
    from ocularseg.pipeline.evaluate import evaluate as run_evaluation
    from ocularseg.training.quantize import (
        attach_comparison,
        measure_latency_ms,
        quantize_model_folder,
    )

    if out.exists() and not overwrite:
        raise ConfigError(f"{out} already exists (pass --overwrite to replace it)")
    # Built in a staging folder and moved into place only once it passed the Dice check, so
    # a variant that loses too much never sits where `analyze --model` could pick it up.
    with replacing_folder(out) as staging:
        content = quantize_model_folder(
            model, staging, calibration, n_images=images, seed=seed, name=out.name, overwrite=True
        )
        agreement = content["quantization"]["agreement_with_float"]
        typer.echo(
            f"quantised {model} -> {out} ({content['onnx_size_bytes'] / 1e6:.1f} MB): "
            f"{100 * agreement['mean']:.2f} % of pixels agree with the float model"
        )
        spec = load_model_spec(model)
        latency = measure_latency_ms(
            [onnx_path(model, spec), staging / "model.onnx"],
            spec.input.height,
            spec.input.width,
            channels=3 + (spec.input.prior is not None),
            runs=latency_runs,
        )
        comparison: dict = {
            "latency_ms_cpu_2_threads": {"float": latency[0], "int8": latency[1]},
            "latency_ratio": latency[1] / latency[0],
        }
        lines = [
            f"CPU latency per crop (2 threads, median of {latency_runs}, interleaved): float "
            f"{latency[0]:.1f} ms, int8 {latency[1]:.1f} ms (ratio {latency[1] / latency[0]:.2f})."
        ]
        evaluation, evaluation_md = {}, ""
        if data is not None:
            # Pseudonymised ids (one key for both, so their rows still pair): the int8
            # folder is shared like any model folder.
            common = {"split": split, "device": "cpu", "ids": "pseudonymise", "id_key": new_key()}
            float_eval = run_evaluation(data, None, model_dir=model, **common)
            int8_eval = run_evaluation(data, staging / "evaluation", model_dir=staging, **common)
            table = paired_differences(float_eval.per_image, int8_eval.per_image)
            dice = table[table.metric == "dice"]
            worst = float(-100 * dice["delta"].min())
            comparison.update(
                data=data.absolute().name,
                split=split,
                paired=table.to_dict(orient="records"),
                worst_class_dice_loss_points=worst,
                max_dice_loss_points=max_dice_loss,
            )
            lines += ["", f"On `{data.absolute().name}` ({split}), paired per image:", ""]
            lines.append(differences_markdown(table, "float", "int8"))
            evaluation = json.loads(int8_eval.files["summary_json"].read_text())
            evaluation_md = int8_eval.markdown
            typer.echo("\n".join(lines))
            if worst > max_dice_loss:
                typer.echo(
                    f"int8 loses {worst:.2f} Dice points on one class (limit {max_dice_loss}): "
                    f"not kept",
                    err=True,
                )
                raise typer.Exit(1)
        else:
            typer.echo(lines[0])
        if latency[1] >= latency[0]:
            typer.echo("warning: the int8 model was not faster here", err=True)
        attach_comparison(staging, comparison, "\n".join(lines), evaluation, evaluation_md)
        _share_safe(staging, "\n".join(lines), evaluation_md)
    typer.echo(f"wrote {out}")


def _share_safe(folder: Path, comparison_md: str, evaluation_md: str) -> None:
    """Cut the paths the float model's model.json carried to folder names (README, Privacy)."""
    import json

    from ocularseg.io.atomic import write_json_atomic, write_text_atomic
    from ocularseg.io.share import without_paths
    from ocularseg.training.quantize import quantized_card

    shared = without_paths(json.loads((folder / "model.json").read_text(encoding="utf-8")))
    write_json_atomic(folder / "model.json", shared)
    card = quantized_card(shared, comparison_md, evaluation_md)
    write_text_atomic(folder / "MODEL_CARD.md", card)
