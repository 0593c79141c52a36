"""``ocularseg data``: import, split, check and export datasets."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the data commands to ``app``."""
