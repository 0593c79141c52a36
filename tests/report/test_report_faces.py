"""The faces thumbnail: the measured face boxed green, the other faces outlined vermillion."""

from __future__ import annotations

import numpy as np

from ocularseg.core.containers import FaceLandmarks
from ocularseg.report.faces import MEASURED_RGB, OTHER_RGB, THUMBNAIL_WIDTH_PX, faces_thumbnail


def test_thumbnail_boxes_the_measured_face_and_outlines_the_other() -> None:
    image = np.full((540, 960, 3), 128, np.uint8)
    face = FaceLandmarks(
        np.full((68, 2), 200.0),
        (100.0, 100.0, 400.0, 400.0),
        1.2,
        faces_found=2,
        other_boxes_px=((560.0, 100.0, 860.0, 400.0),),
    )
    thumb = faces_thumbnail(image, face)
    assert thumb.shape == (270, THUMBNAIL_WIDTH_PX, 3)
    assert (image == 128).all()  # the frame is not drawn on
    # Box edges at half scale: the measured face's left edge at x = 50, the other's at 280.
    assert tuple(thumb[120, 50]) == MEASURED_RGB
    assert tuple(thumb[120, 280]) == OTHER_RGB
    assert tuple(thumb[120, 165]) == (128, 128, 128)  # inside: the picture itself
