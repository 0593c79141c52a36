"""The landmark prior as an input channel: where dlib's six eye points say the eye is.

A model trained with the prior takes a fourth input channel beside the normalised RGB crop:

    prior(x) = 1                                     inside the hexagon of the six points
             = exp(−d(x)² / (2 (σ·w)²))               outside, d = distance to the hexagon
    channel  = 2·prior − 1                           (so "no eye here" is −1, like dark)

with ``w`` the corner-to-corner distance of the six points (dlib 36 → 39 or 42 → 45) and
``σ = sigma_frac`` (crop px, pixel centres at integer coordinates). ``model.json`` records
``sigma_frac`` and ``template_points_crop_px``: the six points of an average eye in analyze's
crop, used when a crop comes without landmarks (a close-up eye photograph, an imported data
set). Training replaces the real points by the template for a share of the samples, so the
network works both ways.

Pure NumPy so every layer can build the channel the same way.
"""

from __future__ import annotations

import numpy as np

#: Default spread of the prior outside the hexagon, as a fraction of the eye width.
DEFAULT_SIGMA_FRAC = 0.08

#: An average eye's six dlib points in analyze's 480×320 crop, in image order: left corner,
#: two upper-lid points, right corner, two lower-lid points (dlib 36–41 for a right eye,
#: 42–47 for a left eye). The mean over the training split of the real set (docs/realset,
#: 933 eyes; spread 4–9 px): the crop centres the eye and makes it 1/1.8 of the crop wide.
TEMPLATE_POINTS_CROP_PX: tuple[tuple[float, float], ...] = (
    (106.9, 171.2),
    (191.3, 115.5),
    (288.4, 115.1),
    (373.5, 171.2),
    (288.3, 193.4),
    (191.6, 193.5),
)


def hexagon_distance(points: np.ndarray, shape_hw: tuple[int, int]) -> np.ndarray:
    """Float32 (H, W): distance (px) from each pixel centre to the polygon, 0 inside.

    Distances are computed in float32 on broadcast row and column coordinates (within
    1e-4 px of a float64 computation); inside is the even-odd rule in float64.
    """
    pts = np.asarray(points, dtype=np.float64)
    height, width = shape_hw
    xs = np.arange(width, dtype=np.float32)[None, :]
    ys = np.arange(height, dtype=np.float32)[:, None]
    ys64 = ys.astype(np.float64)
    best = np.full(shape_hw, np.inf, np.float32)
    inside = np.zeros(shape_hw, bool)
    for a, b in zip(pts, np.roll(pts, -1, axis=0), strict=True):
        ex, ey = float(b[0] - a[0]), float(b[1] - a[1])
        length2 = max(ex * ex + ey * ey, 1e-12)
        dx = xs - np.float32(a[0])  # (1, W)
        dy = ys - np.float32(a[1])  # (H, 1)
        t = dx * np.float32(ex / length2) + dy * np.float32(ey / length2)
        np.clip(t, 0, 1, out=t)
        off_x = dx - t * np.float32(ex)
        off_y = dy - t * np.float32(ey)
        off_x *= off_x
        off_y *= off_y
        off_x += off_y
        np.minimum(best, off_x, out=best)
        # Even-odd rule: a ray to the right crosses this edge.
        crosses = (a[1] > ys64) != (b[1] > ys64)  # (H, 1)
        x_cross = a[0] + (ys64 - a[1]) * ex / (ey if ey != 0 else 1e-12)
        inside ^= crosses & (xs < x_cross)
    distance = np.sqrt(best, out=best)
    distance[inside] = 0.0
    return distance


def eye_prior_map(
    points_crop: np.ndarray | None,
    shape_hw: tuple[int, int],
    sigma_frac: float = DEFAULT_SIGMA_FRAC,
    template: np.ndarray | None = None,
) -> np.ndarray:
    """Float32 (H, W) prior in [0, 1] from six eye points in crop px (template when None)."""
    points = np.asarray(
        TEMPLATE_POINTS_CROP_PX
        if points_crop is None and template is None
        else (template if points_crop is None else points_crop),
        dtype=np.float64,
    )
    if points.shape != (6, 2) or not np.all(np.isfinite(points)):
        raise ValueError(f"eye prior needs six finite (x, y) points, got shape {points.shape}")
    eye_width = max(float(np.hypot(*(points[3] - points[0]))), 1.0)
    distance = hexagon_distance(points, shape_hw)
    sigma = sigma_frac * eye_width
    return np.exp(-(distance**2) / (2 * sigma**2)).astype(np.float32)


def prior_channel(prior: np.ndarray) -> np.ndarray:
    """The network's fourth channel from a prior map: ``2·prior − 1`` (float32)."""
    return (2.0 * np.asarray(prior, np.float32) - 1.0).astype(np.float32)
