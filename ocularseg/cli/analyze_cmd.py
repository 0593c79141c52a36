"""``ocularseg analyze``: videos, images or clinic folders -> per-eye measurements and reports."""

from __future__ import annotations

import sys
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("analyze")(analyze)


# The command's arguments and options, defined once here so the signature stays readable.
_INPUTS = typer.Argument(..., help="Video files, images and/or folders (recursive).")
_OUT = typer.Option(Path("ocularseg_out"), "--out", "-o", help="Output folder.")
_MODEL = typer.Option(None, "--model", help="Model folder (default: bundled).")
_CONFIG = typer.Option(None, "--config", help="YAML file of analysis options.")
# None here so a --config file's value counts; the help shows AnalyzeConfig's defaults
# (tests/cli/test_help_and_readme.py checks they agree). A backslash before "[" keeps Rich
# from reading "[...]" as markup.
_KEYFRAMES = typer.Option(
    None,
    "--keyframes",
    help="Key frames per video (key-frame mode; not with --fps). \\[default: 8]",
)
_FPS = typer.Option(
    None,
    "--fps",
    help="Time-series mode: analyse frames at this rate (Hz), e.g. for fatigability "
    "(not with --keyframes).",
)
_DEVICE = typer.Option(None, "--device", help="auto, cpu or cuda. \\[default: auto]")
_BATCH_SIZE = typer.Option(None, "--batch-size", help="Crops per model call. \\[default: 8]")
_CLEANUP = typer.Option(
    None, "--cleanup/--no-cleanup", help="Anatomical clean-up of label maps (default on)."
)
_JOBS = typer.Option(
    1, "--jobs", "-j", help="Worker processes (at most the CPU cores and memory allow)."
)
_RESUME = typer.Option(
    False,
    "--resume",
    help="Skip inputs that finished before, measurable or not (same file, model, config).",
)
_EXECUTOR = typer.Option(
    "local",
    "--executor",
    help="local (this machine, --jobs processes) or dask (a Dask cluster: --scheduler; "
    "needs the \\[distributed] extra).",
)
_SCHEDULER = typer.Option(
    None, "--scheduler", help="Dask scheduler address for --executor dask, tcp://HOST:PORT."
)


def analyze(
    inputs: list[Path] = _INPUTS,
    out: Path = _OUT,
    model: Path | None = _MODEL,
    config: Path | None = _CONFIG,
    keyframes: int | None = _KEYFRAMES,
    fps: float | None = _FPS,
    device: str | None = _DEVICE,
    batch_size: int | None = _BATCH_SIZE,
    cleanup: bool | None = _CLEANUP,
    jobs: int = _JOBS,
    resume: bool = _RESUME,
    executor: str = _EXECUTOR,
    scheduler: str | None = _SCHEDULER,
) -> None:
    """Measure each eye (MRD1, visible iris fraction, ratios) and write CSV/XLSX reports.

    Exit code: 0 every input analysed (an eye that was never measurable is recorded in
    errors.csv, not a failure), 1 some input could not be read or analysed (listed; see
    errors.csv), 2 usage or configuration error.
    """
    from rich.console import Console

    from ocularseg.pipeline.config import load_analyze_config
    from ocularseg.pipeline.run import RunStoppedError, run_analysis

    console = Console(stderr=True)
    cfg = load_analyze_config(
        config,
        model=str(model) if model else None,
        keyframes=keyframes,
        fps=fps,
        device=device,
        batch_size=batch_size,
        cleanup=cleanup,
    )
    from ocularseg.cli.progress import RunProgress

    with RunProgress(console, live=sys.stderr.isatty()) as progress:
        try:
            result = run_analysis(
                [str(p) for p in inputs],
                out,
                cfg,
                resume=resume,
                jobs=jobs,
                executor=executor,
                scheduler=scheduler,
                on_progress=progress.input_done,
                on_frame=progress.frame_done,
                on_phase=progress.phase,
            )
        except RunStoppedError as exc:
            progress.close()
            _print_summary(exc.result, out)
            raise
    _print_summary(result, out)
    raise typer.Exit(result.exit_code)


def _print_summary(result, out: Path) -> None:
    typer.echo(closing_line(result.tally(), out))
    if result.skipped_files:
        typer.echo(
            f"{len(result.skipped_files)} file(s) or folder(s) skipped inside folders, each "
            f"with its reason in {out / 'skipped_files.txt'}"
        )
    warnings = [w for r in result.inputs for w in r.warnings]
    if warnings:
        typer.echo(f"{len(warnings)} warning(s) (see {out / 'warnings.csv'}):", err=True)
        for warning in warnings:
            typer.echo(f"  - {warning.warning}", err=True)
    if result.errors:
        inputs = len({e.input for e in result.errors})
        typer.echo(f"{_count(inputs, 'input')} with problems (see {out / 'errors.csv'}):", err=True)
        for error in result.errors:
            typer.echo(f"  - {error.error}", err=True)


def closing_line(tally, out: Path) -> str:
    """The run in one line, every input counted once, e.g. "30 inputs analysed: 12 both
    eyes measured, 6 one eye, 12 neither eye (reasons in OUT/errors.csv); 30 eyes measured".

    ``tally`` is ``pipeline.run.RunTally``; inputs that could not be analysed and resumed
    inputs are said apart.
    """
    analysed = tally.inputs - tally.failed
    eyes = f"{tally.both_eyes} both eyes measured, {tally.one_eye} one eye, "
    eyes += f"{tally.neither_eye} neither eye"
    if tally.failed:
        line = f"{_count(tally.inputs, 'input')}: {analysed} analysed ({eyes}), "
        line += f"{tally.failed} could not be analysed"
    else:
        line = f"{_count(tally.inputs, 'input')} analysed: {eyes}"
    if tally.one_eye or tally.neither_eye or tally.failed:
        line += f" (reasons in {out / 'errors.csv'})"
    if tally.resumed:
        line += f"; {tally.resumed} resumed from an earlier run, {tally.analysed_now} done now"
    return f"{line}; {_count(tally.eyes_measured, 'eye')} measured; results in {out}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
