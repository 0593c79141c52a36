"""Rasterise annotation shapes and paint them into one label map by class priority.

Coordinates are (x, y) in image pixels with the centre of pixel (i, j) at (i, j), as
OpenCV's ``findContours`` returns them and as LabelMe stores them. A pixel belongs to a
shape when its centre is inside or on the shape's edge, so a polygon through the centres of
a region's boundary pixels gives that region back exactly (the exporter relies on this).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ocularseg.core.labels import Label
from ocularseg.data.labelnames import PAINT_ORDER

#: Fixed-point bits for sub-pixel polygon vertices (OpenCV's ``shift``): 1/256 px.
_SHIFT_BITS = 8
#: Vertices farther than this from the origin (px) would overflow OpenCV's int32 fixed-point
#: coordinates (2^31 / 2^8 ≈ 8.4 M px): a vertex at 9 M px filled 3,195 px instead of ~129k.
#: Such polygons are first clipped to a box around the image (exact for the pixels inside).
_SAFE_COORD_PX = 1 << 20


def polygon_mask(points: np.ndarray, shape_hw: tuple[int, int]) -> np.ndarray:
    """Fill a polygon.

    Args:
        points: (N, 2) float vertices (x, y) in image px, N >= 3; may lie outside the image.
        shape_hw: (height, width) of the image in px.

    Returns:
        bool (H, W) mask, True inside or on the polygon's edges.
    """
    import cv2

    mask = np.zeros(shape_hw, np.uint8)
    points = np.asarray(points, np.float64)
    if np.abs(points).max(initial=0.0) > _SAFE_COORD_PX:
        height, width = shape_hw
        points = clip_polygon(points, (-2.0, -2.0, width + 1.0, height + 1.0))
        if len(points) < 3:
            return mask.astype(bool)
    fixed = np.round(points * (1 << _SHIFT_BITS)).astype(np.int32)
    cv2.fillPoly(mask, [fixed.reshape(-1, 1, 2)], 1, lineType=cv2.LINE_8, shift=_SHIFT_BITS)
    # fillPoly's edge rule can leave out pixels on steep edges; drawing the outline too
    # makes "on the edge" always inside, which is what a region's contour means.
    cv2.polylines(mask, [fixed.reshape(-1, 1, 2)], True, 1, lineType=cv2.LINE_8, shift=_SHIFT_BITS)
    return mask.astype(bool)


def clip_polygon(points: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Clip a polygon to an axis-aligned box (Sutherland–Hodgman, one half-plane at a time).

    Each half-plane cut replaces the part outside by a segment on the cutting line, and the
    removed loop lies entirely outside, so every point inside the box keeps its winding
    number: the fill inside the box is unchanged, also for concave and self-intersecting
    polygons. The box must hold the image with a margin, so the added segments draw no
    image pixel.

    Args:
        points: (N, 2) float vertices (x, y) in px.
        box: (x_min, y_min, x_max, y_max) in px.

    Returns:
        (M, 2) float vertices; M < 3 when nothing of the polygon is inside the box.
    """
    x_min, y_min, x_max, y_max = box
    cuts = (
        (0, x_min, True),
        (0, x_max, False),
        (1, y_min, True),
        (1, y_max, False),
    )
    current = [tuple(p) for p in np.asarray(points, np.float64)]
    for axis, limit, keep_above in cuts:
        if not current:
            break

        def inside(
            p: tuple[float, float],
            axis: int = axis,
            limit: float = limit,
            keep_above: bool = keep_above,
        ) -> bool:
            return p[axis] >= limit if keep_above else p[axis] <= limit

        clipped: list[tuple[float, float]] = []
        previous = current[-1]
        for point in current:
            if inside(point):
                if not inside(previous):
                    clipped.append(_crossing(previous, point, axis, limit))
                clipped.append(point)
            elif inside(previous):
                clipped.append(_crossing(previous, point, axis, limit))
            previous = point
        current = clipped
    return np.asarray(current, np.float64).reshape(-1, 2)


def _crossing(
    a: tuple[float, float], b: tuple[float, float], axis: int, limit: float
) -> tuple[float, float]:
    t = (limit - a[axis]) / (b[axis] - a[axis])
    other = 1 - axis
    point = [0.0, 0.0]
    point[axis] = limit
    point[other] = a[other] + t * (b[other] - a[other])
    return point[0], point[1]


def ellipse_mask(
    centre_xy: Sequence[float],
    semi_axes_px: Sequence[float],
    shape_hw: tuple[int, int],
) -> np.ndarray:
    """Fill an axis-aligned ellipse (a circle when both semi-axes are equal).

    Args:
        centre_xy: (cx, cy) in image px.
        semi_axes_px: (a, b) horizontal and vertical semi-axes in px, both > 0.
        shape_hw: (height, width) of the image in px.

    Returns:
        bool (H, W) mask, True where the pixel centre is inside or on the ellipse.
    """
    height, width = shape_hw
    cx, cy = float(centre_xy[0]), float(centre_xy[1])
    a, b = float(semi_axes_px[0]), float(semi_axes_px[1])
    mask = np.zeros(shape_hw, bool)
    x0, x1 = max(0, int(np.floor(cx - a))), min(width - 1, int(np.ceil(cx + a)))
    y0, y1 = max(0, int(np.floor(cy - b))), min(height - 1, int(np.ceil(cy + b)))
    if x0 > x1 or y0 > y1:
        return mask
    ys, xs = np.mgrid[y0 : y1 + 1, x0 : x1 + 1]
    # Small tolerance so pixels exactly on the rim count as inside despite rounding.
    inside = ((xs - cx) / a) ** 2 + ((ys - cy) / b) ** 2 <= 1.0 + 1e-9
    mask[y0 : y1 + 1, x0 : x1 + 1] = inside
    return mask


def rectangle_mask(
    corner_a: Sequence[float], corner_b: Sequence[float], shape_hw: tuple[int, int]
) -> np.ndarray:
    """Fill an axis-aligned rectangle given two opposite corners (x, y) in image px."""
    height, width = shape_hw
    xs = sorted((float(corner_a[0]), float(corner_b[0])))
    ys = sorted((float(corner_a[1]), float(corner_b[1])))
    x0, x1 = max(0, int(np.ceil(xs[0] - 0.5))), min(width - 1, int(np.floor(xs[1] + 0.5)))
    y0, y1 = max(0, int(np.ceil(ys[0] - 0.5))), min(height - 1, int(np.floor(ys[1] + 0.5)))
    mask = np.zeros(shape_hw, bool)
    if x0 <= x1 and y0 <= y1:
        mask[y0 : y1 + 1, x0 : x1 + 1] = True
    return mask


def paint_by_priority(
    shapes: Iterable[tuple[Label, np.ndarray]], shape_hw: tuple[int, int]
) -> np.ndarray:
    """Combine shape masks into one label map; overlaps go to the higher-priority class.

    Priority (``PAINT_ORDER``): background (carving) > pupil > iris > caruncle > sclera,
    independent of the order of ``shapes``.

    Args:
        shapes: (class, bool (H, W) mask) pairs.
        shape_hw: (height, width) of the label map in px.

    Returns:
        uint8 (H, W) label map with values in ``Label``.
    """
    union: dict[Label, np.ndarray] = {}
    for label, mask in shapes:
        if label in union:
            union[label] |= mask
        else:
            union[label] = mask.copy()
    out = np.zeros(shape_hw, np.uint8)
    for label in PAINT_ORDER:
        if label in union:
            out[union[label]] = int(label)
    return out
