"""``ocularseg info``: versions, providers, landmark model and bundled models.

Plain lines, never cut: paths and sha256 hashes are printed in full (to be copied or
compared), however narrow the terminal.
"""

from __future__ import annotations

import platform

import typer

#: Width of the label column.
_LABEL_WIDTH = 16


def register(app: typer.Typer) -> None:
    app.command("info")(info)


def _line(label: str, value: str) -> None:
    typer.echo(f"{label:<{_LABEL_WIDTH}}{value}")


def info() -> None:
    """Show versions, the ONNX Runtime providers ocularseg can use here, the landmark model
    and bundled models (full paths and sha256)."""
    from ocularseg import __version__
    from ocularseg.core.errors import ModelError
    from ocularseg.io.landmark_model import landmark_model_path
    from ocularseg.io.model_store import bundled_models, onnxruntime_status

    _line("ocularseg", __version__)
    _line("python", f"{platform.python_version()} ({platform.machine()})")
    ort_version, providers, ort_message = onnxruntime_status()
    _line("onnxruntime", ort_version or f"not installed — {ort_message}")
    _line("  providers", ", ".join(providers) if providers else "—")
    try:
        import dlib

        _line("dlib", str(dlib.__version__))
    except ImportError:
        _line("dlib", "not installed — pip install dlib-bin")
    try:
        path = landmark_model_path()
        _line("landmark model", f"{path} ({path.stat().st_size / 1e6:.1f} MB)")
    except ModelError as exc:
        _line("landmark model", str(exc))
    _line("", "(iBUG 300-W licence: non-commercial use only)")
    models = bundled_models()
    if not models:
        _line("bundled models", "none")
    for i, (name, sha256, size_bytes) in enumerate(models):
        _line("bundled models" if i == 0 else "", f"{name}  {size_bytes / 1e6:.1f} MB")
        _line("", f"  sha256 {sha256}")
