"""Per-image, per-class segmentation metrics on label maps (pure NumPy/SciPy).

All inputs are 2-D integer label maps of equal shape (usually 320×480 crop px) whose
values are ``Label`` ids (0..4). For each requested class ``c`` the binary masks
``pred == c`` and ``ref == c`` are compared, giving one row with:

* ``dice`` = 2·TP / (2·TP + FP + FN), ``iou`` = TP / (TP + FP + FN),
  ``precision`` = TP / (TP + FP), ``recall`` = TP / (TP + FN) — fractions in [0, 1].
* ``hd95_px`` — 95th-percentile Hausdorff distance in crop px, **MONAI's definition**
  (``monai.metrics.compute_hausdorff_distance(percentile=95, directed=False)`` with
  Euclidean distance and unit spacing):

  1. boundary of a mask = its foreground pixels with at least one 4-neighbour that is
     background or outside the image (``mask & ~binary_erosion(mask, cross, border_value=0)``);
  2. ``d(P→R)`` = for every boundary pixel of the prediction, the Euclidean distance to
     the nearest *boundary* pixel of the reference (via ``distance_transform_edt``),
     and ``d(R→P)`` the same the other way;
  3. ``hd95 = max(percentile(d(P→R), 95), percentile(d(R→P), 95))`` with NumPy's
     default linear interpolation (what ``torch.quantile`` does).

  This is *not* the 95th percentile of the pooled distances (both directions in one
  set); the two differ when the boundary sets differ in size.
* ``components_pred`` / ``components_ref`` — connected components of each mask, and
  ``component_error`` = ``|components_pred − components_ref|``. Connectivity is 8 by
  default (diagonal neighbours join), so a one-pixel diagonal staircase on an iris edge
  is not counted as a split; pass ``connectivity=4`` to count it.
* ``area_pred_px`` / ``area_ref_px``, ``area_error_px`` = area_pred − area_ref (signed,
  positive = over-segmentation) and ``area_error_rel`` = area_error_px / area_ref_px.

Empty-mask policy (``flag`` column):

==================  ======  =====  =========  ======  ========  ==============  =========
case                dice    iou    precision  recall  hd95_px   area_error_rel  flag
==================  ======  =====  =========  ======  ========  ==============  =========
both non-empty      value   value  value      value   value     value           ok
pred empty only     0       0      NaN        0       NaN       -1              absent_pred
ref empty only      0       0      0          NaN     NaN       NaN             absent_ref
both empty          NaN     NaN    NaN        NaN     NaN       NaN             absent_both
==================  ======  =====  =========  ======  ========  ==============  =========

A class absent from both maps is a correct "nothing there" that overlap metrics cannot
score, so it is NaN (and ignored by the summary's NaN-aware means) and an
``EmptyMaskWarning`` is issued once per ``evaluate_pair`` / ``evaluate_dataset`` call.
A class present on one side only is a real error: Dice/IoU are 0 and count against the
model. HD95 is undefined when one side is empty (MONAI returns ``inf`` there; we return
NaN so means stay finite) — the summary's ``n`` shows how many images it covers.
Component and area errors are always defined (0 components / 0 px for an empty mask).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import ndimage

from ocularseg.core.errors import ConfigError, DataError
from ocularseg.core.labels import Label

logger = logging.getLogger(__name__)

#: Classes scored by default: everything but background.
DEFAULT_CLASSES: tuple[Label, ...] = (Label.SCLERA, Label.IRIS, Label.PUPIL, Label.CARUNCLE)

#: Metric columns of a per-image row, in output order.
METRIC_COLUMNS: tuple[str, ...] = (
    "dice",
    "iou",
    "precision",
    "recall",
    "hd95_px",
    "components_pred",
    "components_ref",
    "component_error",
    "area_pred_px",
    "area_ref_px",
    "area_error_px",
    "area_error_rel",
)

#: Columns of ``evaluate_pair`` rows; ``evaluate_dataset`` prepends image_id and group.
ROW_COLUMNS: tuple[str, ...] = ("class", "label", *METRIC_COLUMNS, "flag")

#: Values of the ``flag`` column.
FLAG_OK = "ok"
FLAG_ABSENT_PRED = "absent_pred"
FLAG_ABSENT_REF = "absent_ref"
FLAG_ABSENT_BOTH = "absent_both"

# Boundary uses 4-neighbours, as MONAI's get_mask_edges (scipy's default erosion structure).
_CROSS = ndimage.generate_binary_structure(2, 1)
_STRUCTURES = {4: ndimage.generate_binary_structure(2, 1), 8: np.ones((3, 3), dtype=bool)}
_NUM_LABELS = len(Label)


class EmptyMaskWarning(UserWarning):
    """A class is absent from both prediction and reference; its overlap metrics are NaN."""


def _check_label_map(array: Any, what: str) -> np.ndarray:
    if not isinstance(array, np.ndarray):
        raise DataError(f"{what} must be a numpy array, got {type(array).__name__}")
    if array.ndim != 2:
        raise DataError(f"{what} must be a 2-D label map (H, W), got shape {array.shape}")
    # Bool or float maps are almost always a binary mask or probabilities passed by mistake.
    if not np.issubdtype(array.dtype, np.integer):
        raise DataError(f"{what} must have an integer dtype (label ids), got {array.dtype}")
    if array.size and (array.min() < 0 or array.max() >= _NUM_LABELS):
        bad = np.unique(array[(array < 0) | (array >= _NUM_LABELS)])
        shown = ", ".join(str(v) for v in bad[:10]) + (", ..." if bad.size > 10 else "")
        raise DataError(
            f"{what} contains unknown label values {{{shown}}}; "
            f"known labels are 0..{_NUM_LABELS - 1} ({', '.join(x.name.lower() for x in Label)})"
        )
    return array


def _check_pair(pred: Any, ref: Any) -> tuple[np.ndarray, np.ndarray]:
    pred = _check_label_map(pred, "prediction")
    ref = _check_label_map(ref, "reference")
    if pred.shape != ref.shape:
        raise DataError(f"prediction shape {pred.shape} does not match reference shape {ref.shape}")
    return pred, ref


def _check_classes(classes: Iterable[int | Label]) -> tuple[Label, ...]:
    if isinstance(classes, int | str):
        raise ConfigError(f"classes must be a sequence of label ids, e.g. (1, 2), got {classes!r}")
    out: list[Label] = []
    for c in classes:
        try:
            label = Label(int(c))
        except (ValueError, TypeError):
            valid = ", ".join(f"{x.value} ({x.name.lower()})" for x in Label)
            raise ConfigError(f"unknown class {c!r}; valid classes: {valid}") from None
        if label in out:
            raise ConfigError(f"class {label.name.lower()} is listed twice in classes")
        out.append(label)
    if not out:
        raise ConfigError("classes must name at least one class")
    return tuple(out)


def _check_connectivity(connectivity: int) -> np.ndarray:
    if connectivity not in _STRUCTURES:
        raise ConfigError(f"connectivity must be 4 or 8, got {connectivity!r}")
    return _STRUCTURES[connectivity]


def _check_mask(mask: Any, what: str) -> np.ndarray:
    if not isinstance(mask, np.ndarray) or mask.ndim != 2:
        raise DataError(
            f"{what} must be a 2-D array (H, W), got shape {getattr(mask, 'shape', None)}"
        )
    return mask.astype(bool, copy=False)


def boundary_mask(mask: np.ndarray) -> np.ndarray:
    """Boundary pixels of a binary mask, as MONAI's ``get_mask_edges``.

    Args:
        mask: (H, W) array, non-zero = foreground.

    Returns:
        (H, W) bool array: foreground pixels with at least one 4-neighbour that is
        background or lies outside the image.
    """
    mask = _check_mask(mask, "mask")
    return mask & ~ndimage.binary_erosion(mask, structure=_CROSS, border_value=0)


def hd95_px(pred_mask: np.ndarray, ref_mask: np.ndarray, *, percentile: float = 95.0) -> float:
    """Percentile Hausdorff distance between two binary masks, MONAI's definition.

    ``max(percentile(d(P→R)), percentile(d(R→P)))`` where ``d(A→B)`` holds, for each
    boundary pixel of A, the Euclidean distance to the nearest boundary pixel of B (see
    the module docstring and ``boundary_mask``).

    Args:
        pred_mask: (H, W) binary prediction, non-zero = foreground.
        ref_mask: (H, W) binary reference, same shape.
        percentile: in [0, 100]; 100 gives the classic Hausdorff distance.

    Returns:
        Distance in px (of the input grid); NaN when either mask is empty.

    Raises:
        DataError: the masks are not 2-D or differ in shape.
        ConfigError: ``percentile`` is outside [0, 100].
    """
    pred_mask = _check_mask(pred_mask, "prediction mask")
    ref_mask = _check_mask(ref_mask, "reference mask")
    if pred_mask.shape != ref_mask.shape:
        raise DataError(
            f"prediction mask shape {pred_mask.shape} does not match "
            f"reference mask shape {ref_mask.shape}"
        )
    if not 0.0 <= percentile <= 100.0:
        raise ConfigError(f"percentile must be in [0, 100], got {percentile}")
    return _hd_px(pred_mask, ref_mask, percentile)


def _hd_px(pred_mask: np.ndarray, ref_mask: np.ndarray, percentile: float) -> float:
    if not pred_mask.any() or not ref_mask.any():
        return math.nan
    # Crop to the union's bounding box plus a 1 px margin: exact (all boundary pixels lie
    # inside, Euclidean distances do not depend on the frame, and image-edge pixels still
    # see border_value=0), and several times faster for small classes like the pupil.
    rows = np.flatnonzero((pred_mask | ref_mask).any(axis=1))
    cols = np.flatnonzero((pred_mask | ref_mask).any(axis=0))
    window = (
        slice(max(rows[0] - 1, 0), rows[-1] + 2),
        slice(max(cols[0] - 1, 0), cols[-1] + 2),
    )
    pred_edge = boundary_mask(pred_mask[window])
    ref_edge = boundary_mask(ref_mask[window])
    d_pred_to_ref = ndimage.distance_transform_edt(~ref_edge)[pred_edge]
    d_ref_to_pred = ndimage.distance_transform_edt(~pred_edge)[ref_edge]
    return float(
        max(np.percentile(d_pred_to_ref, percentile), np.percentile(d_ref_to_pred, percentile))
    )


def count_components(mask: np.ndarray, *, connectivity: Literal[4, 8] = 8) -> int:
    """Number of connected components of a binary mask.

    Args:
        mask: (H, W) array, non-zero = foreground.
        connectivity: 8 (diagonal neighbours join) or 4.

    Returns:
        Component count (0 for an empty mask).
    """
    mask = _check_mask(mask, "mask")
    structure = _check_connectivity(connectivity)
    return int(ndimage.label(mask, structure=structure)[1])


def _ratio(num: float, den: float) -> float:
    return num / den if den else math.nan


def _evaluate_pair(
    pred: np.ndarray,
    ref: np.ndarray,
    classes: tuple[Label, ...],
    structure: np.ndarray,
) -> list[dict[str, Any]]:
    # One joint histogram gives TP/FP/FN and both areas for every class at once.
    joint = np.bincount(
        (ref.astype(np.int64) * _NUM_LABELS + pred).ravel(), minlength=_NUM_LABELS**2
    ).reshape(_NUM_LABELS, _NUM_LABELS)  # [ref, pred]
    area_ref = joint.sum(axis=1)
    area_pred = joint.sum(axis=0)
    rows: list[dict[str, Any]] = []
    for label in classes:
        c = int(label)
        tp = int(joint[c, c])
        a_pred, a_ref = int(area_pred[c]), int(area_ref[c])
        fp, fn = a_pred - tp, a_ref - tp
        pred_mask, ref_mask = pred == c, ref == c
        n_pred = int(ndimage.label(pred_mask, structure=structure)[1]) if a_pred else 0
        n_ref = int(ndimage.label(ref_mask, structure=structure)[1]) if a_ref else 0
        if a_pred and a_ref:
            flag = FLAG_OK
        elif a_ref:
            flag = FLAG_ABSENT_PRED
        elif a_pred:
            flag = FLAG_ABSENT_REF
        else:
            flag = FLAG_ABSENT_BOTH
        rows.append(
            {
                "class": label.name.lower(),
                "label": c,
                "dice": _ratio(2 * tp, 2 * tp + fp + fn),
                "iou": _ratio(tp, tp + fp + fn),
                "precision": _ratio(tp, a_pred),
                "recall": _ratio(tp, a_ref),
                "hd95_px": _hd_px(pred_mask, ref_mask, 95.0) if flag == FLAG_OK else math.nan,
                "components_pred": n_pred,
                "components_ref": n_ref,
                "component_error": abs(n_pred - n_ref),
                "area_pred_px": a_pred,
                "area_ref_px": a_ref,
                "area_error_px": a_pred - a_ref,
                "area_error_rel": _ratio(a_pred - a_ref, a_ref),
                "flag": flag,
            }
        )
    return rows


def _warn_absent_both(detail: str) -> None:
    warnings.warn(
        f"class absent from both prediction and reference ({detail}); "
        "Dice/IoU/precision/recall/HD95 are NaN there and are left out of means",
        EmptyMaskWarning,
        stacklevel=3,
    )


def evaluate_pair(
    pred: np.ndarray,
    ref: np.ndarray,
    *,
    classes: Sequence[int | Label] = DEFAULT_CLASSES,
    connectivity: Literal[4, 8] = 8,
) -> list[dict[str, Any]]:
    """Score one predicted label map against its reference, one row per class.

    Args:
        pred: (H, W) integer label map predicted by the model, values in ``Label``.
        ref: (H, W) integer reference label map, same shape.
        classes: classes to score, in output order (default sclera, iris, pupil,
            caruncle; add ``Label.BACKGROUND`` to score background too).
        connectivity: 8 or 4, for the component counts.

    Returns:
        One dict per class with the keys ``ROW_COLUMNS``: ``class`` (lower-case name),
        ``label`` (id), the metrics (fractions, px, counts; see the module docstring)
        and ``flag`` (empty-mask case).

    Raises:
        DataError: a map is not a 2-D integer array, the shapes differ, or a value is not
            a known label.
        ConfigError: an unknown or repeated class, or a connectivity other than 4/8.

    Warns:
        EmptyMaskWarning: once, if any class is absent from both maps.
    """
    pred, ref = _check_pair(pred, ref)
    rows = _evaluate_pair(pred, ref, _check_classes(classes), _check_connectivity(connectivity))
    absent = [row["class"] for row in rows if row["flag"] == FLAG_ABSENT_BOTH]
    if absent:
        _warn_absent_both(", ".join(absent))
    return rows


def evaluate_dataset(
    pairs: Iterable[tuple[str, str, np.ndarray, np.ndarray]],
    *,
    classes: Sequence[int | Label] = DEFAULT_CLASSES,
    connectivity: Literal[4, 8] = 8,
) -> pd.DataFrame:
    """Score many images; one row per image × class.

    Args:
        pairs: ``(image_id, group, pred, ref)`` tuples; ``pred``/``ref`` as in
            ``evaluate_pair``. ``group`` is a free reporting label (e.g. "phantom",
            "clinic-A"); image ids must be unique. Consumed lazily, so a generator that
            loads masks one at a time keeps memory flat.
        classes: classes to score (see ``evaluate_pair``).
        connectivity: 8 or 4, for the component counts.

    Returns:
        DataFrame with columns ``image_id``, ``group`` then ``ROW_COLUMNS``, in input
        order (empty, with these columns, when ``pairs`` is empty).

    Raises:
        DataError: a repeated image id, or any error of ``evaluate_pair`` (the message
            names the image).
        ConfigError: as ``evaluate_pair``.

    Warns:
        EmptyMaskWarning: once per call, with per-class counts of images where the class
            is absent from both maps.
    """
    checked_classes = _check_classes(classes)
    structure = _check_connectivity(connectivity)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    absent: dict[str, int] = {}
    for item in pairs:
        if len(item) != 4:
            raise DataError(
                f"each pair must be (image_id, group, pred, ref), got a {len(item)}-tuple"
            )
        image_id, group, pred, ref = item
        image_id, group = str(image_id), str(group)
        if image_id in seen:
            raise DataError(f"image id {image_id!r} appears twice; ids must be unique")
        seen.add(image_id)
        try:
            pred, ref = _check_pair(pred, ref)
        except DataError as exc:
            raise DataError(f"{image_id}: {exc}") from exc
        for row in _evaluate_pair(pred, ref, checked_classes, structure):
            if row["flag"] == FLAG_ABSENT_BOTH:
                absent[row["class"]] = absent.get(row["class"], 0) + 1
            rows.append({"image_id": image_id, "group": group, **row})
    logger.debug("evaluated %d images × %d classes", len(seen), len(checked_classes))
    if absent:
        _warn_absent_both(
            ", ".join(f"{name} in {n} of {len(seen)} images" for name, n in absent.items())
        )
    return pd.DataFrame(rows, columns=["image_id", "group", *ROW_COLUMNS])
