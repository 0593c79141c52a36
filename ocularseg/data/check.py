"""Dataset health check: every problem found, each naming its file; never a traceback.

Checks per row: image and mask exist inside the dataset folder, decode completely (no
truncated PNG/JPEG), have the same size; the mask is single-channel uint8 with values in
``Label`` and some foreground. Across rows: an image, mask or sample name listed twice,
and a subject that appears in more than one split (a leak between train and test).
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from ocularseg.core.errors import DataError, InputError
from ocularseg.core.labels import NUM_CLASSES
from ocularseg.data.manifest import MANIFEST_NAME, ManifestRow, read_manifest
from ocularseg.data.split import summarise
from ocularseg.io.images import read_image_rgb, read_image_unchanged

log = logging.getLogger(__name__)

#: Problem kinds, in report order.
PROBLEM_KINDS: tuple[str, ...] = (
    "manifest",
    "duplicate-row",
    "path-outside",
    "missing-file",
    "unreadable",
    "mask-format",
    "size-mismatch",
    "unknown-labels",
    "empty-mask",
    "subject-leak",
)

#: Kinds reported but not failing the check. An empty mask is a valid annotation of a
#: closed eye (a blink), which training data should contain; it is listed so that an
#: accidental blank mask is still seen.
WARNING_KINDS: frozenset[str] = frozenset({"empty-mask"})


@dataclass(frozen=True)
class Problem:
    """One problem found by ``check_dataset``.

    Attributes:
        path: file concerned, relative to the dataset (or the subject for a leak).
        kind: one of ``PROBLEM_KINDS``.
        message: what is wrong, naming values and limits.
        line: manifest line number (header = line 1), or 0 when not tied to one row.
    """

    path: str
    kind: str
    message: str
    line: int = 0

    @property
    def is_warning(self) -> bool:
        """True for kinds that are reported but do not fail the check."""
        return self.kind in WARNING_KINDS

    def text(self) -> str:
        """``path: message`` (plus the manifest line), for the report."""
        where = f" (manifest line {self.line})" if self.line else ""
        return f"{self.path}: {self.message}{where}"


@dataclass
class CheckReport:
    """Outcome of ``check_dataset``."""

    dataset: Path
    n_samples: int = 0
    n_subjects: int = 0
    split_samples: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing but warnings was found."""
        return not any(not p.is_warning for p in self.problems)

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.is_warning]

    def summary(self) -> str:
        """One line: the counts, and OK or the number of problems."""
        splits = ", ".join(f"{k} {v}" for k, v in self.split_samples.items())
        counts = f"{self.n_samples} sample(s), {self.n_subjects} subject(s)" + (
            f" ({splits})" if splits else ""
        )
        warned = len(self.warnings)
        note = f" ({warned} warning(s): empty masks are fine for closed eyes)" if warned else ""
        if self.ok:
            return f"OK: {self.dataset}: {counts}{note}"
        return f"{len(self.problems) - warned} problem(s) in {self.dataset}: {counts}{note}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``--json``)."""
        return {
            "dataset": str(self.dataset),
            "ok": self.ok,
            "samples": self.n_samples,
            "subjects": self.n_subjects,
            "splits": dict(self.split_samples),
            "problems": [asdict(p) for p in self.problems],
        }


def check_dataset(dataset_dir: str | os.PathLike[str]) -> CheckReport:
    """Check a dataset folder and return every problem found (never raises for bad data).

    Args:
        dataset_dir: folder with ``manifest.csv``, ``images/`` and ``masks/``.

    Returns:
        The report; ``report.ok`` is False when any problem was found.
    """
    root = Path(dataset_dir)
    report = CheckReport(dataset=root)
    try:
        rows = read_manifest(root)
    except DataError as exc:
        report.problems.append(Problem(MANIFEST_NAME, "manifest", _strip(str(exc), root)))
        return report
    report.n_samples = len(rows)
    report.n_subjects = len({row.subject for row in rows})
    report.split_samples = summarise(rows).samples
    report.problems.extend(_duplicate_problems(rows))
    for line, row in enumerate(rows, start=2):
        report.problems.extend(_row_problems(root, row, line))
    report.problems.extend(_leak_problems(rows))
    order = {kind: i for i, kind in enumerate(PROBLEM_KINDS)}
    report.problems.sort(key=lambda p: (order.get(p.kind, len(order)), p.line, p.path))
    log.info("checked %s: %d problem(s)", root, len(report.problems))
    return report


