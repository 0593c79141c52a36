"""Write a run's report files as one set: all from the same run, or none.

Writing the files one after another used to mix runs when the disk filled up half-way:
the CSVs came from the new run, report.xlsx and run.json from the old one. Now:

1. every file is written to a temporary name beside its target; if any writer fails, the
   temporaries are removed and the previous set is left exactly as it was;
2. the previous set is removed, its commit marker (``run.json``) first;
3. the new files are renamed into place, the marker last.

So at any moment the report files present all come from one run, and a ``run.json`` is
present only beside a complete set; it lists every file of its set with its sha256
(``report_files``), so a reader can check the set too.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from ocularseg.core.errors import InputError, OcularsegError, ReportError
from ocularseg.io.files import sha256_regular

#: Writes one file at the given (temporary) path.
Writer = Callable[[Path], None]


def _staging_path(target: Path, token: str) -> Path:
    # Keeps the suffix: writers that choose a format from it (pandas, openpyxl) still work.
    return target.with_name(f".{target.stem}.new-{token}{target.suffix}")


def write_report_set(
    out_dir: str | os.PathLike[str],
    writers: Mapping[str, Writer],
    marker_name: str,
    marker_writer: Callable[[Path, dict[str, str]], None],
    *,
    previous: Iterable[str] = (),
) -> dict[str, str]:
    """Write ``writers`` (file name -> writer) and the marker into ``out_dir`` as one set.

    Args:
        out_dir: the folder (exists).
        writers: each file of the set, by name inside ``out_dir``.
        marker_name: the commit marker's name (``run.json``), written last.
        marker_writer: writes the marker at a path, given ``{name: sha256}`` of the other
            files.
        previous: names of files a previous run may have left that belong to the set
            (removed with the old set even when this run does not write them, e.g.
            ``skipped_files.txt`` when nothing was skipped this time).

    Returns:
        ``{name: sha256}`` of the files written (the marker excluded).

    Raises:
        ReportError: a file could not be written; the previous set is then untouched.
    """
    out = Path(out_dir)
    staged, hashes = _stage(out, writers, marker_name, marker_writer, secrets.token_hex(4))
    _swap_in(out, staged, marker_name, previous)
    return hashes


def _stage(
    out: Path,
    writers: Mapping[str, Writer],
    marker_name: str,
    marker_writer: Callable[[Path, dict[str, str]], None],
    token: str,
) -> tuple[dict[str, Path], dict[str, str]]:
    """Write every file, then the marker, to staging names beside their targets.

    Returns:
        The staging path of each name (marker last) and ``{name: sha256}`` of the files.

    Raises:
        ReportError: a writer failed; what was staged is removed.
    """
    staged: dict[str, Path] = {}
    try:
        for name, writer in writers.items():
            staged[name] = _staging_path(out / name, token)
            writer(staged[name])
        try:
            hashes = {name: sha256_regular(path) for name, path in staged.items()}
        except InputError as exc:
            raise ReportError(f"cannot write the reports in {out}: {exc}") from exc
        staged[marker_name] = _staging_path(out / marker_name, token)
        marker_writer(staged[marker_name], hashes)
    except BaseException as exc:
        _discard(staged)
        if isinstance(exc, OcularsegError) or not isinstance(exc, (OSError, ValueError)):
            raise
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ReportError(f"cannot write the reports in {out}: {reason}") from exc
    return staged, hashes


def _swap_in(out: Path, staged: dict[str, Path], marker_name: str, previous: Iterable[str]) -> None:
    """Remove the old set (marker first), then rename the staged set in (marker last).

    Raises:
        ReportError: a file could not be removed or moved; the staged files are removed.
    """
    order = [n for n in staged if n != marker_name]
    try:
        for name in [marker_name, *order, *[n for n in previous if n not in staged]]:
            with contextlib.suppress(FileNotFoundError):
                (out / name).unlink()
        for name in [*order, marker_name]:
            os.replace(staged[name], out / name)
    except OSError as exc:
        _discard(staged)
        raise ReportError(
            f"cannot move the reports into place in {out}: {exc.strerror or exc}"
        ) from exc


def _discard(staged: Mapping[str, Path]) -> None:
    for path in staged.values():
        with contextlib.suppress(OSError):
            path.unlink()
