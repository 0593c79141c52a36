"""The on-disk dataset format shared by the phantom generator, importers, trainer and evaluator.

A dataset is a folder::

    DATASET/
      manifest.csv      one row per sample: image,mask,subject,group,split
      images/NAME.png   RGB eye crop (PNG, lossless)
      masks/NAME.png    single-channel uint8 label map, values in ``Label`` (0..4)
      meta/NAME.json    optional per-sample metadata (phantoms: exact ground truth)

Paths in the manifest are relative to the dataset folder and use forward slashes.
``subject`` identifies the person (splits are made per subject so no person is in two
splits), ``group`` is a free label for reporting (e.g. "phantom", "clinic-A"), ``split`` is
``train``/``val``/``test`` or empty when not yet split.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from ocularseg.core.errors import DataError
from ocularseg.io.atomic import write_text_atomic

MANIFEST_NAME = "manifest.csv"
MANIFEST_COLUMNS: tuple[str, ...] = ("image", "mask", "subject", "group", "split")
SPLITS: tuple[str, ...] = ("train", "val", "test")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ManifestRow:
    """One sample of a dataset; paths relative to the dataset folder."""

    image: str
    mask: str
    subject: str
    group: str = ""
    split: str = ""

    @property
    def stem(self) -> str:
        """Sample name: the image file name without suffix (also names meta/STEM.json)."""
        return Path(self.image).stem

    @property
    def meta(self) -> str:
        """Relative path of the optional metadata JSON."""
        return f"meta/{self.stem}.json"


def manifest_text(rows: list[ManifestRow]) -> str:
    """CSV text of ``rows`` with the header, ``\\n`` line endings (byte-stable)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(MANIFEST_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(asdict(row))
    return buffer.getvalue()


def write_manifest(dataset_dir: str | os.PathLike[str], rows: list[ManifestRow]) -> Path:
    """Write ``DATASET/manifest.csv`` atomically and return its path."""
    path = Path(dataset_dir) / MANIFEST_NAME
    write_text_atomic(path, manifest_text(rows))
    return path


def read_manifest(dataset_dir: str | os.PathLike[str]) -> list[ManifestRow]:
    """Read ``DATASET/manifest.csv``.

    Raises:
        DataError: the folder or manifest is missing, the header lacks a column, or a row
            has an empty image/mask/subject or an unknown split.
    """
    root = Path(dataset_dir)
    path = root / MANIFEST_NAME
    if not root.is_dir():
        raise DataError(f"{root}: dataset folder not found")
    if not path.is_file():
        raise DataError(
            f"{path}: manifest not found (expected columns {','.join(MANIFEST_COLUMNS)})"
        )
    try:
        # utf-8-sig: Excel saves "CSV UTF-8" with a byte-order mark, which would otherwise
        # glue itself to the first column's name ("lacks column image").
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read manifest ({exc})") from exc
    try:
        return _parse_manifest(text, path)
    except csv.Error as exc:
        # e.g. a field over the csv module's 131,072-character limit
        raise DataError(f"{path}: not a readable manifest ({exc})") from exc


def select_rows(rows: list[ManifestRow], split: str) -> list[ManifestRow]:
    """Rows of ``split`` ('train', 'val', 'test' or 'all'); 'test' falls back to all rows of
    an unsplit dataset (logged).

    Raises:
        DataError: the dataset has no rows of ``split``.
    """
    if split == "all":
        return rows
    chosen = [r for r in rows if r.split == split]
    if not chosen and split == "test" and not any(r.split for r in rows):
        log.info("dataset has no splits: evaluating every image")
        return rows
    if not chosen:
        raise DataError(f"the dataset has no '{split}' rows (use --split all)")
    return chosen


def _parse_manifest(text: str, path: Path) -> list[ManifestRow]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in MANIFEST_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise DataError(f"{path}: manifest lacks column(s) {', '.join(missing)}")
    rows = []
    for line_no, record in enumerate(reader, start=2):
        values = {c: (record.get(c) or "").strip() for c in MANIFEST_COLUMNS}
        for required in ("image", "mask", "subject"):
            if not values[required]:
                raise DataError(f"{path}: line {line_no} has an empty '{required}'")
        if values["split"] and values["split"] not in SPLITS:
            raise DataError(
                f"{path}: line {line_no} has split {values['split']!r}; "
                f"expected one of {', '.join(SPLITS)} or empty"
            )
        rows.append(ManifestRow(**values))
    return rows
