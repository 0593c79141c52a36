"""``ocularseg info``: versions, providers, landmark model and bundled models."""

from __future__ import annotations

import platform

import typer


def register(app: typer.Typer) -> None:
    app.command("info")(info)


def info() -> None:
    """Show versions, ONNX Runtime providers, the landmark model and bundled models."""
    from rich.console import Console
    from rich.table import Table

    from ocularseg import __version__
    from ocularseg.core.errors import ModelError
    from ocularseg.io.landmark_model import landmark_model_path
    from ocularseg.io.model_store import bundled_models, onnxruntime_status

    table = Table(show_header=False, box=None)
    table.add_row("ocularseg", __version__)
    table.add_row("python", f"{platform.python_version()} ({platform.machine()})")
    ort_version, providers, ort_message = onnxruntime_status()
    table.add_row("onnxruntime", ort_version or f"[red]not installed[/red] — {ort_message}")
    table.add_row("  providers", ", ".join(providers) if providers else "—")
    try:
        import dlib

        table.add_row("dlib", str(dlib.__version__))
    except ImportError:
        table.add_row("dlib", "[red]not installed[/red] — pip install dlib-bin")
    try:
        path = landmark_model_path()
        table.add_row("landmark model", f"{path} ({path.stat().st_size / 1e6:.1f} MB)")
    except ModelError as exc:
        table.add_row("landmark model", f"[red]{exc}[/red]")
    table.add_row("", "(iBUG 300-W licence: non-commercial use only)")
    models = bundled_models()
    if not models:
        table.add_row("bundled models", "none")
    for i, (name, sha256, size_bytes) in enumerate(models):
        table.add_row(
            "bundled models" if i == 0 else "",
            f"{name}  {size_bytes / 1e6:.1f} MB  sha256 {sha256}",
        )
    Console().print(table)
