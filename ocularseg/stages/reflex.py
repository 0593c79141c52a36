"""The corneal light reflex: the specular highlight of the light source on the cornea.

Clinically MRD1 is the distance from the corneal light reflex to the upper lid margin
(MRD2 to the lower margin), with the patient fixating a light held at the examiner's eye.
The rest of ocularseg measures from the fitted iris centre, which needs no light; this
stage finds the reflex in the crop image so that both can be reported side by side.

Pure NumPy/SciPy, crop px (pixel ``image[i, j]`` is centred on ``(x, y) = (j, i)``).

How the reflex is found
    1. Luminance ``Y = 0.299 R + 0.587 G + 0.114 B`` in a window around the iris circle.
    2. Its excess over the local median (a square median filter of side
       ``2 · ReflexParams.background_radius_r`` iris radii + 1 px): a highlight smaller than
       the window stands out, while the iris, the pupil and their edges follow the median.
    3. The search region is the iris circle shrunk to ``search_radius_r`` iris radii,
       inside the opening and not on its edge (the tear meniscus and the wet lid margins
       shine along the lids; a reflex on the cornea lies inside). A reflex is present when
       the largest excess there reaches ``min_contrast`` levels and ``min_snr`` robust
       standard deviations of the excess over the region (the iris's own texture).
    4. Candidates are the 8-connected components of excess ≥ that threshold and ≥
       ``peak_share`` of the peak. A candidate is refused when its equivalent-area radius
       exceeds ``max_radius_r`` iris radii (a bright patch, not a reflex) or it is a line
       (principal axes more than ``MAX_ELONGATION`` : 1).
    5. The rest are scored ``contrast × exp(−½ (d / (0.5 r))²)`` (bright and near the iris
       centre, d its distance from it); the best one is the reflex, its centre the
       excess-weighted centroid of the component (sub-pixel).

Nothing is found (``ReflexResult.found`` False, reason given) when there is no iris
circle, no candidate, or every candidate is refused. A reflex more than ``max_offset_r``
iris radii from the iris centre is still reported but flagged ``reflex_off_centre``: the
light was not coaxial with the patient's gaze, or the gaze was not at the light, and the
reflex-based MRD1 then measures something else than the clinical one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import ndimage

from ocularseg.core.errors import InputError
from ocularseg.core.records import Flag
from ocularseg.stages._label_map import check_label_map, opening_mask

FLAG_REFLEX_ABSENT = Flag.REFLEX_ABSENT
FLAG_REFLEX_OFF_CENTRE = Flag.REFLEX_OFF_CENTRE

ReflexFailure = Literal["no_iris", "no_candidate", "all_refused"]

_EIGHT = np.ones((3, 3), dtype=bool)
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
#: Longest ratio of principal axes of a reflex (the tear meniscus is a line).
MAX_ELONGATION = 4.0


class ReflexParams(BaseModel):
    """Parameters of the reflex search (frozen; unknown keys are an error).

    Attributes:
        background_radius_r: half-side of the median filter's window, in iris radii
            (twice a large reflex, well inside the iris).
        search_radius_r: the search reaches this many iris radii from the iris centre.
        min_contrast: least excess over the local median (8-bit luminance levels) of a
            reflex's peak.
        min_snr: and at least this many robust standard deviations (1.4826 × MAD) of the
            excess over the search region, i.e. of the iris's own texture.
        peak_share: a pixel joins a candidate when its excess is at least this share of
            the largest excess in the search region.
        max_radius_r: largest equivalent-area radius of a reflex, in iris radii.
        max_offset_r: a reflex farther than this from the iris centre (iris radii) is
            flagged ``reflex_off_centre``.
        enabled: False skips the search (the reflex columns stay empty, no flag).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    background_radius_r: float = Field(default=0.4, gt=0.0, le=1.0)
    search_radius_r: float = Field(default=0.85, gt=0.0, le=1.5)
    min_contrast: float = Field(default=40.0, ge=0.0, le=255.0)
    min_snr: float = Field(default=3.0, ge=0.0)
    peak_share: float = Field(default=0.4, gt=0.0, le=1.0)
    max_radius_r: float = Field(default=0.35, gt=0.0, le=1.0)
    max_offset_r: float = Field(default=0.5, gt=0.0)
    enabled: bool = True


@dataclass(frozen=True)
class ReflexResult:
    """The reflex of one eye crop (crop px), or why there is none.

    Attributes:
        found: True when a reflex was chosen.
        x_px, y_px: its centre (crop px; NaN when not found).
        radius_px: equivalent-area radius of its component (crop px).
        contrast: its peak excess over the local median (8-bit luminance levels).
        offset_r: its distance from the iris centre in iris radii.
        candidates: components considered before refusal.
        reason: why none was found (None when found).
    """

    found: bool
    x_px: float = math.nan
    y_px: float = math.nan
    radius_px: float = math.nan
    contrast: float = math.nan
    offset_r: float = math.nan
    candidates: int = 0
    reason: ReflexFailure | None = None

    def flags(self, params: ReflexParams) -> tuple[str, ...]:
        """``reflex_absent`` or ``reflex_off_centre`` (or nothing) for this result."""
        if not self.found:
            return (FLAG_REFLEX_ABSENT,)
        if self.offset_r > params.max_offset_r:
            return (FLAG_REFLEX_OFF_CENTRE,)
        return ()


def luminance(image: np.ndarray) -> np.ndarray:
    """float32 (H, W) luminance (0–255) of an RGB uint8 (H, W, 3) image."""
    return image.astype(np.float32) @ _LUMA


