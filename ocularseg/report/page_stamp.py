"""Whether an input's one-page report on disk can be kept instead of drawn again.

Drawing a page takes about a second; ``--resume`` with nothing new used to redraw every
page. After a page is drawn, ``report_stamp.json`` beside it records a fingerprint of what
the page was drawn from (the input's tables, frame counts, the run-wide facts it prints,
the output folder) and the sha256 of each file written. A later run keeps the page only
when the fingerprint is the same and every file is still the one written. The run's date
is left out of the fingerprint: a kept page shows the date of the run that drew it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ValidationError

from ocularseg.core.errors import InputError
from ocularseg.core.records import FrameCounts
from ocularseg.io.atomic import write_text_atomic
from ocularseg.io.files import sha256_regular
from ocularseg.report.faces import FACES_PNG
from ocularseg.report.page import PageContext

#: The stamp beside ``report.png`` in ``OUT/inputs/<key>/``.
PAGE_STAMP = "report_stamp.json"
#: Changes whenever what goes into the fingerprint changes.
_STAMP_FORMAT = 2


class PageStamp(BaseModel):
    """``report_stamp.json``: the fingerprint a page was drawn from and its files.

    Attributes:
        fingerprint: sha256 (hex) of what the page was drawn from (:func:`page_fingerprint`).
        files: the page's files by role (``png``, ``pdf``, ``chart``): file name in the
            input's folder and its sha256 (hex).
    """

    fingerprint: str
    files: dict[str, tuple[str, str]]


def _table_text(frame: pd.DataFrame | None) -> str:
    if frame is None:
        return "none"
    return frame.to_json(orient="split", double_precision=15, default_handler=str, index=False)


def page_fingerprint(
    folder: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    tables: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame | None],
    context: PageContext,
    frames: FrameCounts | None,
) -> str:
    """sha256 (hex) of what ``report.page.write_input_report`` draws an input's page from.

    Args:
        folder: the input's folder (its ``faces.png``, if any, is on the page).
        out_dir: the run's output folder (resolved: a moved folder's pages are redrawn).
        tables: the input's measurements, summary, errors and warnings rows.
        context: the run-wide facts, every field but ``created_utc``.
        frames: the input's frame counts, or None.
    """
    digest = hashlib.sha256()
    faces = Path(folder) / FACES_PNG
    parts = [
        str(_STAMP_FORMAT),
        str(Path(out_dir).resolve()),
        *(_table_text(t) for t in tables),
        *_context_parts(context),
        json.dumps(dataclasses.asdict(frames) if frames else None),
        sha256_regular(faces) if faces.exists() else "no faces",
    ]
    for part in parts:
        digest.update(part.encode("utf-8", "surrogateescape"))
        digest.update(b"\0")
    return digest.hexdigest()


def _context_parts(context: PageContext) -> list[str]:
    """Every run-wide fact of ``context`` as text, field by field (a field added to
    ``PageContext`` later is in the fingerprint without a change here), the date left out."""
    parts = []
    for item in dataclasses.fields(context):
        if item.name == "created_utc":
            continue
        value = getattr(context, item.name)
        if isinstance(value, BaseModel):
            parts.append(value.model_dump_json())
        elif isinstance(value, Mapping):
            parts.append(json.dumps(sorted((str(k), str(v)) for k, v in value.items())))
        else:
            parts.append(str(value))
    return parts


def kept_page(folder: str | os.PathLike[str], fingerprint: str) -> dict[str, Path] | None:
    """The page files (by role, as ``write_input_report`` returns them) when the page on
    disk was drawn from ``fingerprint`` and every file is still the one written; else None."""
    folder = Path(folder)
    try:
        stamp = PageStamp.model_validate_json((folder / PAGE_STAMP).read_bytes())
    except (OSError, ValidationError):
        return None
    if stamp.fingerprint != fingerprint or "png" not in stamp.files:
        return None
    paths = {role: folder / name for role, (name, _) in stamp.files.items()}
    for role, (_, sha256) in stamp.files.items():
        try:
            if sha256_regular(paths[role]) != sha256:
                return None
        except InputError:
            return None
    return paths


def stamp_page(folder: str | os.PathLike[str], fingerprint: str, paths: dict[str, Path]) -> None:
    """Write ``report_stamp.json`` for the page just drawn (``paths`` by role).

    Raises:
        InputError / OSError: a page file cannot be read, or the stamp cannot be written.
    """
    files = {role: (path.name, sha256_regular(path)) for role, path in paths.items()}
    stamp = PageStamp(fingerprint=fingerprint, files=files)
    write_text_atomic(Path(folder) / PAGE_STAMP, stamp.model_dump_json(indent=2))
