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
    """Float32 (H, W): distance (px) from each pixel centre to the polygon, 0 inside."""
    pts = np.asarray(points, dtype=np.float64)
    height, width = shape_hw
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    best = np.full(shape_hw, np.inf)
    inside = np.zeros(shape_hw, bool)
    for a, b in zip(pts, np.roll(pts, -1, axis=0), strict=True):
        edge = b - a
        length2 = max(float(edge @ edge), 1e-12)
        t = np.clip(((xs - a[0]) * edge[0] + (ys - a[1]) * edge[1]) / length2, 0, 1)
        best = np.minimum(best, np.hypot(xs - (a[0] + t * edge[0]), ys - (a[1] + t * edge[1])))
        # Even-odd rule: a ray to the right crosses this edge.
        crosses = (a[1] > ys) != (b[1] > ys)
        x_cross = a[0] + (ys - a[1]) * edge[0] / np.where(edge[1] == 0, 1e-12, edge[1])
        inside ^= crosses & (xs < x_cross)
    return np.where(inside, 0.0, best).astype(np.float32)


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
