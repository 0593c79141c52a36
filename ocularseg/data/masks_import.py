"""Import image + mask folders (paired by file name) as a dataset.

Masks may be

* index masks: single-channel PNG with values 0..4 (``Label``); 16-bit is accepted when
  the values fit. Grey RGB masks whose three channels are equal are read as index masks.
* colour masks: RGB PNG whose colours map to classes, by default the package palette
  (``LABEL_COLOURS_RGB``) or a ``--colors`` mapping. An alpha channel is ignored.

JPEG masks are refused: lossy compression invents colours and values at every border.
An unknown value or colour is an error naming the file, the value and how many pixels
have it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import numpy as np

from ocularseg.core.errors import DataError, InputError
from ocularseg.core.labels import NUM_CLASSES, Label
from ocularseg.data.importing import (
    ImportReport,
    ImportSource,
    LoadFn,
    SourceSample,
    import_samples,
    visible_files,
)
from ocularseg.data.labelnames import default_colour_mapping
from ocularseg.data.writer import subject_for
from ocularseg.io.images import IMAGE_SUFFIXES, read_image_rgb, read_image_unchanged

log = logging.getLogger(__name__)

_LOSSY_SUFFIXES = frozenset({".jpg", ".jpeg"})
_MAX_NAMED = 8


def decode_mask(
    mask: np.ndarray,
    source: str,
    colours: Mapping[tuple[int, int, int], Label] | None = None,
) -> np.ndarray:
    """Turn a stored mask (index or colour) into a uint8 label map.

    Args:
        mask: array as read by ``read_image_unchanged``: (H, W) index values, or (H, W, 3)
            RGB / (H, W, 4) RGBA colours.
        source: file name for error messages.
        colours: RGB colour -> class; ``None`` means the package palette.

    Returns:
        uint8 (H, W) label map, values in ``Label``.

    Raises:
        InputError: unknown values/colours (named with pixel counts) or unsupported layout.
    """
    if mask.ndim == 3 and mask.shape[2] == 4:
        mask = mask[:, :, :3]
    if mask.ndim == 3 and mask.shape[2] == 3:
        channels_equal = np.array_equal(mask[..., 0], mask[..., 1]) and np.array_equal(
            mask[..., 0], mask[..., 2]
        )
        if channels_equal and int(mask.max(initial=0)) < NUM_CLASSES:
            # A grey PNG saved as RGB by an editor: the values are the class ids.
            return _decode_index(mask[..., 0], source)
        return _decode_colour(mask, source, colours or default_colour_mapping())
    if mask.ndim == 2:
        return _decode_index(mask, source)
    raise InputError(f"{source}: unsupported mask layout {mask.shape} ({mask.dtype})")


def _decode_index(mask: np.ndarray, source: str) -> np.ndarray:
    if not np.issubdtype(mask.dtype, np.integer):
        raise InputError(f"{source}: mask values must be integers, got {mask.dtype}")
    values, counts = np.unique(mask, return_counts=True)
    bad = [(int(v), int(c)) for v, c in zip(values, counts, strict=True) if v >= NUM_CLASSES]
    if bad:
        listed = ", ".join(f"{v} ({c} px)" for v, c in bad[:_MAX_NAMED])
        more = f" and {len(bad) - _MAX_NAMED} more" if len(bad) > _MAX_NAMED else ""
        raise InputError(
            f"{source}: unknown label value(s) {listed}{more}; index masks must hold "
            f"0..{NUM_CLASSES - 1} ({', '.join(f'{int(lab)}={lab.name.lower()}' for lab in Label)})"
        )
    return mask.astype(np.uint8)


def _decode_colour(
    rgb: np.ndarray, source: str, colours: Mapping[tuple[int, int, int], Label]
) -> np.ndarray:
    if rgb.dtype != np.uint8:
        raise InputError(f"{source}: colour masks must be 8-bit per channel, got {rgb.dtype}")
    # Pack RGB into one int so np.unique is fast on 480×320 and larger masks.
    packed = rgb[..., 0].astype(np.uint32) << 16 | rgb[..., 1].astype(np.uint32) << 8 | rgb[..., 2]
    values, inverse, counts = np.unique(packed, return_inverse=True, return_counts=True)
    lut = np.zeros(len(values), np.uint8)
    unknown = []
    for i, (value, count) in enumerate(zip(values, counts, strict=True)):
        colour = (int(value) >> 16 & 255, int(value) >> 8 & 255, int(value) & 255)
        label = colours.get(colour)
        if label is None:
            unknown.append((colour, int(count)))
        else:
            lut[i] = int(label)
    if unknown:
        unknown.sort(key=lambda item: -item[1])
        listed = ", ".join(f"RGB {c} ({n} px)" for c, n in unknown[:_MAX_NAMED])
        more = f" and {len(unknown) - _MAX_NAMED} more" if len(unknown) > _MAX_NAMED else ""
        known = "; ".join(f"{c}={lab.name.lower()}" for c, lab in colours.items())
        raise InputError(
            f"{source}: unknown colour(s) {listed}{more}; known colours: {known} "
            "(pass --colors to map others; anti-aliased or JPEG masks cannot be imported)"
        )
    return lut[inverse.reshape(packed.shape)]


def pair_images_and_masks(
    images_dir: str | os.PathLike[str],
    masks_dir: str | os.PathLike[str],
    *,
    mask_suffix: str = "",
) -> list[tuple[PurePosixPath, Path, Path]]:
    """Pair images and masks by relative path without suffix (recursive).

    ``images/P01/a.jpg`` pairs with ``masks/P01/a.png`` (or ``a_mask.png`` with
    ``mask_suffix="_mask"``).

    Returns:
        (key, image path, mask path) sorted by key.

    Raises:
        InputError: missing folder, no images, an image without mask or a mask without
            image (all of them listed), two files with the same key, or a JPEG mask.
    """
    images = _index_folder(Path(images_dir), "image", "")
    masks = _index_folder(Path(masks_dir), "mask", mask_suffix)
    problems = [
        f"{images[k]}: no mask {k}{mask_suffix}.png in {masks_dir}"
        for k in images
        if k not in masks
    ]
    problems += [
        f"{masks[k]}: mask without an image in {images_dir}" for k in masks if k not in images
    ]
    problems += [
        f"{masks[k]}: JPEG masks are lossy and cannot hold exact labels; export PNG"
        for k in masks
        if masks[k].suffix.lower() in _LOSSY_SUFFIXES
    ]
    if problems:
        listed = "".join(f"\n  {p}" for p in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        raise InputError(
            f"cannot pair images with masks ({len(problems)} problem(s)):{listed}{more}"
        )
    return [(key, images[key], masks[key]) for key in sorted(images)]


def _index_folder(folder: Path, what: str, strip_suffix: str) -> dict[PurePosixPath, Path]:
    if not folder.is_dir():
        raise InputError(f"{folder}: {what} folder not found")
    index: dict[PurePosixPath, Path] = {}
    for path in visible_files(folder, IMAGE_SUFFIXES):
        key = PurePosixPath(path.relative_to(folder).with_suffix("").as_posix())
        if strip_suffix and key.name.endswith(strip_suffix):
            key = key.with_name(key.name[: -len(strip_suffix)])
        if key in index:
            raise InputError(f"{path}: same name as {index[key]}; keep one {what} per name")
        index[key] = path
    if not index:
        raise InputError(f"{folder}: no {what} files found ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return index


def import_masks(
    images_dir: str | os.PathLike[str],
    masks_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    colours: Mapping[tuple[int, int, int], Label] | None = None,
    mask_suffix: str = "",
    subject_from: str = "folder",
    group: str = "",
    skip_bad: bool = False,
) -> ImportReport:
    """Import paired image and mask folders as a new dataset.

    Args:
        images_dir: folder of images (searched recursively); never modified.
        masks_dir: folder of masks mirroring ``images_dir``; never modified.
        out_dir: new or empty folder for the dataset.
        colours: RGB colour -> class for colour masks (``None``: package palette).
        mask_suffix: stripped from mask names before pairing (e.g. ``"_mask"``).
        subject_from: ``folder``, ``filename-prefix`` or ``none`` (from the image path).
        group: manifest ``group`` value; skip_bad: see ``importing``.

    Raises:
        InputError: pairing problems; ImportFailedError: bad masks or images, each named.
    """
    images_root = Path(images_dir)
    pairs = pair_images_and_masks(images_root, masks_dir, mask_suffix=mask_suffix)
    samples = [
        SourceSample(key, image, subject_for(key, subject_from, images_root.name))
        for key, image, _ in pairs
    ]
    options = {
        "colours": None
        if colours is None
        else {",".join(map(str, c)): lab.name.lower() for c, lab in colours.items()},
        "mask_suffix": mask_suffix,
        "subject_from": subject_from,
        "group": group,
        "skip_bad": skip_bad,
    }
    source = ImportSource(
        "masks",
        images_root,
        options,
        group=group,
        skip_bad=skip_bad,
        folders={"masks": Path(masks_dir)},
    )
    return import_samples(samples, _mask_loader(pairs, colours), out_dir, source)


def _mask_loader(
    pairs: list[tuple[PurePosixPath, Path, Path]],
    colours: Mapping[tuple[int, int, int], Label] | None,
) -> LoadFn:
    """Load a sample's image and decode its paired mask (sizes must agree)."""
    mask_of = {str(image): mask for _, image, mask in pairs}

    def load(sample: SourceSample) -> tuple[np.ndarray, np.ndarray]:
        mask_path = mask_of[str(sample.path)]
        image = read_image_rgb(sample.path)
        label_map = decode_mask(read_image_unchanged(mask_path), str(mask_path), colours)
        if label_map.shape != image.shape[:2]:
            raise DataError(
                f"{mask_path}: mask is {label_map.shape[1]}×{label_map.shape[0]} px but "
                f"image {sample.path.name} is {image.shape[1]}×{image.shape[0]} px"
            )
        return image, label_map

    return load
