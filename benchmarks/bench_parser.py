"""The command line the benchmark scripts share: their docstring as help, and ``--model``.

Imported by the scripts as a sibling module (``python benchmarks/X.py`` puts this folder on
``sys.path``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def benchmark_parser(description: str | None, *, csv_help: str = "") -> argparse.ArgumentParser:
    """A parser showing ``description`` as its help (line breaks kept), with ``--model``: the
    model folder to run (default: the bundled ``models/ocularseg-unet-real``), and, where
    ``csv_help`` says what it holds, ``--csv``: a file for the script's rows."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=REPO / "models" / "ocularseg-unet-real")
    if csv_help:
        parser.add_argument("--csv", type=Path, help=csv_help)
    return parser
