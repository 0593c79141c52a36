"""LabelMe JSON <-> label maps: import a folder of annotations, export a dataset.

Supported LabelMe shapes (coordinates are image px, (x, y), pixel centres at integers):

* ``polygon`` (>= 3 points; also the default when ``shape_type`` is missing, as in old files);
* ``circle``: ``points = [centre, a point on the circumference]`` (LabelMe's convention);
* ``ellipse`` (not in upstream LabelMe; written by some forks): ``points`` = two opposite
  corners of the axis-aligned bounding box, as PIL's ``ImageDraw.ellipse`` takes them.
  Rotated ellipses must be drawn as polygons;
* ``rectangle``: two opposite corners (four corners are accepted too);
* ``mask`` (LabelMe >= 5.5): base64 PNG in ``mask``, placed at the first point (top-left).

``line``, ``linestrip``, ``point`` and ``points`` have no area and are an error for a class
label; pass their label in ``ignore_labels`` (``--ignore-label``) to skip e.g. landmark points.

Limits (each a one-line error naming the file): ``imageWidth`` × ``imageHeight`` and the
embedded or referenced image at most ``max_pixels`` (default 100 MP, checked before any
memory is allocated or the image decoded); a polygon at most ``MAX_POLYGON_VERTICES``
vertices and a file at most ``MAX_FILE_VERTICES`` (filling a self-intersecting polygon
costs time that grows with the square of its vertex count: 30,000 took 140 s).

Overlaps are resolved by class priority, not by shape order: background (carves) > pupil >
iris > caruncle > sclera (see ``labelnames``). The exporter relies on the same priority:
LabelMe polygons have no holes, so each class is written as the outer contours of the class
together with the higher-priority classes inside it (the iris polygon covers the pupil), in
paint order, so LabelMe's own converter — which paints in file order — gets the same mask.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from ocularseg.core.errors import DataError, InputError
from ocularseg.core.labels import NUM_CLASSES, Label
from ocularseg.data.importing import (
    ImportReport,
    ImportSource,
    SourceSample,
    import_samples,
    visible_files,
)
from ocularseg.data.labelnames import (
    EXPORT_NAMES,
    PAINT_ORDER,
    accepted_names,
    normalise_name,
    resolve_label,
)
from ocularseg.data.manifest import read_manifest
from ocularseg.data.raster import ellipse_mask, paint_by_priority, polygon_mask, rectangle_mask
from ocularseg.data.writer import SUBJECT_MODES, sample_name, staged_folder, subject_for
from ocularseg.io.atomic import write_bytes_atomic, write_json_atomic
from ocularseg.io.files import read_regular_bytes
from ocularseg.io.images import (
    DEFAULT_MAX_IMAGE_PIXELS,
    check_pixel_limit,
    decode_image_rgb,
    header_size_wh,
    read_image_rgb,
    read_image_unchanged,
)

log = logging.getLogger(__name__)

#: ``version`` written into exported files (LabelMe only warns when it differs from its own).
LABELME_VERSION = "5.4.1"

_NO_AREA_SHAPES = frozenset({"line", "linestrip", "point", "points"})

#: Most vertices in one polygon (a hand-drawn eye outline has tens to hundreds; an exported
#: full-resolution contour a few thousand). Worst case (self-intersecting): ~6 s to fill.
MAX_POLYGON_VERTICES = 10_000
#: Most vertices over all shapes of one file.
MAX_FILE_VERTICES = 40_000
#: A LabelMe file with a 100 MP image embedded is about 400 MB; larger is not an annotation.
MAX_LABELME_JSON_BYTES = 600_000_000


@dataclass(frozen=True)
class LabelmeSample:
    """One LabelMe annotation rasterised.

    Attributes:
        json_path: the annotation file.
        image: RGB uint8 (H, W, 3).
        mask: uint8 (H, W) label map, values in ``Label``.
        n_shapes: shapes painted; n_ignored: shapes skipped via ``ignore_labels``.
    """

    json_path: Path
    image: np.ndarray
    mask: np.ndarray
    n_shapes: int
    n_ignored: int


# --------------------------------------------------------------------------- import


def labelme_to_mask(
    doc: dict[str, Any],
    *,
    source: str = "<labelme>",
    ignore_labels: Collection[str] = (),
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
) -> np.ndarray:
    """Rasterise a LabelMe document's shapes into a label map of its image size.

    Args:
        doc: parsed LabelMe JSON (needs ``shapes``, ``imageHeight``, ``imageWidth``).
        source: file name for error messages.
        ignore_labels: label names (any case/alias spelling) whose shapes are skipped.
        max_pixels: largest allowed imageWidth × imageHeight.

    Returns:
        uint8 (imageHeight, imageWidth) label map, values in ``Label``.

    Raises:
        InputError: a required field is missing or malformed, a label is unknown, a
            shape is invalid or a limit is exceeded; the message names ``source``, the
            shape and the label.
    """
    mask, _, _ = _rasterise(doc, source, ignore_labels, max_pixels)
    return mask


def read_labelme(
    json_path: str | os.PathLike[str],
    *,
    ignore_labels: Collection[str] = (),
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
) -> LabelmeSample:
    """Read a LabelMe JSON file, its image and rasterise its shapes.

    The image is the embedded ``imageData`` when present (as LabelMe does), otherwise
    ``imagePath`` resolved relative to the JSON's folder (``\\`` from Windows is accepted).

    Raises:
        InputError: unreadable JSON, missing fields, unknown labels, missing or truncated
            image, an image whose size differs from ``imageWidth`` × ``imageHeight``, or
            a limit exceeded (see the module docstring).
    """
    path = Path(json_path)
    doc = _load_json(path)
    mask, n_shapes, n_ignored = _rasterise(doc, str(path), ignore_labels, max_pixels)
    image = _labelme_image(doc, path, (mask.shape[1], mask.shape[0]), max_pixels)
    if image.shape[:2] != mask.shape:
        raise InputError(
            f"{path}: image is {image.shape[1]}×{image.shape[0]} px but the annotation says "
            f"imageWidth×imageHeight = {mask.shape[1]}×{mask.shape[0]} px"
        )
    return LabelmeSample(path, image, mask, n_shapes, n_ignored)


def find_labelme_files(src_dir: str | os.PathLike[str]) -> list[Path]:
    """All ``*.json`` files under ``src_dir`` (recursive, hidden folders skipped), sorted.

    Raises:
        InputError: ``src_dir`` is missing or holds no JSON file.
    """
    src = Path(src_dir)
    if not src.is_dir():
        raise InputError(f"{src}: input folder not found")
    files = visible_files(src, {".json"})
    if not files:
        raise InputError(f"{src}: no LabelMe .json files found (searched sub-folders too)")
    return files


def import_labelme(
    src_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    subject_from: str = "folder",
    group: str = "",
    ignore_labels: Collection[str] = (),
    skip_bad: bool = False,
) -> ImportReport:
    """Import a folder of LabelMe annotations as a new dataset.

    Args:
        src_dir: folder searched recursively for ``*.json``; never modified.
        out_dir: new or empty folder for the dataset (images/, masks/, manifest.csv,
            import.json). Images are written as lossless RGB PNG.
        subject_from: ``folder``, ``filename-prefix`` or ``none`` (see ``writer.subject_for``).
        group: manifest ``group`` value for every sample.
        ignore_labels: label names whose shapes are skipped (e.g. landmark points).
        skip_bad: write the good files even when some fail (see ``importing``).

    Raises:
        InputError: no JSON files; ConfigError: bad ``subject_from``;
        ImportFailedError: some files are bad (each named with its reason).
    """
    src = Path(src_dir)
    files = find_labelme_files(src)
    samples = []
    for path in files:
        key = PurePosixPath(path.relative_to(src).with_suffix("").as_posix())
        samples.append(SourceSample(key, path, subject_for(key, subject_from, src.name)))

    def load(sample: SourceSample) -> tuple[np.ndarray, np.ndarray]:
        result = read_labelme(sample.path, ignore_labels=ignore_labels)
        return result.image, result.mask

    options = {
        "subject_from": subject_from,
        "group": group,
        "ignore_labels": sorted(ignore_labels),
        "skip_bad": skip_bad,
    }
    source = ImportSource("labelme", src, options, group=group, skip_bad=skip_bad)
    return import_samples(samples, load, out_dir, source)


def _load_json(path: Path) -> dict[str, Any]:
    raw = read_regular_bytes(path, max_bytes=MAX_LABELME_JSON_BYTES)
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from exc
    except RecursionError as exc:
        raise InputError(f"{path}: not a LabelMe file (JSON nested too deeply)") from exc
    if not isinstance(doc, dict):
        raise InputError(f"{path}: not a LabelMe file (top level is not a JSON object)")
    return doc


def _image_size(doc: dict[str, Any], source: str, max_pixels: int) -> tuple[int, int]:
    size = []
    for key in ("imageHeight", "imageWidth"):
        if key not in doc:
            raise InputError(f"{source}: not a LabelMe file or incomplete: no '{key}' field")
        value = doc[key]
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise InputError(f"{source}: '{key}' must be a positive integer, got {value!r}")
        size.append(value)
    # Before any mask is allocated: 2^40 × 2^40 used to end in a MemoryError.
    check_pixel_limit(size[1], size[0], f"{source}: imageWidth × imageHeight", max_pixels)
    return size[0], size[1]


def _rasterise(
    doc: dict[str, Any], source: str, ignore_labels: Collection[str], max_pixels: int
) -> tuple[np.ndarray, int, int]:
    if "shapes" not in doc:
        raise InputError(f"{source}: not a LabelMe file or incomplete: no 'shapes' field")
    shapes = doc["shapes"]
    if not isinstance(shapes, list):
        raise InputError(f"{source}: 'shapes' must be a list, got {type(shapes).__name__}")
    shape_hw = _image_size(doc, source, max_pixels)
    _check_vertex_budget(shapes, source)
    ignored = {normalise_name(name) for name in ignore_labels}
    # One union per class (not one mask per shape): memory stays at a few label maps
    # however many shapes a file has.
    union: dict[Label, np.ndarray] = {}
    n_painted = 0
    unknown: list[str] = []
    n_ignored = 0
    for index, shape in enumerate(shapes):
        where = f"{source}: shape {index}"
        if not isinstance(shape, dict):
            raise InputError(f"{where} is not a JSON object")
        raw_label = shape.get("label")
        if not isinstance(raw_label, str):
            raise InputError(f"{where} has no 'label' string")
        if normalise_name(raw_label) in ignored:
            n_ignored += 1
            continue
        label = resolve_label(raw_label)
        if label is None:
            if raw_label not in unknown:
                unknown.append(raw_label)
            continue
        region = _shape_mask(shape, shape_hw, f"{where} ({raw_label!r})")
        if label in union:
            union[label] |= region
        else:
            union[label] = region
        n_painted += 1
    if unknown:
        names = ", ".join(repr(u) for u in unknown)
        raise InputError(
            f"{source}: unknown label(s) {names}; accepted: {accepted_names()} "
            "(or skip them with --ignore-label)"
        )
    return paint_by_priority(list(union.items()), shape_hw), n_painted, n_ignored


def _check_vertex_budget(shapes: list[Any], source: str) -> None:
    """Refuse polygons too large to fill in reasonable time, before filling any."""
    total = 0
    for index, shape in enumerate(shapes):
        points = shape.get("points") if isinstance(shape, dict) else None
        count = len(points) if isinstance(points, list) else 0
        if count > MAX_POLYGON_VERTICES:
            raise InputError(
                f"{source}: shape {index} has {count:,} vertices, over the "
                f"{MAX_POLYGON_VERTICES:,} limit; simplify it (in LabelMe, or export with "
                "'data export labelme --tolerance-px 0.5')"
            )
        total += count
    if total > MAX_FILE_VERTICES:
        raise InputError(
            f"{source}: the shapes have {total:,} vertices in all, over the "
            f"{MAX_FILE_VERTICES:,} limit for one file; simplify them"
        )


def _points(shape: dict[str, Any], where: str) -> np.ndarray:
    raw = shape.get("points")
    try:
        points = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where}: 'points' is not a list of [x, y] numbers") from exc
    if raw is None or points.ndim != 2 or points.shape[1] != 2:
        raise InputError(f"{where}: 'points' is not a list of [x, y] numbers")
    if not np.all(np.isfinite(points)):
        raise InputError(f"{where}: 'points' contains NaN or infinite values")
    return points


def _shape_mask(shape: dict[str, Any], shape_hw: tuple[int, int], where: str) -> np.ndarray:
    shape_type = shape.get("shape_type") or "polygon"
    points = _points(shape, where) if shape_type != "mask" else None
    if shape_type == "polygon":
        if len(points) < 3:
            raise InputError(f"{where}: a polygon needs at least 3 points, got {len(points)}")
        return polygon_mask(points, shape_hw)
    if shape_type == "circle":
        if len(points) != 2:
            raise InputError(f"{where}: a circle needs 2 points (centre, rim), got {len(points)}")
        radius = float(np.hypot(*(points[1] - points[0])))
        if radius <= 0:
            raise InputError(f"{where}: circle has zero radius")
        return ellipse_mask(points[0], (radius, radius), shape_hw)
    if shape_type == "ellipse":
        if len(points) != 2:
            raise InputError(
                f"{where}: an ellipse needs 2 points (opposite corners of its bounding box), "
                f"got {len(points)}; draw rotated ellipses as polygons"
            )
        centre = points.mean(axis=0)
        semi_axes = np.abs(points[1] - points[0]) / 2.0
        if np.any(semi_axes <= 0):
            raise InputError(f"{where}: ellipse has zero width or height")
        return ellipse_mask(centre, semi_axes, shape_hw)
    if shape_type == "rectangle":
        if len(points) not in (2, 4):
            raise InputError(f"{where}: a rectangle needs 2 (or 4) corners, got {len(points)}")
        return rectangle_mask(points.min(axis=0), points.max(axis=0), shape_hw)
    if shape_type == "mask":
        return _mask_shape(shape, shape_hw, where)
    if shape_type in _NO_AREA_SHAPES:
        raise InputError(
            f"{where}: shape_type {shape_type!r} has no area and cannot be a class region; "
            "redraw it as a polygon or skip its label with --ignore-label"
        )
    raise InputError(
        f"{where}: unsupported shape_type {shape_type!r} "
        "(supported: polygon, circle, ellipse, rectangle, mask)"
    )


def _mask_shape(shape: dict[str, Any], shape_hw: tuple[int, int], where: str) -> np.ndarray:
    import cv2

    points = _points(shape, where)
    encoded = shape.get("mask")
    if not isinstance(encoded, str) or not encoded:
        raise InputError(f"{where}: shape_type 'mask' has no base64 'mask' data")
    data, size = _base64_image(encoded, f"{where}: 'mask'")
    height, width = shape_hw
    if size is not None and size[0] * size[1] > height * width:
        raise InputError(
            f"{where}: 'mask' is {size[0]}×{size[1]} px, larger than the {width}×{height} px image"
        )
    local = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if local is None:
        raise InputError(f"{where}: 'mask' is not a readable PNG")
    x0, y0 = (int(math.floor(v + 0.5)) for v in points.min(axis=0))
    out = np.zeros(shape_hw, bool)
    # Clip the local mask to the image; parts outside are dropped like any shape's.
    ys, xs = max(0, y0), max(0, x0)
    ye, xe = min(height, y0 + local.shape[0]), min(width, x0 + local.shape[1])
    if ys < ye and xs < xe:
        out[ys:ye, xs:xe] = local[ys - y0 : ye - y0, xs - x0 : xe - x0] > 0
    return out


def _base64_image(encoded: str, what: str) -> tuple[bytes, tuple[int, int] | None]:
    """The bytes of a base64 image field and their header size (width, height) px, or None.

    Raises:
        InputError: ``what`` (the file and field) is not valid base64.
    """
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError(f"{what} is not valid base64") from exc
    return data, header_size_wh(data)


def _labelme_image(
    doc: dict[str, Any], json_path: Path, declared_wh: tuple[int, int], max_pixels: int
) -> np.ndarray:
    image_data = doc.get("imageData")
    if image_data:
        if not isinstance(image_data, str):
            raise InputError(f"{json_path}: 'imageData' must be a base64 string")
        data, size = _base64_image(image_data, f"{json_path}: 'imageData'")
        # Sorted: a phone photo's stored size is its upright size turned by its EXIF tag.
        if size is not None and sorted(size) != sorted(declared_wh):
            # Known before decoding: a 389 KB PNG here used to decode to 3.2 GB first.
            raise InputError(
                f"{json_path}: imageData is {size[0]}×{size[1]} px but the annotation says "
                f"imageWidth×imageHeight = {declared_wh[0]}×{declared_wh[1]} px"
            )
        return decode_image_rgb(data, f"{json_path}: imageData", max_pixels=max_pixels)
    image_path = doc.get("imagePath")
    if not isinstance(image_path, str) or not image_path.strip():
        raise InputError(f"{json_path}: neither 'imageData' nor 'imagePath' names the image")
    # LabelMe on Windows writes backslashes; a relative path is relative to the JSON.
    relative = Path(image_path.strip().replace("\\", "/"))
    resolved = relative if relative.is_absolute() else json_path.parent / relative
    if not resolved.is_file():
        raise InputError(f"{json_path}: image {image_path!r} not found (looked for {resolved})")
    return read_image_rgb(resolved, max_pixels=max_pixels)


# --------------------------------------------------------------------------- export


def mask_to_labelme(
    mask: np.ndarray,
    image_path: str,
    *,
    image_data: bytes | None = None,
    tolerance_px: float = 0.0,
) -> dict[str, Any]:
    """Describe a label map as a LabelMe document of polygons.

    Each class becomes one polygon per connected region, the region's outer contour
    (8-connected, pixel centres) taken over the class *and* the higher-priority classes
    it surrounds, so the iris polygon covers the pupil and the sclera polygon the whole
    opening; importing with the priority rule (or LabelMe painting shapes in file order)
    rebuilds the mask. Background enclosed by a class (rare) is written as
    ``_background_`` polygons, which carve. With ``tolerance_px == 0`` the rebuild is
    exact for such masks; any remaining difference is logged as a warning.

    Args:
        mask: uint8 (H, W) label map, values in ``Label``.
        image_path: stored as ``imagePath`` (relative to where the JSON will be written).
        image_data: encoded image file bytes to embed as ``imageData`` (else null).
        tolerance_px: Douglas-Peucker simplification in px; 0 keeps every corner
            (collinear runs are still merged, losslessly).

    Returns:
        A LabelMe JSON document (dict) ready for ``json.dump``.

    Raises:
        DataError: ``mask`` is not a 2-D uint8 label map with values in ``Label``.
    """
    _check_mask(mask)
    if tolerance_px < 0:
        raise DataError(f"tolerance_px must be >= 0, got {tolerance_px}")
    height, width = mask.shape
    shapes, rebuilt = _class_polygons(mask, tolerance_px)
    differing = int(np.count_nonzero(rebuilt != mask))
    if differing and tolerance_px == 0:
        log.warning(
            "%s: %d px cannot be represented by hole-free polygons and will differ after import",
            image_path,
            differing,
        )
    return {
        "version": LABELME_VERSION,
        "flags": {},
        "shapes": shapes,
        "imagePath": image_path,
        "imageData": base64.b64encode(image_data).decode("ascii") if image_data else None,
        "imageHeight": int(height),
        "imageWidth": int(width),
    }


def _class_polygons(
    mask: np.ndarray, tolerance_px: float
) -> tuple[list[dict[str, Any]], np.ndarray]:
    """The exported polygons of ``mask`` in paint order, and the (H, W) label map that
    painting them by priority rebuilds (see :func:`mask_to_labelme`)."""
    shapes: list[dict[str, Any]] = []
    layers: list[tuple[Label, np.ndarray]] = []

    def add(label: Label, region: np.ndarray) -> None:
        for points in _outer_contours(region, tolerance_px):
            shapes.append(_polygon_shape(EXPORT_NAMES[label], points))
            layers.append((label, polygon_mask(points, mask.shape)))

    foreground = [label for label in PAINT_ORDER if label != Label.BACKGROUND]
    for rank, label in enumerate(foreground):
        covered = np.isin(mask, [int(c) for c in foreground[rank:]])
        add(label, _components_touching(covered, mask == int(label)))
    rebuilt = paint_by_priority(layers, mask.shape)
    holes = (rebuilt != 0) & (mask == 0)
    if holes.any():
        add(Label.BACKGROUND, holes)
        rebuilt = paint_by_priority(layers, mask.shape)
    return shapes, rebuilt


def export_labelme(
    dataset_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    embed_images: bool = False,
    tolerance_px: float = 0.0,
) -> list[Path]:
    """Write one LabelMe JSON per dataset sample into a new folder (openable in LabelMe).

    Files go into one sub-folder per subject (``OUT/SUBJECT/NAME.json``; samples without a
    subject at the top level), so ``data import labelme`` with its default
    ``--subject-from folder`` gets the same people back and a subject-wise split stays
    leak-free. Each ``NAME.json`` sits beside a copy of its image ``NAME.<ext>``
    (``imagePath`` is the bare file name), or embeds the image as ``imageData`` with
    ``embed_images``.

    Returns:
        The JSON files written, in manifest order.

    Raises:
        DataError: bad manifest, unreadable mask, or ``out_dir`` not new/empty.
    """
    root = Path(dataset_dir)
    rows = read_manifest(root)
    written: list[Path] = []
    with staged_folder(out_dir) as staging:
        used: set[str] = set()
        for row in rows:
            name = row.stem
            if name.lower() in used:
                raise DataError(f"{root}: two samples are named {name!r}; run 'data check'")
            used.add(name.lower())
            image_file = root / row.image
            try:
                image_bytes = image_file.read_bytes()
                mask = read_image_unchanged(root / row.mask)
            except OSError as exc:
                raise DataError(f"{image_file}: cannot read ({exc.strerror or exc})") from exc
            except InputError as exc:
                raise DataError(str(exc)) from exc
            if mask.ndim != 2 or mask.dtype != np.uint8:
                raise DataError(f"{root / row.mask}: not a single-channel uint8 label map")
            image_name = f"{name}{image_file.suffix.lower() or '.png'}"
            folder = sample_name(row.subject) if row.subject else ""
            (staging / folder).mkdir(exist_ok=True)
            doc = mask_to_labelme(
                mask,
                image_name,
                image_data=image_bytes if embed_images else None,
                tolerance_px=tolerance_px,
            )
            if embed_images:
                # LabelMe ignores imagePath when imageData is present; keep the name as a hint.
                doc["imagePath"] = image_name
            else:
                write_bytes_atomic(staging / folder / image_name, image_bytes)
            write_json_atomic(staging / folder / f"{name}.json", doc)
            written.append(Path(out_dir) / folder / f"{name}.json")
    log.info("exported %d LabelMe files to %s", len(written), out_dir)
    return written


def _check_mask(mask: np.ndarray) -> None:
    if not isinstance(mask, np.ndarray) or mask.ndim != 2 or mask.dtype != np.uint8:
        raise DataError(
            f"label map must be a 2-D uint8 array, got {getattr(mask, 'dtype', type(mask))} "
            f"{getattr(mask, 'shape', '')}"
        )
    if mask.size and int(mask.max()) >= NUM_CLASSES:
        bad = sorted(int(v) for v in np.unique(mask) if v >= NUM_CLASSES)
        raise DataError(f"label map has values {bad} outside classes 0..{NUM_CLASSES - 1}")


def _components_touching(region: np.ndarray, seed: np.ndarray) -> np.ndarray:
    """The 8-connected components of ``region`` that contain a ``seed`` pixel."""
    import cv2

    if not seed.any():
        return np.zeros_like(region)
    _, labels = cv2.connectedComponents(region.astype(np.uint8), connectivity=8)
    keep = np.unique(labels[seed & region])
    keep = keep[keep != 0]
    return np.isin(labels, keep)


def _outer_contours(region: np.ndarray, tolerance_px: float) -> list[np.ndarray]:
    """Outer contours of ``region`` as (N >= 3, 2) float arrays of pixel-centre (x, y)."""
    import cv2

    if not region.any():
        return []
    contours, _ = cv2.findContours(
        region.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    out = []
    for contour in contours:
        if tolerance_px > 0 and len(contour) > 3:
            contour = cv2.approxPolyDP(contour, tolerance_px, True)
        points = contour.reshape(-1, 2).astype(np.float64)
        # One- and two-pixel regions give 1-2 points; repeating a vertex keeps them valid
        # polygons (LabelMe needs 3) that still rasterise to the same pixels.
        while len(points) < 3:
            points = np.vstack([points, points[-1:]])
        out.append(points)
    return out


def _polygon_shape(label: str, points: Sequence[Sequence[float]] | np.ndarray) -> dict[str, Any]:
    return {
        "label": label,
        "points": [[float(x), float(y)] for x, y in np.asarray(points)],
        "group_id": None,
        "description": "",
        "shape_type": "polygon",
        "flags": {},
        "mask": None,
    }


__all__ = [
    "LABELME_VERSION",
    "SUBJECT_MODES",
    "LabelmeSample",
    "export_labelme",
    "find_labelme_files",
    "import_labelme",
    "labelme_to_mask",
    "mask_to_labelme",
    "read_labelme",
]
