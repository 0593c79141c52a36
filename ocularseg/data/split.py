"""Subject-wise train/val/test splits: no person appears in two splits.

Subjects are sorted, shuffled with a seeded generator, then each goes to the split that is
missing the largest share of its target number of *samples* (fraction × total), so splits
match the requested fractions as closely as whole subjects allow and, with at least as many
subjects as splits, no requested split is left empty. ``split_dataset`` refuses (and leaves
the manifest as it was) when a split with a non-zero fraction would still be empty: fewer
subjects than requested splits. Same manifest + fractions + seed -> same split, whatever the
row order of the manifest.
"""

from __future__ import annotations

import logging
import math
import os
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ocularseg.core.errors import ConfigError
from ocularseg.data.manifest import SPLITS, ManifestRow, read_manifest, write_manifest

log = logging.getLogger(__name__)

#: Allowed ``--by`` values (one; a per-image split would leak people between splits).
SPLIT_BY: tuple[str, ...] = ("subject",)


@dataclass(frozen=True)
class SplitSummary:
    """Counts per split after splitting.

    Attributes:
        samples: split name -> number of samples (rows).
        subjects: split name -> number of subjects.
        warnings: e.g. a split that received no subject.
    """

    samples: dict[str, int]
    subjects: dict[str, int]
    warnings: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """One line per split, for the user."""
        return [
            f"{name:<5} {self.samples[name]:>6} sample(s) {self.subjects[name]:>5} subject(s)"
            for name in self.samples
        ]


def parse_fractions(text: str | Sequence[float]) -> tuple[float, ...]:
    """Parse and validate split fractions (``"0.7,0.15,0.15"`` or a sequence).

    Two fractions mean train,val; three mean train,val,test.

    Raises:
        ConfigError: not numbers, not 2 or 3 of them, negative, or sum not 1 (± 1e-6).
    """
    if isinstance(text, str):
        try:
            values = tuple(float(part) for part in text.split(","))
        except ValueError as exc:
            raise ConfigError(
                f"--fractions {text!r}: expected numbers separated by commas, e.g. 0.7,0.15,0.15"
            ) from exc
    else:
        values = tuple(float(v) for v in text)
    if len(values) not in (2, 3):
        raise ConfigError(
            f"--fractions needs 2 (train,val) or 3 (train,val,test) values, got {len(values)}"
        )
    if any(not np.isfinite(v) or v < 0 for v in values):
        raise ConfigError(f"--fractions must be finite and >= 0, got {list(values)}")
    if abs(sum(values) - 1.0) > 1e-6:
        raise ConfigError(f"--fractions must sum to 1, got {sum(values):.6g} ({list(values)})")
    return values


def split_rows(
    rows: Sequence[ManifestRow], fractions: Sequence[float], *, seed: int
) -> list[ManifestRow]:
    """Assign every row a split so that each subject is in exactly one split.

    Args:
        rows: manifest rows (existing ``split`` values are replaced).
        fractions: validated fractions (see ``parse_fractions``) for ``SPLITS`` in order.
        seed: seed of the ``numpy.random.Generator`` that shuffles subjects.

    Returns:
        New rows, in the input order, with ``split`` set.
    """
    fractions = parse_fractions(fractions)
    names = SPLITS[: len(fractions)]
    per_subject = Counter(row.subject for row in rows)
    subjects = sorted(per_subject)
    order = np.random.default_rng(seed).permutation(len(subjects))
    total = sum(per_subject.values())
    targets = [f * total for f in fractions]
    counts = [0] * len(names)
    assignment: dict[str, str] = {}
    for index in order:
        subject = subjects[int(index)]
        # The split missing the largest *share* of its target takes the next subject, so
        # small splits get their first subject early and none stays empty when there are
        # enough subjects; ties go to the earlier split (rounded: immune to float noise).
        missing = [
            (targets[i] - counts[i]) / targets[i] if targets[i] > 0 else -math.inf
            for i in range(len(names))
        ]
        best = max(range(len(names)), key=lambda i: (round(missing[i], 9), -i))
        assignment[subject] = names[best]
        counts[best] += per_subject[subject]
    return [replace(row, split=assignment[row.subject]) for row in rows]


def summarise(
    rows: Sequence[ManifestRow], fractions: Sequence[float] | None = None
) -> SplitSummary:
    """Count samples and subjects per split; warn about empty splits that were requested."""
    names = list(SPLITS) + (["unsplit"] if any(not r.split for r in rows) else [])
    samples = dict.fromkeys(names, 0)
    subjects: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        key = row.split or "unsplit"
        samples[key] += 1
        subjects[key].add(row.subject)
    warnings = []
    if fractions is not None:
        for name, fraction in zip(SPLITS, fractions, strict=False):
            if fraction > 0 and samples[name] == 0:
                warnings.append(
                    f"split {name!r} is empty: {len({r.subject for r in rows})} subject(s) "
                    f"are too few for fractions {list(fractions)}"
                )
    return SplitSummary(samples, {n: len(subjects[n]) for n in names}, tuple(warnings))


def split_dataset(
    dataset_dir: str | os.PathLike[str],
    fractions: str | Sequence[float] = (0.7, 0.15, 0.15),
    *,
    seed: int = 0,
    by: str = "subject",
) -> SplitSummary:
    """Split a dataset by subject and rewrite its manifest atomically.

    Raises:
        ConfigError: bad ``fractions`` or ``by``, or a requested split would be empty (too
            few subjects; the manifest is left as it was). DataError: bad or missing manifest.
    """
    if by not in SPLIT_BY:
        raise ConfigError(f"--by {by!r} is not supported; use one of {', '.join(SPLIT_BY)}")
    values = parse_fractions(fractions)
    rows = read_manifest(dataset_dir)
    new_rows = split_rows(rows, values, seed=seed)
    summary = summarise(new_rows, values)
    _refuse_empty_split(Path(dataset_dir), summary, values, len({r.subject for r in rows}))
    write_manifest(dataset_dir, new_rows)
    # Warnings travel in the summary (the CLI prints them); log them for API users' logs.
    for warning in summary.warnings:
        log.info("%s", warning)
    log.info("split %s (%s, seed %d)", Path(dataset_dir), values, seed)
    return summary


def _refuse_empty_split(
    dataset: Path, summary: SplitSummary, fractions: tuple[float, ...], n_subjects: int
) -> None:
    """Raise ConfigError naming the first requested (non-zero fraction) split left empty."""
    for name, fraction in zip(SPLITS, fractions, strict=False):
        if fraction > 0 and summary.samples[name] == 0:
            requested = sum(1 for f in fractions if f > 0)
            raise ConfigError(
                f"{dataset}: {n_subjects} subject(s) are too few for --fractions "
                f"{','.join(f'{f:g}' for f in fractions)}: split {name!r} (fraction "
                f"{fraction:g}) would be empty; it needs at least {requested} subjects, or "
                "fewer splits (e.g. --fractions 0.8,0.2); manifest.csv is unchanged"
            )
