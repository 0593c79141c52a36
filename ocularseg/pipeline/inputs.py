"""Input discovery: files and folders (recursive), in any mix, in a stable order."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ocularseg.core.errors import ConfigError
from ocularseg.io.images import IMAGE_SUFFIXES
from ocularseg.io.video import VIDEO_SUFFIXES


@dataclass(frozen=True)
class InputItem:
    """One input file.

    Attributes:
        path: the file as found (absolute).
        kind: 'video' or 'image' (from the suffix; contents are checked when opened).
        label: the path as the user will recognise it (relative to the folder given, or as
            given), used in reports.
        key: a short stable id for the per-input output folder.
    """

    path: Path
    kind: str
    label: str

    @property
    def key(self) -> str:
        # A clinic folder often holds many 'video.mp4' in patient sub-folders: the hash of
        # the full path keeps their output folders apart; the stem keeps them recognisable.
        digest = hashlib.sha1(str(self.path).encode("utf-8")).hexdigest()[:8]
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", self.path.stem)[:40] or "input"
        return f"{stem}-{digest}"


def kind_of(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return "video"
    if suffix in IMAGE_SUFFIXES:
        return "image"
    return None


def discover_inputs(
    paths: list[str | os.PathLike[str]],
) -> tuple[list[InputItem], list[str]]:
    """Expand files and folders into input items.

    Files named explicitly are always inputs (a wrong or unknown type is reported when it is
    opened, never skipped silently). Inside folders, hidden files are ignored and files that
    are neither video nor image are returned in the second list so the run can record them.

    Raises:
        ConfigError: no paths, or a path that does not exist.
    """
    if not paths:
        raise ConfigError("no inputs given: name video files, images or folders")
    items: list[InputItem] = []
    skipped: list[str] = []
    seen: set[Path] = set()
    for given in paths:
        root = Path(given)
        if not root.exists():
            raise ConfigError(f"{root}: no such file or folder")
        if root.is_dir():
            for found in sorted(p for p in root.rglob("*") if p.is_file()):
                relative = found.relative_to(root)
                if any(part.startswith(".") for part in relative.parts):
                    continue
                kind = kind_of(found)
                label = str(root / relative)
                if kind is None:
                    skipped.append(label)
                    continue
                _add(items, seen, InputItem(found.resolve(), kind, label))
        else:
            _add(items, seen, InputItem(root.resolve(), kind_of(root) or "video", str(root)))
    return items, skipped


def _add(items: list[InputItem], seen: set[Path], item: InputItem) -> None:
    if item.path not in seen:
        seen.add(item.path)
        items.append(item)
