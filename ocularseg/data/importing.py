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
from collections.abc import Callable, Collection, Sequence
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


def visible_files(folder: Path, suffixes: Collection[str]) -> list[Path]:
    """The files under ``folder`` (recursive, sorted) whose lower-case suffix is in
    ``suffixes``; hidden files and everything in hidden folders are skipped."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in suffixes
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


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


@dataclass(frozen=True)
class ImportSource:
    """What an import reads and how, as ``import.json`` records it.

    Attributes:
        importer: the importer's name (``labelme``, ``masks``).
        root: the folder imported from; ``import.json`` names it, and the files in it,
            by the folder's name only (an absolute path tells who ran the import where, and
            a dataset may be shared; see README, Privacy).
        options: the importer's options, as recorded.
        group: written into the manifest's ``group`` column.
        skip_bad: write the good samples even when some fail.
        folders: further source folders by role (e.g. ``{"masks": path}``), named likewise.
    """

    importer: str
    root: Path
    options: dict[str, Any]
    group: str = ""
    skip_bad: bool = False
    folders: dict[str, Path] = field(default_factory=dict)

    def provenance(self) -> dict[str, Any]:
        """The ``import.json`` fields that describe the source."""
        return {
            "importer": self.importer,
            "source": self.root.absolute().name,
            **{role: Path(folder).absolute().name for role, folder in self.folders.items()},
            "options": self.options,
        }


def import_samples(
    samples: Sequence[SourceSample],
    load: LoadFn,
    out_dir: str | os.PathLike[str],
    source: ImportSource,
) -> ImportReport:
    """Load each sample with ``load`` and write a dataset to ``out_dir``.

    Args:
        samples: what to import, in a stable order.
        load: returns (RGB uint8 (H, W, 3) image, uint8 (H, W) label map) or raises an
            ``OcularsegError`` naming the file.
        out_dir: new or empty folder for the dataset.
        source: where from, the options, the group and the skip policy.

    Returns:
        The report; ``rows`` are the manifest rows written.

    Raises:
        ImportFailedError: some (or, even with ``skip_bad``, all) samples failed.
        DataError: ``out_dir`` is not new/empty.
    """
    check_output_dir(out_dir)
    with DatasetWriter(out_dir) as writer:
        sources, failures = _add_samples(writer, samples, load, source.group)
        if failures and (not source.skip_bad or not writer.rows):
            raise ImportFailedError(_failure_message(failures, len(samples), out_dir), failures)
        report = ImportReport(out_dir=Path(out_dir), rows=list(writer.rows), skipped=failures)
        report.warnings.extend(_subject_warnings(writer.rows))
        writer.write_json(IMPORT_RECORD_NAME, _import_record(source, sources, failures))
        writer.commit()
    # Warnings travel in the report (the CLI prints them); log them for API users' logs.
    for warning in report.warnings:
        log.info("%s", warning)
    return report


def _add_samples(
    writer: DatasetWriter, samples: Sequence[SourceSample], load: LoadFn, group: str
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Add every sample that loads; returns (stem -> source name, (file, reason) failures)."""
    failures: list[tuple[str, str]] = []
    sources: dict[str, str] = {}
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
    return sources, failures


def _import_record(
    source: ImportSource, sources: dict[str, str], failures: list[tuple[str, str]]
) -> dict[str, Any]:
    """The ``import.json`` record: provenance, version, samples written and files skipped."""
    return {
        **source.provenance(),
        "ocularseg_version": __version__,
        "samples": sources,
        "skipped": [
            {
                "file": _relative_to_source(f, source.root),
                "reason": _relative_to_source(r, source.root),
            }
            for f, r in failures
        ],
    }


def _relative_to_source(text: str, root: Path) -> str:
    """``text`` with the source folder's path replaced by its name (for import.json)."""
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
