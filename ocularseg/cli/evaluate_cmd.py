"""``ocularseg evaluate``: Dice, IoU, HD95 … with 95 % bootstrap CIs for a model or masks."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)


def evaluate(
    data: Path = typer.Option(
        ..., "--data", help="Dataset folder (manifest.csv, images/, masks/)."
    ),
    model: Path | None = typer.Option(None, "--model", help="Model folder to run on the images."),
    pred: Path | None = typer.Option(None, "--pred", help="Folder of predicted masks instead."),
    out: Path = typer.Option(Path("evaluation"), "--out", "-o", help="Output folder."),
    split: str = typer.Option("test", "--split", help="train, val, test or all."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
    resamples: int = typer.Option(1000, "--resamples", help="Bootstrap resamples."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
) -> None:
    """Per-image metrics and means with 95 % CIs (per_image.csv, summary.csv/json/md).

    On a real-eye dataset with silver labels (``ocularseg data build-real``) it scores the
    opening and the iris disc, the share of eyes measured, anatomically impossible masks and
    MRD1 / visible-iris-fraction agreement with the teacher (real_*.csv, real_summary.md).
    """
    from rich.console import Console
    from rich.markdown import Markdown

    from ocularseg.core.errors import ConfigError
    from ocularseg.pipeline.evaluate import evaluate as run_evaluation
    from ocularseg.pipeline.evaluate_real import evaluate_real, is_silver_dataset

    if split not in ("train", "val", "test", "all"):
        raise ConfigError(f"--split must be train, val, test or all, got {split!r}")
    if is_silver_dataset(data):
        if model is None:
            raise ConfigError("a silver real-eye dataset is scored with --model only")
        real = evaluate_real(
            data, model, split=split, seed=seed, n_resamples=resamples, device=device, out_dir=out
        )
        Console().print(Markdown(real.markdown))
        typer.echo(f"written: {out}/real_summary.md and real_*.csv")
        return
    outcome = run_evaluation(
        data,
        out,
        model_dir=model,
        pred_dir=pred,
        split=split,
        seed=seed,
        n_resamples=resamples,
        device=device,
    )
    Console().print(Markdown(outcome.markdown))
    typer.echo(f"written: {', '.join(str(p) for p in outcome.files.values())}")
