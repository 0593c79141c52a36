"""The whole iris circle from the network's amodal disc (the iris including what the lids cover).

Pure NumPy/SciPy, crop px (pixel ``mask[i, j]`` is the unit square centred on
``(x, y) = (j, i)``). A model with an amodal-disc output (model.json ``output``) marks every
pixel of the whole iris disc, also under the lids; its border is a full circle, so the
circle is fitted to all of it — no arc of the limbus needs to be visible, and a lid over
the top third no longer pulls the centre down as a fit to the visible limbus alone does.

Boundary points are the midpoints of the pixel edges between the disc (its largest
8-connected component, holes filled) and a 4-neighbour outside it, as ``iris_circle`` does
for the limbus; edges on the crop's border are not boundary points (the disc is cut there,
not ended). The points are fitted with ``iris_circle.fit_circle_robust`` and its checks
(``IrisFitParams``): too few points, a poor fit (not a circle) or a radius out of range
give no circle, and the caller falls back to the visible limbus.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from ocularseg.core.errors import InputError
from ocularseg.stages.iris_circle import IrisCircle, IrisFit, IrisFitParams, fit_circle_robust

_EIGHT = np.ones((3, 3), dtype=bool)


def disc_boundary_points(disc: np.ndarray) -> np.ndarray:
    """(N, 2) boundary points (x, y) of the largest component of a bool (H, W) disc mask."""
    if not isinstance(disc, np.ndarray) or disc.ndim != 2 or disc.dtype != np.bool_:
        raise InputError(
            f"amodal disc must be a 2-D bool mask, got {getattr(disc, 'shape', None)} "
            f"{getattr(disc, 'dtype', None)}"
        )
    components, count = ndimage.label(disc, structure=_EIGHT)
    if count == 0:
        return np.empty((0, 2))
    if count > 1:
        sizes = np.bincount(components.ravel())
        sizes[0] = 0
        disc = components == int(np.argmax(sizes))
    disc = ndimage.binary_fill_holes(disc)
    horiz = disc[:, :-1] != disc[:, 1:]
    rows_h, cols_h = np.nonzero(horiz)
    vert = disc[:-1, :] != disc[1:, :]
    rows_v, cols_v = np.nonzero(vert)
    x = np.concatenate([cols_h + 0.5, cols_v.astype(np.float64)])
    y = np.concatenate([rows_h.astype(np.float64), rows_v + 0.5])
    return np.column_stack([x, y])


def fit_amodal_circle(disc: np.ndarray, params: IrisFitParams | None = None) -> IrisFit:
    """The whole iris circle (crop px) from an amodal disc mask, or why there is none.

    Args:
        disc: bool (H, W) amodal iris disc (``SegmentationResult.amodal_disc``).
        params: fit thresholds (``IrisFitParams``); the arc-span check is always met by a
            whole disc.

    Returns:
        ``IrisFit``: ``no_iris`` when the disc is smaller than a circle of
        ``min_radius_px``; else ``iris_circle.fit_circle_robust`` on its boundary.

    Raises:
        InputError: ``disc`` is not a 2-D bool mask.
    """
    params = params or IrisFitParams()
    points = disc_boundary_points(disc)
    if int(disc.sum()) < math.pi * params.min_radius_px**2 or len(points) == 0:
        return IrisFit(None, "no_iris")
    return fit_circle_robust(points, params)


def circle_offset_r(a: IrisCircle, b: IrisCircle) -> float:
    """Distance between two circles' centres in radii of ``a``."""
    return math.hypot(a.cx_px - b.cx_px, a.cy_px - b.cy_px) / a.radius_px
