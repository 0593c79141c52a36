"""The faces thumbnail (``inputs/<name>/faces.png``): which face of a frame was measured.

Written when an input shows more than one face (``stages.face`` counts only faces
comparable to the chosen one): the first such frame, shrunk to :data:`THUMBNAIL_WIDTH_PX`,
with the measured face boxed thick in :data:`MEASURED_RGB` and every other face outlined
thin in :data:`OTHER_RGB`. The one-page report shows it beside its text, so a reader can
see that the patient, not a person behind them, was measured.
"""

from __future__ import annotations

import numpy as np

from ocularseg.core.containers import FaceLandmarks

FACES_PNG = "faces.png"
THUMBNAIL_WIDTH_PX = 480
#: Okabe-Ito bluish green (the measured face) and vermillion (the others).
MEASURED_RGB = (0, 158, 115)
OTHER_RGB = (213, 94, 0)


def faces_thumbnail(image: np.ndarray, face: FaceLandmarks) -> np.ndarray:
    """``image`` (RGB uint8, H × W × 3, frame px) shrunk to ``THUMBNAIL_WIDTH_PX`` wide (or
    left as it is when narrower), the measured face boxed and the others outlined.

    Returns:
        A new RGB uint8 image; ``image`` is not changed.
    """
    import cv2

    height, width = image.shape[:2]
    scale = min(1.0, THUMBNAIL_WIDTH_PX / width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    out = cv2.resize(image, size, interpolation=cv2.INTER_AREA) if scale < 1 else image.copy()
    thick = max(2, round(size[0] / 120))
    for box in face.other_boxes_px:
        _box(out, box, scale, OTHER_RGB, max(1, thick // 2))
    _box(out, face.box_px, scale, MEASURED_RGB, thick)
    return out


def _box(
    out: np.ndarray,
    box: tuple[float, float, float, float],
    scale: float,
    colour: tuple[int, int, int],
    thickness: int,
) -> None:
    import cv2

    left, top, right, bottom = (round(v * scale) for v in box)
    cv2.rectangle(out, (left, top), (right, bottom), colour, thickness)
