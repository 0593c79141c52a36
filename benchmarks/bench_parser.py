"""The command line the benchmark scripts share: their docstring as help, and ``--model``.

Imported by the scripts as a sibling module (``python benchmarks/X.py`` puts this folder on
``sys.path``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def benchmark_parser(description: str | None) -> argparse.ArgumentParser:
    """A parser showing ``description`` as its help (line breaks kept), with ``--model``: the
    model folder to run (default: the bundled ``models/ocularseg-unet-real``)."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=REPO / "models" / "ocularseg-unet-real")
    return parser
