"""Analytic synthetic eye label maps for the stage tests, drawn with NumPy (no fixtures)."""

from __future__ import annotations

import numpy as np

from ocularseg.core.labels import Label

Circle = tuple[float, float, float]

#: Default eye opening ellipse (cx, cy, semi-axis x, semi-axis y) in crop px; its top and
#: bottom at x = 240 (y = 69.95 and 250.55) fall between pixel centres, so no margin is
#: ambiguous.
OPENING: tuple[float, float, float, float] = (240.0, 160.25, 200.0, 90.3)


def draw_eye(
    *,
    size_px: tuple[int, int] = (480, 320),
    opening: tuple[float, float, float, float] | None = OPENING,
    iris: Circle | None = (240.0, 160.0, 60.0),
    pupil_radius_px: float | None = 20.0,
    upper_lid_y_px: float | None = None,
    caruncle: Circle | None = None,
) -> np.ndarray:
    """A (H, W) uint8 label map: a pixel takes a shape's label when its centre is inside.

    Args:
        size_px: (width, height) in crop px.
        opening: ellipse (cx, cy, semi-axis x, semi-axis y) of the eye opening (sclera).
        iris: (cx, cy, r) of the iris disc; the pupil shares its centre.
        pupil_radius_px: pupil radius, or None for no pupil.
        upper_lid_y_px: a straight upper lid: pixel centres above this y are background.
        caruncle: (cx, cy, r) disc of caruncle (inside the opening, outside the iris).
    """
    width, height = size_px
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    labels = np.zeros((height, width), dtype=np.uint8)
    if opening is None:
        return labels
    ecx, ecy, ax, ay = opening
    inside = ((xx - ecx) / ax) ** 2 + ((yy - ecy) / ay) ** 2 < 1.0
    if upper_lid_y_px is not None:
        inside &= yy > upper_lid_y_px
    labels[inside] = Label.SCLERA
    if caruncle is not None:
        ccx, ccy, cr = caruncle
        labels[inside & ((xx - ccx) ** 2 + (yy - ccy) ** 2 < cr**2)] = Label.CARUNCLE
    if iris is not None:
        icx, icy, ir = iris
        dist2 = (xx - icx) ** 2 + (yy - icy) ** 2
        labels[inside & (dist2 < ir**2)] = Label.IRIS
        if pupil_radius_px is not None:
            labels[inside & (dist2 < pupil_radius_px**2)] = Label.PUPIL
    return labels
