"""``ocularseg synth``: procedural eye phantoms with exact ground truth."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the phantom commands to ``app``."""
