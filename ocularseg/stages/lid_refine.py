"""Sub-pixel lid margins: each margin edge of the mask moved to the image's intensity step.

Pure NumPy/SciPy, crop px. The segmentation places a lid margin on a pixel edge of its
label map, and the network's output is coarser than the crop (its logits are computed at
half resolution): over a dark iris, where the lashes, the lid's shadow and the iris are all
dark, the mask's upper margin runs a few crop px below the visible edge. This stage looks
at the image itself, column by column, near where the mask puts the margin:

1. Luminance ``Y`` of the crop, smoothed by a Gaussian (``sigma_px`` down a column,
   ``1.5 × sigma_px`` along the lid) so that single lashes and noise do not make steps.
2. In each column with a margin edge, the search interval reaches ``outward_r`` iris radii
   into the lid (up for the upper lid, down for the lower) and ``inward_r`` into the eye
   from the mask's edge. The margin is the row of the largest |∂Y/∂y| there (either sign:
   skin, lash line and lid shadow change the sign from eye to eye), refined to sub-pixel by
   a parabola through the three samples around the peak.
3. A column keeps the mask's edge when the largest step is below ``min_step`` luminance
   levels per px (no edge to see: a blurred or very dark image) or lies on the end of the
   interval (the edge is beyond the search: the mask is trusted).

The refined edges then go through the same robust quadratic as the mask's edges
(``stages.lid_margin``), so a column caught by a lash or a crease is still outvoted.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import ndimage

from ocularseg.core.errors import InputError

Lid = Literal["upper", "lower"]
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


class LidRefineParams(BaseModel):
    """Parameters of the sub-pixel lid refinement (frozen; unknown keys are an error).

    Attributes:
        enabled: False keeps the mask's edges (the refinement also needs the crop image,
            which ``analyze`` gives the measurement stage).
        outward_r: how far into the lid the search reaches, in iris radii.
        inward_r: how far into the eye it reaches, in iris radii.
        min_step: least luminance step (8-bit levels per crop px) taken as an edge.
        sigma_px: Gaussian smoothing down a column (crop px); 1.5× that along the lid.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    outward_r: float = Field(default=0.10, ge=0.0, le=0.5)
    inward_r: float = Field(default=0.06, ge=0.0, le=0.5)
    min_step: float = Field(default=3.0, ge=0.0)
    sigma_px: float = Field(default=1.0, gt=0.0, le=5.0)


def vertical_gradient(image: np.ndarray, sigma_px: float, rows: slice, cols: slice) -> np.ndarray:
    """∂Y/∂y (levels per crop px) of the smoothed luminance in a window of the crop.

    Args:
        image: RGB uint8 (H, W, 3) crop.
        sigma_px: smoothing down a column (crop px); 1.5× along a row.
        rows, cols: the window (slices of the crop).

    Returns:
        float32 (h, w) gradient of the window; row i of it is crop row ``rows.start + i``.
    """
    luma = image[rows, cols].astype(np.float32) @ _LUMA
    smooth = ndimage.gaussian_filter(luma, (sigma_px, 1.5 * sigma_px), mode="nearest")
    return np.gradient(smooth, axis=0)


def refine_edges_px(
    image: np.ndarray,
    columns: np.ndarray,
    edges_y: np.ndarray,
    radius_px: float,
    lid: Lid,
    params: LidRefineParams | None = None,
) -> np.ndarray:
    """Move each margin edge of one lid to the image's strongest step nearby.

    Args:
        image: RGB uint8 (H, W, 3) crop.
        columns: (N,) crop columns with a margin edge.
        edges_y: (N,) the mask's margin edge in those columns (crop px, pixel-edge
            convention of ``stages.measure``).
        radius_px: iris radius (crop px); the search interval scales with it.
        lid: ``"upper"`` or ``"lower"`` (which way is outward, into the lid).
        params: refinement parameters; defaults to ``LidRefineParams()``.

    Returns:
        (N,) float64 margin y per column (crop px); a column without a clear step keeps
        its mask edge.

    Raises:
        InputError: the image is not RGB uint8, or ``lid`` is unknown.
    """
    params = params or LidRefineParams()
    edges = np.asarray(edges_y, dtype=np.float64).copy()
    if lid not in ("upper", "lower"):
        raise InputError(f"lid must be 'upper' or 'lower', got {lid!r}")
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.dtype != np.uint8:
        raise InputError(
            f"lid refinement needs an RGB uint8 crop, got {getattr(image, 'shape', None)}"
        )
    if not params.enabled or edges.size == 0 or not (math.isfinite(radius_px) and radius_px > 0):
        return edges
    height = image.shape[0]
    up_px = (params.outward_r if lid == "upper" else params.inward_r) * radius_px
    down_px = (params.inward_r if lid == "upper" else params.outward_r) * radius_px
    pad = int(math.ceil(3 * params.sigma_px)) + 2
    cols = np.asarray(columns, dtype=np.intp)
    row0 = max(0, int(math.floor(edges.min() - up_px)) - pad)
    row1 = min(height, int(math.ceil(edges.max() + down_px)) + pad + 1)
    col0 = max(0, int(cols.min()) - pad)
    col1 = min(image.shape[1], int(cols.max()) + pad + 1)
    if row1 - row0 < 3:
        return edges
    gradient = np.abs(
        vertical_gradient(image, params.sigma_px, slice(row0, row1), slice(col0, col1))
    )
    return _move_to_steps(edges, gradient, row0, cols - col0, (up_px, down_px), params.min_step)


def _move_to_steps(
    edges: np.ndarray,
    gradient: np.ndarray,
    row0: int,
    window_cols: np.ndarray,
    reach_px: tuple[float, float],
    min_step: float,
) -> np.ndarray:
    """``edges`` (N,) moved, per column, to the sub-pixel peak of |∂Y/∂y| within
    ``reach_px`` (up, down) of the edge, where the peak reaches ``min_step``.

    ``gradient`` is the (h, w) window of |∂Y/∂y| whose first row is crop row ``row0``;
    ``window_cols`` (N,) are the edges' columns in it. ``edges`` is updated in place.
    """
    up_px, down_px = reach_px
    row1 = row0 + gradient.shape[0]
    # Every column's search interval [low, high] at once (rows of the window).
    low = np.maximum(row0 + 1, np.floor(edges - up_px).astype(np.intp))
    high = np.minimum(row1 - 2, np.ceil(edges + down_px).astype(np.intp))
    searched = high - low >= 2
    if not searched.any():
        return edges
    span = int((high - low)[searched].max()) + 1
    rows = low[:, None] + np.arange(span)[None, :]
    inside = rows <= high[:, None]
    profiles = gradient[np.clip(rows - row0, 0, row1 - row0 - 1), window_cols[:, None]]
    profiles = np.where(inside, profiles, -np.inf).astype(np.float32)
    peak = np.argmax(profiles, axis=1)  # the first of equal maxima, as in one column
    size = high - low + 1
    at = profiles[np.arange(len(window_cols)), peak]
    found = searched & (at >= min_step) & (peak > 0) & (peak < size - 1)
    k = np.flatnonzero(found)
    before = profiles[k, peak[k] - 1]
    after = profiles[k, peak[k] + 1]
    curvature = before - np.float32(2.0) * at[k] + after
    with np.errstate(divide="ignore", invalid="ignore"):
        offset = np.where(curvature < 0, np.float32(0.5) * (before - after) / curvature, 0.0)
    # The gradient at row y is the step across that row: the edge lies on it.
    edges[k] = low[k] + peak[k] + np.clip(offset.astype(np.float32), -0.5, 0.5).astype(float)
    return edges
