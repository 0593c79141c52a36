"""Input discovery: files and folders (recursive), in any mix, in a stable order.

Nothing is skipped silently. A file named on the command line is always an input (a wrong
type, a FIFO or a device becomes that input's error row). Inside folders, every file that is
not analysed is listed with its reason in ``skipped_files.txt``: not a video or image, a
label mask or an ocularseg output (recognised by name or place, see :func:`mask_reason`),
a special file (FIFO, device, socket), a broken symbolic link or a link loop, a folder that
cannot be read. Hidden files and folders (``.name``) are ignored, as file managers do.
Folders reached twice through symbolic links are searched once.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ocularseg.core.errors import ConfigError
from ocularseg.core.text import printable
from ocularseg.io.files import file_kind, link_problem
from ocularseg.io.images import IMAGE_SUFFIXES, UNSUPPORTED_IMAGE_FORMATS
from ocularseg.io.video import VIDEO_SUFFIXES

log = logging.getLogger(__name__)

#: File stems ending like these are label masks or overlays, not photographs.
MASK_STEM_SUFFIXES: tuple[str, ...] = (
    "_mask",
    "-mask",
    "_masks",
    "_label",
    "_labels",
    "_seg",
    "_segmentation",
    "_overlay",
)
#: Folder names that hold masks or overlays (a dataset's ``masks/``, an output's ``overlays/``).
MASK_FOLDER_NAMES: frozenset[str] = frozenset({"masks", "labels", "overlays"})
#: Lock file that marks an ocularseg output folder (see ``pipeline.lock``).
OUTPUT_MARKER = ".ocularseg.lock"


@dataclass(frozen=True)
class InputItem:
    """One input file.

    Attributes:
        path: the file as found (absolute).
        kind: 'video', 'image' or 'unsupported' (a known photo format that cannot be read,
            e.g. HEIC; it becomes an error row).
        label: the path as the user will recognise it (relative to the folder given, or as
            given), used in reports; always valid UTF-8 (see ``core.text.printable``).
        key: a short stable id for the per-input output folder.
    """

    path: Path
    kind: str
    label: str

    @property
    def key(self) -> str:
        # A clinic folder often holds many 'video.mp4' in patient sub-folders: the hash of
        # the full path keeps their output folders apart; the stem keeps them recognisable.
        # fsencode gives the name's real bytes, also when they are not valid UTF-8.
        digest = hashlib.sha1(os.fsencode(self.path)).hexdigest()[:8]
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", self.path.stem)[:40] or "input"
        return f"{stem}-{digest}"


@dataclass(frozen=True)
class SkippedFile:
    """A file or folder found inside an input folder and not analysed, with the reason."""

    label: str
    reason: str

    def line(self) -> str:
        """``PATH<TAB>REASON`` (one line of ``skipped_files.txt``)."""
        return f"{self.label}\t{self.reason}"


def kind_of(path: Path) -> str | None:
    """'video', 'image', 'unsupported' (known photo format we cannot read) or None."""
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return "video"
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in UNSUPPORTED_IMAGE_FORMATS:
        return "unsupported"
    return None


def mask_reason(path: Path) -> str | None:
    """Why a file inside a folder looks like a label mask or an ocularseg output, or None."""
    stem = path.stem.lower()
    if stem.endswith(MASK_STEM_SUFFIXES):
        return "looks like a label mask or overlay (file name), not a photograph"
    return None


def output_folder_reason(folder: Path) -> str | None:
    """Why ``folder`` is an ocularseg output or a dataset's mask folder, or None."""
    if (folder / OUTPUT_MARKER).exists():
        return "an ocularseg output folder"
    if (folder / "run.json").is_file() and (folder / "errors.csv").is_file():
        return "an ocularseg output folder"
    if (folder / "result.json").is_file():
        return "per-input results of an ocularseg output folder"
    if folder.name.lower() in MASK_FOLDER_NAMES:
        return f"a '{folder.name}' folder (label masks or overlays, not photographs)"
    return None


