"""Writing a new dataset folder all-or-nothing, and naming samples and subjects.

Importers write into a hidden staging folder beside ``--out`` and rename it into place only
when every sample is written, so ``--out`` either does not exist or holds a complete dataset
with its manifest. An existing ``--out`` must be an empty folder; nothing is overwritten.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Any

import numpy as np

from ocularseg.core.errors import ConfigError, DataError, OcularsegError
from ocularseg.core.labels import LABEL_SETS, NUM_CLASSES
from ocularseg.data.manifest import ManifestRow, write_manifest
from ocularseg.io.atomic import write_json_atomic
from ocularseg.io.images import write_image_atomic

log = logging.getLogger(__name__)

#: How an importer derives the subject (person) of a sample; see ``subject_for``.
SUBJECT_MODES: tuple[str, ...] = ("folder", "filename-prefix", "none")


def check_output_dir(
    out_dir: str | os.PathLike[str], error: type[OcularsegError] = DataError
) -> Path:
    """Return ``out_dir`` as a Path if it is new or an empty folder.

    Args:
        out_dir: the folder a data set is to be written to.
        error: the error class raised (``DataError`` for imports; ``synth`` passes
            ``ConfigError``, a usage error).

    Raises:
        DataError (or ``error``): ``out_dir`` is a file or a non-empty folder.
    """
    out = Path(out_dir)
    if out.exists():
        if not out.is_dir():
            raise error(f"{out}: exists and is a file; --out must be a new or empty folder")
        if any(out.iterdir()):
            raise error(
                f"{out}: folder exists and is not empty; choose a new --out folder "
                "(nothing is overwritten)"
            )
    return out


def sample_name(rel_key: str | PurePosixPath) -> str:
    """A file-system-safe sample name from a source path relative to the input folder.

    ``"P01/left eye/img 1"`` -> ``"P01__left_eye__img_1"``: folders are kept (so equal file
    names in different folders stay distinct) and odd characters become ``_``.
    """
    parts = PurePosixPath(rel_key).parts
    safe = [re.sub(r"[^A-Za-z0-9._-]+", "_", part).strip("._") or "_" for part in parts]
    return "__".join(safe)


def subject_for(rel_key: str | PurePosixPath, mode: str, root_name: str) -> str:
    """Subject (person) id of a sample.

    Args:
        rel_key: source path relative to the input folder, without suffix
            (``"P01/img_003"``).
        mode: ``"folder"`` (name of the file's folder; the input folder's own name for files
            at its top level), ``"filename-prefix"`` (file name up to the first ``_``, ``-``
            or space: ``"P01_left_3"`` -> ``"P01"``), or ``"none"`` (each file is its own
            subject — only correct when every image shows a different person).
        root_name: name of the input folder.

    Raises:
        ConfigError: unknown ``mode``.
    """
    key = PurePosixPath(rel_key)
    if mode == "folder":
        return key.parent.name if key.parent.name else root_name
    if mode == "filename-prefix":
        match = re.match(r"[^_\-\s]+", key.name)
        return match.group(0) if match else key.name
    if mode == "none":
        return sample_name(key)
    raise ConfigError(f"--subject-from {mode!r} is not one of {', '.join(SUBJECT_MODES)}")


def check_label_map(
    mask: np.ndarray, image_hw: tuple[int, int], source: str, *, partial: bool = False
) -> None:
    """Validate a label map before it is written.

    Raises:
        DataError: not 2-D uint8, size differs from the image, or values outside ``Label``.
    """
    if mask.ndim != 2 or mask.dtype != np.uint8:
        raise DataError(f"{source}: label map must be 2-D uint8, got {mask.dtype} {mask.shape}")
    if mask.shape != tuple(image_hw):
        raise DataError(
            f"{source}: mask is {mask.shape[1]}×{mask.shape[0]} px but the image is "
            f"{image_hw[1]}×{image_hw[0]} px"
        )
    allowed = LABEL_SETS if partial else range(NUM_CLASSES)
    if mask.size and int(mask.max()) >= NUM_CLASSES:
        bad = sorted(int(v) for v in np.unique(mask) if int(v) not in allowed)
    else:
        bad = []
    if bad:
        raise DataError(f"{source}: label values {bad} are not classes 0..{NUM_CLASSES - 1}")


class DatasetWriter:
    """Stage a new dataset and move it to ``out_dir`` on ``commit``.

    Use as a context manager: leaving the block with an exception (or without ``commit``)
    removes the staging folder and leaves ``out_dir`` as it was.
    """

    def __init__(self, out_dir: str | os.PathLike[str]) -> None:
        self.out_dir = check_output_dir(out_dir)
        self.rows: list[ManifestRow] = []
        self._names: set[str] = set()
        self._staging: Path | None = None
        self._committed = False

    def __enter__(self) -> DatasetWriter:
        parent = self.out_dir.absolute().parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self._staging = Path(
                tempfile.mkdtemp(prefix=f".{self.out_dir.name}.partial-", dir=parent)
            )
        except OSError as exc:
            raise DataError(f"{self.out_dir}: cannot create the output folder ({exc})") from exc
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._committed and self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)

    @property
    def staging(self) -> Path:
        """The staging folder (exists between ``__enter__`` and ``commit``)."""
        if self._staging is None:
            raise RuntimeError("DatasetWriter used outside its 'with' block")
        return self._staging

    def unique_name(self, name: str) -> str:
        """``name``, or ``name_2``, ``name_3``... if already taken (case-insensitively)."""
        candidate, n = name, 1
        while candidate.lower() in self._names:
            n += 1
            candidate = f"{name}_{n}"
        return candidate

    def add(
        self,
        name: str,
        image_rgb: np.ndarray,
        mask: np.ndarray,
        *,
        subject: str,
        group: str = "",
        source: str = "",
        partial: bool = False,
    ) -> ManifestRow:
        """Write ``images/NAME.png`` and ``masks/NAME.png`` and record the manifest row.

        Args:
            name: sample name (made unique if already used).
            image_rgb: RGB uint8 (H, W, 3).
            mask: uint8 (H, W) label map, values in ``Label``.
            subject: person id; group: free reporting label.
            source: what to name in error messages.
            partial: allow the set-valued labels of silver masks (``PartialLabel``).
        """
        check_label_map(mask, image_rgb.shape[:2], source or name, partial=partial)
        name = self.unique_name(name)
        self._names.add(name.lower())
        image_rel, mask_rel = f"images/{name}.png", f"masks/{name}.png"
        write_image_atomic(self.staging / image_rel, image_rgb)
        write_image_atomic(self.staging / mask_rel, mask)
        row = ManifestRow(image=image_rel, mask=mask_rel, subject=subject, group=group)
        self.rows.append(row)
        return row

    def write_json(self, rel_path: str, obj: Any) -> None:
        """Write an extra JSON file (e.g. import provenance) into the dataset."""
        write_json_atomic(self.staging / rel_path, obj)

    def commit(self) -> Path:
        """Write the manifest and move the staged dataset to ``out_dir``; return it.

        Raises:
            DataError: no sample was added, or the rename failed.
        """
        if not self.rows:
            raise DataError(f"{self.out_dir}: no samples to write")
        write_manifest(self.staging, self.rows)
        # Re-check: another process may have filled --out while we were working.
        check_output_dir(self.out_dir)
        try:
            if self.out_dir.exists():
                self.out_dir.rmdir()
            os.replace(self.staging, self.out_dir)
        except OSError as exc:
            raise DataError(
                f"{self.out_dir}: cannot move the new dataset into place ({exc})"
            ) from exc
        self._committed = True
        log.info("wrote %d samples to %s", len(self.rows), self.out_dir)
        return self.out_dir


@contextlib.contextmanager
def staged_folder(out_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a staging folder that becomes ``out_dir`` when the block ends without error.

    ``out_dir`` must be new or empty (see ``check_output_dir``); on error the staging
    folder is removed and ``out_dir`` is left as it was.
    """
    out = check_output_dir(out_dir)
    parent = out.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
    except OSError as exc:
        raise DataError(f"{out}: cannot create the output folder ({exc})") from exc
    try:
        yield staging
        check_output_dir(out)
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    except OSError as exc:
        raise DataError(f"{out}: cannot move the new folder into place ({exc})") from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
