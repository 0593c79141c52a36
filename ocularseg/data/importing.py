"""The shared import loop: load every source sample, report every bad file, write all-or-nothing.

Policy (chosen for clinicians, who fix annotations in bulk): every file is tried, so one run
lists *all* problems, each naming its file. By default a single bad file means nothing is
written and the command exits non-zero; ``skip_bad=True`` (``--skip-bad``) writes the good
files and records the skipped ones, with their reasons, in the summary and in
``DATASET/import.json``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from ocularseg import __version__
from ocularseg.core.errors import DataError, OcularsegError
from ocularseg.data.manifest import ManifestRow
from ocularseg.data.writer import DatasetWriter, check_output_dir, sample_name

log = logging.getLogger(__name__)

#: Provenance file written into every imported dataset (source of each sample, skips).
IMPORT_RECORD_NAME = "import.json"

#: At most this many failures are spelled out in an exception message.
_MAX_LISTED = 50


@dataclass(frozen=True)
class SourceSample:
    """One sample to import.

    Attributes:
        key: source path relative to the input folder without suffix; names the sample.
        path: the file to name in messages (the JSON, or the image).
        subject: person id (see ``writer.subject_for``).
    """

    key: PurePosixPath
    path: Path
    subject: str


@dataclass
class ImportReport:
    """Outcome of an import: what was written and what was skipped (with ``skip_bad``)."""

    out_dir: Path
    rows: list[ManifestRow]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def n_subjects(self) -> int:
        """Number of distinct subjects written."""
        return len({row.subject for row in self.rows})

    def summary(self) -> str:
        """One line for the user."""
        text = (
            f"imported {len(self.rows)} sample(s) from {self.n_subjects} subject(s) "
            f"into {self.out_dir}"
        )
        if self.skipped:
            text += f"; skipped {len(self.skipped)} bad file(s)"
        return text


class ImportFailedError(DataError):
    """One or more source files could not be imported; nothing was written.

    Attributes:
        failures: (file, reason) for every bad file.
    """

    def __init__(self, message: str, failures: Sequence[tuple[str, str]]) -> None:
        super().__init__(message)
        self.failures = list(failures)


LoadFn = Callable[[SourceSample], tuple[np.ndarray, np.ndarray]]


def import_samples(
    samples: Sequence[SourceSample],
    load: LoadFn,
    out_dir: str | os.PathLike[str],
    *,
    group: str = "",
    skip_bad: bool = False,
    provenance: dict[str, Any] | None = None,
    source_root: str | os.PathLike[str] | None = None,
) -> ImportReport:
    """Load each sample with ``load`` and write a dataset to ``out_dir``.

    Args:
        samples: what to import, in a stable order.
        load: returns (RGB uint8 (H, W, 3) image, uint8 (H, W) label map) or raises an
            ``OcularsegError`` naming the file.
        out_dir: new or empty folder for the dataset.
        group: written into the manifest's ``group`` column.
        skip_bad: write the good samples even when some fail.
        provenance: extra fields for ``import.json`` (importer, source folder, options).
        source_root: the folder imported from; ``import.json`` names files relative to it.

    Returns:
        The report; ``rows`` are the manifest rows written.

    Raises:
        ImportFailedError: some (or, even with ``skip_bad``, all) samples failed.
        DataError: ``out_dir`` is not new/empty.
    """
    check_output_dir(out_dir)
    source_root = Path(source_root) if source_root is not None else None
    failures: list[tuple[str, str]] = []
    sources: dict[str, str] = {}
    with DatasetWriter(out_dir) as writer:
        for sample in samples:
            try:
                image, mask = load(sample)
                row = writer.add(
                    sample_name(sample.key),
                    image,
                    mask,
                    subject=sample.subject,
                    group=group,
                    source=str(sample.path),
                )
            except OcularsegError as exc:
                failures.append((str(sample.path), str(exc)))
                log.debug("cannot import %s: %s", sample.path, exc)
                continue
            # Relative to the source folder: import.json must not record where on whose
            # machine the annotations lived (see README, Privacy).
            sources[row.stem] = f"{sample.key}{sample.path.suffix}"
        if failures and (not skip_bad or not writer.rows):
            raise ImportFailedError(_failure_message(failures, len(samples), out_dir), failures)
        report = ImportReport(out_dir=Path(out_dir), rows=list(writer.rows), skipped=failures)
        report.warnings.extend(_subject_warnings(writer.rows))
        record = {
            **(provenance or {}),
            "ocularseg_version": __version__,
            "samples": sources,
            "skipped": [
                {
                    "file": _relative_to_source(f, source_root),
                    "reason": _relative_to_source(r, source_root),
                }
                for f, r in failures
            ],
        }
        writer.write_json(IMPORT_RECORD_NAME, record)
        writer.commit()
    # Warnings travel in the report (the CLI prints them); log them for API users' logs.
    for warning in report.warnings:
        log.info("%s", warning)
    return report


def _relative_to_source(text: str, root: Path | None) -> str:
    """``text`` with the source folder's path replaced by its name (for import.json)."""
    if root is None:
        return text
    for prefix in sorted({str(root.absolute()), str(root)}, key=len, reverse=True):
        if prefix not in (".", ""):
            text = text.replace(prefix, root.absolute().name)
    return text


def _failure_message(failures: list[tuple[str, str]], total: int, out_dir: object) -> str:
    lines = [reason for _, reason in failures[:_MAX_LISTED]]
    if len(failures) > _MAX_LISTED:
        lines.append(f"... and {len(failures) - _MAX_LISTED} more")
    head = (
        f"{len(failures)} of {total} file(s) could not be imported; nothing was written to "
        f"{out_dir} (fix them, or pass --skip-bad to import the others):"
    )
    return head + "".join(f"\n  {line}" for line in lines)


def _subject_warnings(rows: list[ManifestRow]) -> list[str]:
    subjects = {row.subject for row in rows}
    if len(rows) > 1 and len(subjects) == 1:
        return [
            f"all {len(rows)} samples have the same subject {next(iter(subjects))!r}, so a "
            "subject-wise split cannot separate them; check --subject-from"
        ]
    return []
