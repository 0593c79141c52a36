"""``ocularseg analyze`` from tests: the Typer app run in-process, and the CSV files it writes."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner, Result

from ocularseg.cli.app import app

_RUNNER = CliRunner()


def run_analyze(*args: object) -> Result:
    """``ocularseg analyze ARGS...``; each argument (a path, a number, an option) is one word."""
    return _RUNNER.invoke(app, ["analyze", *map(str, args)])


def read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a report CSV (UTF-8 with a byte-order mark, as the reports are written)."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))