def _strip(message: str, path: Path) -> str:
    """Drop a leading ``"<path>: "`` from an error message (the report shows the path)."""
    prefix = f"{path}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


def _duplicate_problems(rows: list[ManifestRow]) -> list[Problem]:
    problems = []
    for column in ("image", "mask", "stem"):
        lines: dict[str, list[int]] = defaultdict(list)
        for line, row in enumerate(rows, start=2):
            lines[getattr(row, column).lower()].append(line)
        for value, found in lines.items():
            if len(found) > 1:
                what = "sample name" if column == "stem" else f"{column} path"
                first = rows[found[0] - 2]
                path = first.image if column == "stem" else getattr(first, column)
                problems.append(
                    Problem(
                        path,
                        "duplicate-row",
                        f"{what} {value!r} is listed {len(found)} times "
                        f"(manifest lines {', '.join(map(str, found))})",
                    )
                )
    return problems


def _inside(root: Path, rel: str) -> Path | None:
    posix = PurePosixPath(rel.replace("\\", "/"))
    if posix.is_absolute() or ".." in posix.parts or Path(rel).is_absolute():
        return None
    return root / posix


def _row_problems(root: Path, row: ManifestRow, line: int) -> list[Problem]:
    problems: list[Problem] = []
    image = mask = None
    for column in ("image", "mask"):
        rel = getattr(row, column)
        path = _inside(root, rel)
        if path is None:
            problems.append(
                Problem(rel, "path-outside", f"{column} path points outside the dataset", line)
            )
            continue
        if not path.is_file():
            problems.append(Problem(rel, "missing-file", f"{column} file not found", line))
            continue
        reader = read_image_rgb if column == "image" else read_image_unchanged
        try:
            array = reader(path)
        except InputError as exc:
            problems.append(Problem(rel, "unreadable", _strip(str(exc), path), line))
            continue
        if column == "image":
            image = array
        else:
            mask = array
    if mask is not None:
        problems.extend(_mask_problems(row.mask, mask, line))
    if image is not None and mask is not None and image.shape[:2] != mask.shape[:2]:
        problems.append(
            Problem(
                row.mask,
                "size-mismatch",
                f"mask is {mask.shape[1]}×{mask.shape[0]} px but image {row.image} is "
                f"{image.shape[1]}×{image.shape[0]} px",
                line,
            )
        )
    return problems


def _mask_problems(rel: str, mask: np.ndarray, line: int) -> list[Problem]:
    if mask.ndim != 2 or mask.dtype != np.uint8:
        channels = 1 if mask.ndim == 2 else mask.shape[2]
        return [
            Problem(
                rel,
                "mask-format",
                f"mask must be single-channel uint8, got {channels} channel(s) of {mask.dtype} "
                "(re-import colour masks with 'ocularseg data import masks')",
                line,
            )
        ]
    values, counts = np.unique(mask, return_counts=True)
    unknown = [(int(v), int(c)) for v, c in zip(values, counts, strict=True) if v >= NUM_CLASSES]
    if unknown:
        listed = ", ".join(f"{v} ({c} px)" for v, c in unknown[:8])
        return [
            Problem(
                rel,
                "unknown-labels",
                f"unknown label value(s) {listed}; allowed 0..{NUM_CLASSES - 1}",
                line,
            )
        ]
    if not np.any(values > 0):
        return [Problem(rel, "empty-mask", "mask has no foreground (all background)", line)]
    return []


def _leak_problems(rows: list[ManifestRow]) -> list[Problem]:
    splits: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if row.split:
            splits[row.subject].add(row.split)
    return [
        Problem(
            f"subject {subject!r}",
            "subject-leak",
            f"appears in several splits ({', '.join(sorted(found))}); re-run 'data split'",
        )
        for subject, found in sorted(splits.items())
        if len(found) > 1
    ]
