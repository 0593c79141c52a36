"""A segmentation quality signal that falls on bad masks.

The network's mean max-softmax probability is not a quality signal: on real faces it stayed
high while the lids were labelled sclera and the iris sat on the brow. The signal used
instead, ``quality`` in [0, 1], is the smaller of two agreements, each of which only a
correct segmentation reaches:

* **Mirror agreement** — the crop is segmented twice, as is and mirrored left–right (a
  mirrored eye is still an eye, and the models are trained with mirroring), and the two
  label maps are compared after mirroring the second back:
  ``½ · (Dice(O, O′) + Dice(D, D′))`` with O the eye opening (sclera ∪ iris ∪ pupil ∪
  caruncle) and D the visible iris disc (iris ∪ pupil). A network that is guessing from
  texture puts its guesses in different places when the picture is mirrored.
* **Outline agreement** — the opening O against the six landmark eye points (dlib 36–41 /
  42–47, an independent detector): the smaller of (a) the fraction of O inside the outline
  dilated by ``OUTLINE_MARGIN`` × the eye width and (b) the fraction of the outline's area
  that O covers. (a) falls when lids, creases or the brow are labelled eye; (b) when the
  eye itself was missed. A hexagon through six points is a coarse eye, hence the margin.

On real eye crops judged by eye, their minimum separates acceptable from unacceptable masks
better than either agreement alone or the mean max-softmax; ``benchmarks/quality_signal.py``
repeats the comparison (the measured numbers are in ``docs/experiments.md``).
"""

from __future__ import annotations

import math

import numpy as np

from ocularseg.core.errors import InputError
from ocularseg.stages._label_map import (
    check_label_map,
    dilated_polygon,
    iris_disc_mask,
    opening_mask,
)

NAN = float("nan")


def mirror(image: np.ndarray) -> np.ndarray:
    """Left–right mirror of a crop (H, W[, C]) as a contiguous copy (crop px)."""
    return np.ascontiguousarray(np.asarray(image)[:, ::-1])


def mirror_points(points_px: np.ndarray, width_px: int) -> np.ndarray:
    """(N, 2) points (x, y) of a crop ``width_px`` wide, placed in its mirror (crop px)."""
    points = np.asarray(points_px, dtype=np.float64).copy()
    points[:, 0] = (width_px - 1) - points[:, 0]
    return points


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice overlap 2|A∩B| / (|A| + |B|) of two boolean masks; NaN when both are empty."""
    total = int(a.sum()) + int(b.sum())
    if total == 0:
        return NAN
    return 2.0 * int(np.logical_and(a, b).sum()) / total


def mirror_agreement(labels: np.ndarray, labels_of_mirror: np.ndarray) -> float:
    """Agreement of a prediction with the prediction of the mirrored crop.

    Args:
        labels: (H, W) label map of the crop (crop px).
        labels_of_mirror: (H, W) label map predicted for ``mirror(crop)``, as returned by
            the network (still mirrored; it is mirrored back here).

    Returns:
        ½ (Dice of the openings + Dice of the iris discs), in [0, 1]; a region empty in
        both predictions counts as agreeing (1.0); NaN only when both are empty
        everywhere (nothing found either way).

    Raises:
        InputError: invalid label maps.
    """
    labels = check_label_map(labels)
    back = check_label_map(labels_of_mirror)[:, ::-1]
    if labels.shape != back.shape:
        raise InputError(f"label maps differ in shape: {labels.shape} vs {back.shape}")
    scores = [
        dice(opening_mask(labels), opening_mask(back)),
        dice(iris_disc_mask(labels), iris_disc_mask(back)),
    ]
    if all(math.isnan(s) for s in scores):
        return NAN
    return float(np.mean([1.0 if math.isnan(s) else s for s in scores]))


#: Dilation of the landmark eye outline for the outline agreement, as a fraction of the
#: canthus-to-canthus width (dlib's hexagon cuts the curved lids short by about this much).
OUTLINE_MARGIN = 0.1


def outline_agreement(labels: np.ndarray, eye_outline_px: np.ndarray) -> float:
    """Agreement of the segmented opening with the landmark eye outline.

    Args:
        labels: (H, W) label map (crop px).
        eye_outline_px: (6, 2) landmark eye points in crop px, dlib order (p1, p4 = canthi).

    Returns:
        min(fraction of O inside the outline dilated by ``OUTLINE_MARGIN`` × eye width,
        fraction of the outline's area covered by O), in [0, 1]; 0.0 when O is empty
        (nothing of the eye was found).

    Raises:
        InputError: invalid label map or outline.
    """
    labels = check_label_map(labels)
    outline = np.asarray(eye_outline_px, dtype=np.float64)
    if outline.shape != (6, 2) or not np.isfinite(outline).all():
        raise InputError(f"eye outline must be six finite (x, y) points, got {outline.shape}")
    opening = opening_mask(labels)
    if not opening.any():
        return 0.0
    width = float(np.hypot(*(outline[3] - outline[0])))
    margin = max(1, round(OUTLINE_MARGIN * width))
    polygon, near = dilated_polygon(labels.shape, outline, margin)
    inside = float((opening & near).sum()) / float(opening.sum())
    covered = float((opening & polygon).sum()) / max(float(polygon.sum()), 1.0)
    return min(inside, covered)


def quality_score(mirror: float, outline: float) -> float:
    """``min(mirror, outline)``, ignoring a NaN part (NaN when both are NaN)."""
    parts = [v for v in (mirror, outline) if not math.isnan(v)]
    return min(parts) if parts else NAN
