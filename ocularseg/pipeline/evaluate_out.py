"""Where ``ocularseg evaluate`` writes: a new folder per run, never an overwrite by surprise.

Evaluation files hold real image and subject ids, so the folder is chosen with care:

* ``--out`` not given: a new folder in the current folder named for the run,
  ``evaluation-<model>-<data>-<split>`` (``-2``, ``-3`` … when taken). Refused when the
  current folder is inside a git working tree (ids must not end up in a repository by
  default): the user names a folder with ``--out``.
* ``--out DIR``: DIR must be new or empty; a folder holding only an earlier evaluation's
  files may be replaced with ``--overwrite``; anything else is refused (nothing written).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ocularseg.core.errors import ConfigError
from ocularseg.evaluation.summary import (
    PER_IMAGE_NAME,
    SUMMARY_CSV_NAME,
    SUMMARY_JSON_NAME,
    SUMMARY_MD_NAME,
)

#: The files an evaluation writes (phantom-label and silver real-eye evaluations).
EVALUATION_FILES: frozenset[str] = frozenset(
    {
        PER_IMAGE_NAME,
        SUMMARY_CSV_NAME,
        SUMMARY_JSON_NAME,
        SUMMARY_MD_NAME,
        "real_per_image.csv",
        "real_eyes.csv",
        "real_summary.csv",
        "real_measures.csv",
        "real_summary.md",
    }
)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class EvaluationTarget:
    """The folder an evaluation is written to.

    Attributes:
        path: the folder (new, empty, or an earlier evaluation being replaced).
        replaces: the earlier evaluation's files in it (empty unless ``--overwrite``).
    """

    path: Path
    replaces: frozenset[str] = frozenset()


def _name_part(path: Path) -> str:
    """A file-name-safe word for a folder: its last name, odd characters as ``_``."""
    return _UNSAFE.sub("_", path.resolve().name).strip("_") or "unnamed"


def git_work_tree(folder: Path) -> Path | None:
    """The top of the git working tree holding ``folder`` (a ``.git`` entry above it), or None."""
    for parent in (folder.resolve(), *folder.resolve().parents):
        if (parent / ".git").exists():
            return parent
    return None


def default_out_dir(cwd: Path, *, scored: Path, data: Path, split: str) -> Path:
    """``cwd/evaluation-<scored>-<data>-<split>``, with ``-2``, ``-3`` … if that exists.

    Args:
        cwd: the current folder.
        scored: the model folder (or the prediction-mask folder) evaluated.
        data: the data set folder.
        split: train, val, test or all.

    Raises:
        ConfigError: ``cwd`` is inside a git working tree.
    """
    tree = git_work_tree(cwd)
    if tree is not None:
        raise ConfigError(
            f"no --out given and {cwd.resolve()} is inside the git working tree {tree}: "
            "evaluation files hold real image ids, so name a folder outside it with --out"
        )
    stem = f"evaluation-{_name_part(scored)}-{_name_part(data)}-{split}"
    candidate, number = cwd / stem, 1
    while candidate.exists():
        number += 1
        candidate = cwd / f"{stem}-{number}"
    return candidate


def check_out_dir(out: Path, *, overwrite: bool) -> EvaluationTarget:
    """Accept ``out`` if it is new or empty, or an earlier evaluation and ``overwrite``.

    Raises:
        ConfigError: ``out`` is a file; a folder with other files; or an earlier
            evaluation without ``overwrite`` (nothing is written in each case).
    """
    if not out.exists():
        return EvaluationTarget(out)
    if not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is a file; give a new or empty folder")
    entries = {entry.name for entry in out.iterdir()}
    if not entries:
        return EvaluationTarget(out)
    others = sorted(entries - EVALUATION_FILES)
    if others:
        raise ConfigError(
            f"--out {out}: folder is not empty and is not an evaluation folder (holds "
            f"{', '.join(others[:3])}{' …' if len(others) > 3 else ''}); give a new or empty "
            "folder (nothing was written)"
        )
    if not overwrite:
        raise ConfigError(
            f"--out {out}: holds an earlier evaluation; add --overwrite to replace it, or "
            "give a new folder (nothing was written)"
        )
    return EvaluationTarget(out, frozenset(entries))


def resolve_out_dir(
    out: Path | None, *, cwd: Path, scored: Path, data: Path, split: str, overwrite: bool
) -> EvaluationTarget:
    """The folder to write to: ``out`` checked, or the run's new default folder."""
    if out is None:
        return EvaluationTarget(default_out_dir(cwd, scored=scored, data=data, split=split))
    return check_out_dir(out, overwrite=overwrite)


def remove_stale(target: EvaluationTarget, written: Iterable[Path]) -> None:
    """Delete the replaced evaluation's files that this run did not write again."""
    kept = {Path(p).name for p in written}
    for name in sorted(target.replaces - kept):
        (target.path / name).unlink(missing_ok=True)