def find_reflex(
    image: np.ndarray,
    labels: np.ndarray,
    centre_px: tuple[float, float] | None,
    radius_px: float,
    params: ReflexParams | None = None,
) -> ReflexResult:
    """Find the corneal light reflex of one eye (see the module docstring).

    Args:
        image: RGB uint8 (H, W, 3) eye crop.
        labels: (H, W) label map of the same crop (crop px).
        centre_px: iris centre (x, y) in crop px, or None when there is no iris circle.
        radius_px: iris radius in crop px.
        params: search parameters; defaults to ``ReflexParams()``.

    Returns:
        ``ReflexResult``.

    Raises:
        InputError: the image is not RGB uint8 of the label map's size.
    """
    params = params or ReflexParams()
    labels = check_label_map(labels)
    _check_image(image, labels)
    if centre_px is None or not (math.isfinite(radius_px) and radius_px > 0):
        return ReflexResult(found=False, reason="no_iris")
    cx, cy = float(centre_px[0]), float(centre_px[1])
    window = _search_window(image, labels, cx, cy, radius_px, params)
    if window is None:
        return ReflexResult(found=False, reason="no_candidate")
    excess, rows, cols, region = window
    values = excess[region]
    peak = float(values.max())
    # The iris's own texture sets the noise level a highlight must stand out from.
    noise = 1.4826 * float(np.median(np.abs(values - np.median(values))))
    threshold = max(params.min_contrast, params.min_snr * noise)
    if peak < threshold:
        return ReflexResult(found=False, reason="no_candidate")
    mask = region & (excess >= max(threshold, params.peak_share * peak))
    components, count = ndimage.label(mask, structure=_EIGHT)
    best: tuple[float, ReflexResult] | None = None
    for index in range(1, count + 1):
        found = _candidate(components == index, excess, rows, cols, (cx, cy), radius_px, params)
        if found is not None and (best is None or found[0] > best[0]):
            best = (found[0], replace(found[1], candidates=count))
    if best is None:
        return ReflexResult(found=False, candidates=count, reason="all_refused")
    return best[1]


def _check_image(image: np.ndarray, labels: np.ndarray) -> None:
    if (
        not isinstance(image, np.ndarray)
        or image.dtype != np.uint8
        or image.shape != (*labels.shape, 3)
    ):
        raise InputError(
            f"reflex search needs an RGB uint8 image of {labels.shape[1]}×{labels.shape[0]} px, "
            f"got {getattr(image, 'shape', None)} {getattr(image, 'dtype', None)}"
        )


def _search_window(
    image: np.ndarray,
    labels: np.ndarray,
    cx: float,
    cy: float,
    radius_px: float,
    params: ReflexParams,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """(excess luminance, rows, columns, search region) of the window around the iris
    centre, all (h, w) in the window; None when the window or its region is empty."""
    reach = params.search_radius_r * radius_px
    kernel_r = max(2, int(round(params.background_radius_r * radius_px)))
    pad = int(math.ceil(reach)) + kernel_r + 1
    height, width = labels.shape
    x0, x1 = max(0, int(cx) - pad), min(width, int(cx) + pad + 1)
    y0, y1 = max(0, int(cy) - pad), min(height, int(cy) + pad + 1)
    if x1 <= x0 or y1 <= y0:
        return None
    import cv2  # imported here: keeps the stage importable (and --help fast) without it

    luma = luminance(image[y0:y1, x0:x1])
    # Brighter than the local median: what is smaller than half the window (a highlight)
    # stands out; the iris, the pupil and their edges follow the median.
    background = cv2.medianBlur(np.clip(luma + 0.5, 0, 255).astype(np.uint8), 2 * kernel_r + 1)
    excess = luma - background.astype(np.float32)
    rows, cols = np.mgrid[y0:y1, x0:x1]
    near = np.hypot(cols - cx, rows - cy) <= reach
    # Inside the opening and not on its edge: the tear meniscus and the wet lid margins
    # shine along the lids, a reflex on the cornea lies inside.
    opening = ndimage.binary_erosion(
        opening_mask(labels[y0:y1, x0:x1]), structure=_EIGHT, border_value=1
    )
    region = near & opening
    if region.sum() < 4:
        return None
    return excess, rows, cols, region


def _candidate(
    member: np.ndarray,
    excess: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    centre: tuple[float, float],
    radius_px: float,
    params: ReflexParams,
) -> tuple[float, ReflexResult] | None:
    """(score, found reflex) of one bright component, or None when it is refused (too
    large or too elongated for a reflex)."""
    area = int(member.sum())
    equivalent_r = math.sqrt(area / math.pi)
    if equivalent_r > params.max_radius_r * radius_px or _elongation(member) > MAX_ELONGATION:
        return None
    weights = excess[member]
    x = float(np.sum(cols[member] * weights) / weights.sum())
    y = float(np.sum(rows[member] * weights) / weights.sum())
    contrast = float(weights.max())
    offset = math.hypot(x - centre[0], y - centre[1]) / radius_px
    score = contrast * math.exp(-0.5 * (offset / 0.5) ** 2)
    found = ReflexResult(
        found=True, x_px=x, y_px=y, radius_px=equivalent_r, contrast=contrast, offset_r=offset
    )
    return score, found


def _elongation(member: np.ndarray) -> float:
    """Ratio of the principal axes (≥ 1) of a component; 1 for fewer than 6 pixels."""
    ys, xs = np.nonzero(member)
    if xs.size < 6:
        return 1.0
    eigen = np.linalg.eigvalsh(np.cov(np.stack([xs, ys]).astype(np.float64)))
    return math.sqrt(max(eigen[1], 1e-9) / max(eigen[0], 1.0 / 12.0))
