"""Landmark prior as a gate: the eye opening cannot lie far outside dlib's six eye points.

The crop is cut around dlib's six points of the eye (36–41 or 42–47), so they are known in
crop px. A segmentation that puts "sclera" on the brow or the cheek — the failure seen on
real faces — puts it far from that hexagon. The gate sets every opening pixel farther than
``margin_frac`` × the eye width (corner-to-corner distance) from the hexagon to background
and records how many it removed, so the overlay and the report can say so.

The margin was chosen on the real development set (``docs/realset/README.md``): the
teacher's eye opening lies within it for nearly every eye, while brow and cheek lie beyond.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ocularseg.core.labels import Label


class LandmarkGateParams(BaseModel):
    """Settings of the landmark gate (frozen; unknown keys are an error)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(True, description="remove opening pixels far from dlib's eye points")
    margin_frac: float = Field(
        0.2,
        ge=0,
        le=2,
        description="allowed distance outside the six-point hexagon, as a fraction of the "
        "eye's corner-to-corner width",
    )


def eye_points_in_crop(points_frame: np.ndarray, crop_from_frame: np.ndarray) -> np.ndarray:
    """(6, 2) eye points in frame px → crop px through the crop's (2, 3) affine."""
    affine = np.asarray(crop_from_frame, dtype=np.float64)
    return np.asarray(points_frame, dtype=np.float64) @ affine[:, :2].T + affine[:, 2]


def allowed_region(
    points_crop: np.ndarray, shape_hw: tuple[int, int], margin_frac: float
) -> np.ndarray:
    """Bool (H, W): pixels within ``margin_frac`` × eye width of the six-point hexagon."""
    import cv2

    points = np.asarray(points_crop, dtype=np.float64)
    width = float(np.hypot(*(points[3] - points[0])))
    hexagon = np.zeros(shape_hw, np.uint8)
    cv2.fillPoly(
        hexagon,
        [np.round(points * 16).astype(np.int32).reshape(-1, 1, 2)],
        1,
        lineType=cv2.LINE_8,
        shift=4,
    )
    outside_distance = cv2.distanceTransform((1 - hexagon).astype(np.uint8), cv2.DIST_L2, 5)
    return outside_distance <= margin_frac * width


def apply_landmark_gate(
    labels: np.ndarray, points_crop: np.ndarray, params: LandmarkGateParams | None = None
) -> tuple[np.ndarray, int]:
    """Labels with far-away opening pixels set to background, and how many were removed.

    Args:
        labels: (H, W) uint8 label map in crop px.
        points_crop: (6, 2) dlib eye points in crop px.
        params: gate settings (disabled = the labels unchanged).

    Returns:
        (labels, removed_px): a new array when anything changed.
    """
    p = params or LandmarkGateParams()
    if not p.enabled:
        return labels, 0
    far = (labels != Label.BACKGROUND) & ~allowed_region(points_crop, labels.shape, p.margin_frac)
    removed = int(far.sum())
    if not removed:
        return labels, 0
    out = labels.copy()
    out[far] = Label.BACKGROUND
    return out, removed