def discover_inputs(
    paths: Sequence[str | os.PathLike[str]],
    *,
    exclude: Iterable[str | os.PathLike[str]] = (),
) -> tuple[list[InputItem], list[SkippedFile]]:
    """Expand files and folders into input items.

    Args:
        paths: files and folders named by the user.
        exclude: folders never searched (the run's own ``--out``, so a second run does not
            analyse the first run's crops and overlays).

    Returns:
        (inputs in a stable order without duplicates, what was skipped inside folders).

    Raises:
        ConfigError: no paths; a path that does not exist (or a broken link / link loop);
            or no input at all among everything named.
    """
    if not paths:
        raise ConfigError("no inputs given: name video files, images or folders")
    excluded = {_resolved(Path(p)) for p in exclude}
    items: list[InputItem] = []
    skipped: list[SkippedFile] = []
    seen: set[Path] = set()
    for given in paths:
        root = Path(given)
        shown = printable(root)
        problem = link_problem(root)
        if problem:
            raise ConfigError(f"{shown}: {problem}")
        if not os.path.lexists(root):
            raise ConfigError(f"{shown}: no such file or folder")
        if root.is_dir():
            found = _walk(root, excluded, skipped)
            if not found:
                skipped.append(SkippedFile(shown, "folder holds no video or image file"))
            for path, kind, label in found:
                _add(items, seen, InputItem(path, kind, label))
        else:
            # Named explicitly: always an input, even a FIFO or an unknown type, so the
            # problem is reported as its error row when it is opened.
            _add(items, seen, InputItem(_resolved(root), kind_of(root) or "video", shown))
    if not items:
        detail = "; ".join(f"{s.label}: {s.reason}" for s in skipped[:5])
        more = f" (and {len(skipped) - 5} more)" if len(skipped) > 5 else ""
        raise ConfigError(f"no video or image files to analyse: {detail}{more}")
    for entry in skipped:
        log.info("skipped %s: %s", entry.label, entry.reason)
    return items, skipped


def _walk(
    root: Path, excluded: set[Path], skipped: list[SkippedFile]
) -> list[tuple[Path, str, str]]:
    """Inputs under ``root`` as (absolute path, kind, label), sorted by relative path."""
    walker = _Walker(root, excluded, skipped)
    walker.visit(root)
    walker.found.sort(key=lambda f: f[0])
    return [(_resolved(path), kind, walker.label_of(path)) for _, path, kind in walker.found]


class _Walker:
    """One recursive search of a folder: what it found and (into ``skipped``) why it
    left other entries out."""

    def __init__(self, root: Path, excluded: set[Path], skipped: list[SkippedFile]) -> None:
        self.root = root
        self.excluded = excluded
        self.skipped = skipped
        self.found: list[tuple[tuple[str, ...], Path, str]] = []
        self.visited: set[tuple[int, int]] = set()

    def label_of(self, path: Path) -> str:
        return printable(self.root / path.relative_to(self.root))

    def skip(self, path: Path, reason: str) -> None:
        self.skipped.append(SkippedFile(self.label_of(path), reason))

    def visit(self, folder: Path) -> None:
        try:
            info = folder.stat()
        except OSError as exc:
            self.skip(folder, f"cannot read ({exc.strerror})")
            return
        if (info.st_dev, info.st_ino) in self.visited:
            return  # reached again through a symbolic link: searched once
        self.visited.add((info.st_dev, info.st_ino))
        if _resolved(folder) in self.excluded:
            self.skip(folder, "the output folder of this run")
            return
        reason = output_folder_reason(folder) if folder != self.root else None
        if reason:
            self.skip(folder, reason)
            return
        try:
            entries = sorted(os.scandir(folder), key=lambda e: os.fsencode(e.name))
        except OSError as exc:
            self.skip(folder, f"cannot read ({exc.strerror})")
            return
        for entry in entries:
            if not entry.name.startswith("."):
                self.visit_entry(Path(entry.path))

    def visit_entry(self, path: Path) -> None:
        problem = link_problem(path)
        if problem:
            self.skip(path, problem)
            return
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            self.skip(path, f"cannot read ({exc.strerror})")
            return
        if stat.S_ISDIR(mode):
            before = len(self.found)
            self.visit(path)
            if kind_of(path) is not None and len(self.found) == before:
                self.skip(path, "a folder named like a video or image")
            return
        if not stat.S_ISREG(mode):
            self.skip(path, f"is {file_kind(mode)}")
            return
        kind = kind_of(path)
        if kind is None:
            self.skip(path, "not a video or image")
            return
        reason = mask_reason(path)
        if reason:
            self.skip(path, reason)
            return
        parts = tuple(os.fsencode(p).decode("latin-1") for p in path.relative_to(self.root).parts)
        self.found.append((parts, path, kind))


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a loop somewhere on the way
        return path.absolute()


def _add(items: list[InputItem], seen: set[Path], item: InputItem) -> None:
    if item.path not in seen:
        seen.add(item.path)
        items.append(item)
