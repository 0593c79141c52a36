"""Crop stage: one 480×320 ``EyeCrop`` per eye from the 68 landmarks.

The box is 3:2, centred on the eye's six landmarks, its width a multiple of the
eye-corner distance, rotated so the eye-corner line is horizontal (roll correction). The
affine back to the frame is kept so every crop-px measurement can be mapped to frame px.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ocularseg.core.containers import CROP_HEIGHT_PX, CROP_WIDTH_PX, EyeCrop, FaceLandmarks, Side
from ocularseg.core.records import Flag

#: dlib indices of (image-left, image-right) corners per patient side.
_CORNERS: dict[str, tuple[int, int]] = {"right": (36, 39), "left": (42, 45)}


class CropParams(BaseModel):
    """Eye-crop geometry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    width_per_corner_distance: float = Field(
        1.8,
        ge=1.1,
        le=4.0,
        description="crop width / eye-corner distance; 1.8 keeps the whole opening, the "
        "caruncle and some lid with margin",
    )
    min_crop_width_frame_px: float = Field(
        60.0, gt=0, description="crops narrower than this in frame px are flagged 'too_small'"
    )


def crop_geometry(
    face: FaceLandmarks, side: Side, params: CropParams | None = None
) -> tuple[np.ndarray, float, float]:
    """The crop's affine and size for one eye.

    Returns:
        (crop_from_frame (2, 3), scale in crop px per frame px, box width in frame px).
    """
    p = params or CropParams()
    pts = face.points_px
    first, second = _CORNERS[side]
    a, b = pts[first], pts[second]
    corner_distance = float(np.hypot(*(b - a)))
    centre = face.eye_points_px(side).mean(axis=0)
    roll = math.atan2(b[1] - a[1], b[0] - a[0])
    box_width = max(corner_distance * p.width_per_corner_distance, 1e-6)
    scale = CROP_WIDTH_PX / box_width
    cos, sin = math.cos(roll), math.sin(roll)
    # crop = scale · R(−roll) · (p − centre) + crop centre
    rotation = scale * np.array([[cos, sin], [-sin, cos]])
    offset = np.array([CROP_WIDTH_PX / 2, CROP_HEIGHT_PX / 2]) - rotation @ centre
    return np.hstack([rotation, offset[:, None]]), scale, box_width


def crop_eye(
    image: np.ndarray, face: FaceLandmarks, side: Side, params: CropParams | None = None
) -> EyeCrop:
    """Resample one eye of an RGB uint8 frame (H, W, 3) into a 480×320 ``EyeCrop``.

    Pixels outside the frame are filled by replicating the border and the crop is flagged
    ``at_border``; a box narrower than ``min_crop_width_frame_px`` is flagged ``too_small``.
    """
    import cv2

    p = params or CropParams()
    matrix, scale, box_width = crop_geometry(face, side, p)
    height, width = image.shape[:2]
    crop = cv2.warpAffine(
        image,
        matrix,
        (CROP_WIDTH_PX, CROP_HEIGHT_PX),
        flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    flags: list[str] = []
    corners_crop = np.array(
        [[0, 0], [CROP_WIDTH_PX, 0], [0, CROP_HEIGHT_PX], [CROP_WIDTH_PX, CROP_HEIGHT_PX]], float
    )
    inverse = np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))[:2]
    corners_frame = corners_crop @ inverse[:, :2].T + inverse[:, 2]
    if (
        (corners_frame.min(axis=0) < 0).any()
        or (corners_frame[:, 0] > width).any()
        or (corners_frame[:, 1] > height).any()
    ):
        flags.append(Flag.AT_BORDER)
    if box_width < p.min_crop_width_frame_px:
        flags.append(Flag.TOO_SMALL)
    return EyeCrop(
        side=side,
        image=crop,
        crop_from_frame=matrix,
        frame_size_px=(width, height),
        scale_crop_per_frame=scale,
        flags=tuple(flags),
    )
