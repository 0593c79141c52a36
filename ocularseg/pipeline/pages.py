"""The one-page report of every input of a run (``report.png`` / ``report.pdf``, ``chart.png``).

A resumed input's page is kept when it was drawn from the same tables and run-wide facts
(``report.page_stamp``); an input analysed in this run always gets a new page.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ocularseg.core.errors import InputError, ReportError
from ocularseg.pipeline.resume import InputResult
from ocularseg.report.page import (
    CHART_PNG,
    REPORT_PDF,
    REPORT_PNG,
    PageContext,
    input_frames,
    input_rows,
    write_input_report,
)
from ocularseg.report.page_stamp import PAGE_STAMP, kept_page, page_fingerprint, stamp_page

#: Called as pages are drawn or kept: (pages done, pages of the run); (0, N) first.
PagesCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class RunTables:
    """The run's tables, as the report set writes them (``report.tables``)."""

    measurements: pd.DataFrame
    summary: pd.DataFrame
    errors: pd.DataFrame
    warnings: pd.DataFrame


def write_pages(
    out_dir: Path,
    inputs: Sequence[InputResult],
    tables: RunTables,
    context: PageContext,
    *,
    resumed: Collection[str] = (),
    on_page: PagesCallback | None = None,
) -> dict[str, Path]:
    """The page of every input with rows or errors; returns its chart PNGs by label.

    Args:
        resumed: labels of inputs read from an earlier run (their page may be kept).
        on_page: progress, (pages done, pages of the run).

    Raises:
        ReportError: a page could not be written (the path is named).
    """
    todo = []
    for done in inputs:
        rows, eyes, problems = input_frames(
            tables.measurements, tables.summary, tables.errors, done.label
        )
        if len(rows):
            notes = input_rows(tables.warnings, done.label)
            todo.append((done, (rows, eyes, problems, notes)))
    if on_page:
        on_page(0, len(todo))
    charts: dict[str, Path] = {}
    for number, (done, page_tables) in enumerate(todo, start=1):
        folder = out_dir / "inputs" / done.key
        paths = _page(folder, out_dir, done, page_tables, context, done.label in resumed)
        if "chart" in paths:
            charts[done.label] = paths["chart"]
        if on_page:
            on_page(number, len(todo))
    return charts


def _page(
    folder: Path,
    out_dir: Path,
    done: InputResult,
    tables: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame],
    context: PageContext,
    resumed: bool,
) -> dict[str, Path]:
    """One input's page: kept (a resumed input whose stamp matches) or drawn and stamped."""
    fingerprint = page_fingerprint(folder, out_dir, tables, context, done.frame_counts())
    if resumed and (kept := kept_page(folder, fingerprint)) is not None:
        return kept
    (folder / PAGE_STAMP).unlink(missing_ok=True)
    rows, eyes, problems, notes = tables
    paths = write_input_report(
        folder,
        out_dir,
        rows,
        eyes,
        problems,
        context,
        frames=done.frame_counts(),
        warnings=notes,
    )
    try:
        stamp_page(folder, fingerprint, paths)
    except (InputError, OSError) as exc:
        raise ReportError(f"cannot write {folder / PAGE_STAMP}: {exc}") from exc
    return paths


def remove_pages(out_dir: Path, inputs: Sequence[InputResult]) -> None:
    """Without pages, an earlier run's pages would describe other numbers: remove them."""
    for done in inputs:
        for name in (REPORT_PNG, REPORT_PDF, CHART_PNG, PAGE_STAMP):
            with contextlib.suppress(FileNotFoundError):
                (out_dir / "inputs" / done.key / name).unlink()
