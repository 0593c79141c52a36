"""Label-map checks and the two unions every measurement is built on (O and D)."""

from __future__ import annotations

import numpy as np

from ocularseg.core.errors import InputError
from ocularseg.core.labels import NUM_CLASSES, Label

#: Classes of the eye opening O (everything inside the lid margins).
OPENING_LABELS: tuple[Label, ...] = (Label.SCLERA, Label.IRIS, Label.PUPIL, Label.CARUNCLE)
#: Classes of the visible iris disc D (the pupil lies inside the iris).
IRIS_DISC_LABELS: tuple[Label, ...] = (Label.IRIS, Label.PUPIL)


def check_label_map(labels: object) -> np.ndarray:
    """Return ``labels`` as a 2-D integer array after checking shape, dtype and values.

    Any (H, W) size is accepted: the measurements are size-agnostic, and the 480×320 crop
    size is enforced where crops are made (``EyeCrop``, ``SegmentationResult``).

    Args:
        labels: (H, W) integer label map in crop px with values in ``Label``.

    Returns:
        The same array (not copied).

    Raises:
        InputError: not a 2-D integer array, empty, or holding an unknown label value.
    """
    if not isinstance(labels, np.ndarray) or labels.ndim != 2:
        shape = getattr(labels, "shape", None)
        raise InputError(f"label map must be a 2-D (H, W) array, got shape {shape}")
    if labels.size == 0:
        raise InputError(f"label map is empty (shape {labels.shape})")
    if not np.issubdtype(labels.dtype, np.integer):
        raise InputError(f"label map must hold integers (uint8), got dtype {labels.dtype}")
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= NUM_CLASSES:
        bad = low if low < 0 else high
        raise InputError(f"label map holds value {bad}, outside the labels 0..{NUM_CLASSES - 1}")
    return labels


def opening_mask(labels: np.ndarray) -> np.ndarray:
    """Boolean (H, W) mask of the eye opening O = sclera ∪ iris ∪ pupil ∪ caruncle."""
    labels = np.asarray(labels)
    if labels.dtype == np.uint8:
        # 1..4 (sclera, iris, pupil, caruncle) in one comparison: uint8 arithmetic wraps
        # background (0) to 255.
        return (labels - np.uint8(Label.SCLERA)) < np.uint8(len(OPENING_LABELS))
    return np.isin(labels, OPENING_LABELS)


def iris_disc_mask(labels: np.ndarray) -> np.ndarray:
    """Boolean (H, W) mask of the visible iris disc D = iris ∪ pupil."""
    labels = np.asarray(labels)
    if labels.dtype == np.uint8:
        return (labels - np.uint8(Label.IRIS)) < np.uint8(len(IRIS_DISC_LABELS))
    return np.isin(labels, IRIS_DISC_LABELS)


def dilated_polygon(
    shape_hw: tuple[int, int], outline_px: np.ndarray, margin_px: int
) -> tuple[np.ndarray, np.ndarray]:
    """The filled polygon of ``outline_px`` and every pixel within ``margin_px`` + 0.5 px
    of it (Euclidean; the digital disc of OpenCV's elliptical (2·margin + 1)² kernel),
    both boolean (H, W) in crop px.

    The distance is computed only on the polygon's bounding box widened by the margin.
    """
    import cv2

    polygon = np.zeros(shape_hw, np.uint8)
    cv2.fillPoly(polygon, [np.round(outline_px).astype(np.int32)], 1)
    near = np.zeros(shape_hw, bool)
    rows, cols = np.nonzero(polygon.any(axis=1))[0], np.nonzero(polygon.any(axis=0))[0]
    if not rows.size:
        return polygon.astype(bool), near
    reach = margin_px + 1
    top, bottom = max(0, rows[0] - reach), min(shape_hw[0], rows[-1] + reach + 1)
    left, right = max(0, cols[0] - reach), min(shape_hw[1], cols[-1] + reach + 1)
    box = np.ascontiguousarray(1 - polygon[top:bottom, left:right])
    distance = cv2.distanceTransform(box, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    near[top:bottom, left:right] = distance <= margin_px + 0.5
    return polygon.astype(bool), near
