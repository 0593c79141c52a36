"""Small frozen containers handed from one stage to the next.

Each validates its invariants on construction and raises :class:`ContainerError` (an
``OcularsegError``, not a ``ValueError``) rather than using ``assert``, so a broken hand-off
fails loudly at the stage that produced it. Arrays are not copied; treat them as read-only.

Conventions: images are RGB ``uint8`` arrays shaped (H, W, 3); points are (x, y) in pixels
with y growing downward; "frame px" are pixels of the source frame, "crop px" pixels of the
480×320 eye crop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ocularseg.core.errors import OcularsegError
from ocularseg.core.labels import NUM_CLASSES

#: Size of every eye crop the model sees, in crop px (width, height = 3:2).
CROP_WIDTH_PX: int = 480
CROP_HEIGHT_PX: int = 320

#: The patient's anatomical side (OD = right, OS = left), never the side of the image.
Side = Literal["right", "left"]
SIDES: tuple[str, str] = ("right", "left")


class ContainerError(OcularsegError):
    """A container was built with values that break its invariants (a programming error)."""


def _check_rgb(image: np.ndarray, what: str) -> None:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", None)
        raise ContainerError(f"{what} must be an (H, W, 3) RGB array, got shape {shape}")
    if image.dtype != np.uint8:
        raise ContainerError(f"{what} must be uint8, got {image.dtype}")


def _check_side(side: str) -> None:
    if side not in SIDES:
        raise ContainerError(f"side must be 'right' or 'left' (patient's side), got {side!r}")


@dataclass(frozen=True)
class Frame:
    """One decoded frame (or still image).

    Attributes:
        source: path of the input file the frame came from.
        index: frame number in the video (0 for a still image).
        timestamp_s: presentation time in seconds (0.0 for a still image).
        image: RGB uint8 array (H, W, 3) in frame px.
    """

    source: str
    index: int
    timestamp_s: float
    image: np.ndarray

    def __post_init__(self) -> None:
        _check_rgb(self.image, f"frame {self.index} of {self.source}")
        if self.index < 0:
            raise ContainerError(f"frame index must be >= 0, got {self.index}")
        if not np.isfinite(self.timestamp_s) or self.timestamp_s < 0:
            raise ContainerError(
                f"frame timestamp must be finite and >= 0 s, got {self.timestamp_s}"
            )

    @property
    def size_px(self) -> tuple[int, int]:
        """(width, height) in frame px."""
        return int(self.image.shape[1]), int(self.image.shape[0])


@dataclass(frozen=True)
class FaceLandmarks:
    """The 68 dlib landmarks of one face.

    Attributes:
        points_px: float array (68, 2) of (x, y) in frame px. Points 36–41 outline the
            patient's right eye, 42–47 the patient's left eye (iBUG 300-W order).
        box_px: detector box (left, top, right, bottom) in frame px.
        detector_score: HOG detector score of the chosen face (higher = more confident).
        faces_found: how many faces the frame shows: the chosen one and the detections
            comparable to it (``stages.face.FaceParams``; faint boxes do not count).
        other_boxes_px: boxes (left, top, right, bottom; frame px) of those other faces,
            when the detector recorded them.
    """

    points_px: np.ndarray
    box_px: tuple[float, float, float, float]
    detector_score: float
    faces_found: int = 1
    other_boxes_px: tuple[tuple[float, float, float, float], ...] = ()

    def __post_init__(self) -> None:
        pts = self.points_px
        if not isinstance(pts, np.ndarray) or pts.shape != (68, 2):
            raise ContainerError(
                f"landmarks must be a (68, 2) array, got {getattr(pts, 'shape', None)}"
            )
        if not np.all(np.isfinite(pts)):
            raise ContainerError("landmarks contain non-finite values")
        if self.faces_found < 1:
            raise ContainerError(f"faces_found must be >= 1, got {self.faces_found}")

    def eye_points_px(self, side: Side) -> np.ndarray:
        """The six eye-contour points (6, 2) in frame px for the patient's ``side``."""
        _check_side(side)
        start = 36 if side == "right" else 42
        return self.points_px[start : start + 6]


@dataclass(frozen=True)
class EyeCrop:
    """One eye resampled to exactly 480×320 crop px.

    Attributes:
        side: the patient's side.
        image: RGB uint8 (320, 480, 3).
        crop_from_frame: (2, 3) affine mapping frame px -> crop px.
        frame_size_px: (width, height) of the source frame.
        scale_crop_per_frame: crop px per frame px (isotropic; divide crop areas by its
            square to get frame-px areas).
        flags: quality flags such as ``"at_border"`` or ``"too_small"``.
    """

    side: Side
    image: np.ndarray
    crop_from_frame: np.ndarray
    frame_size_px: tuple[int, int]
    scale_crop_per_frame: float
    flags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_side(self.side)
        _check_rgb(self.image, f"{self.side} eye crop")
        if self.image.shape[:2] != (CROP_HEIGHT_PX, CROP_WIDTH_PX):
            h, w = self.image.shape[:2]
            raise ContainerError(
                f"eye crop must be {CROP_WIDTH_PX}×{CROP_HEIGHT_PX} px, got {w}×{h} px"
            )
        if np.asarray(self.crop_from_frame).shape != (2, 3):
            raise ContainerError("crop_from_frame must be a (2, 3) affine matrix")
        if not (np.isfinite(self.scale_crop_per_frame) and self.scale_crop_per_frame > 0):
            raise ContainerError(f"scale must be > 0, got {self.scale_crop_per_frame}")

    @property
    def frame_from_crop(self) -> np.ndarray:
        """(2, 3) affine mapping crop px -> frame px (inverse of ``crop_from_frame``)."""
        full = np.vstack([np.asarray(self.crop_from_frame, dtype=np.float64), [0.0, 0.0, 1.0]])
        return np.linalg.inv(full)[:2]


@dataclass(frozen=True)
class SegmentationResult:
    """The model's output for one eye crop.

    Attributes:
        labels: uint8 (320, 480) label map with values in ``Label``.
        cleaned: True if the anatomical clean-up was applied to ``labels``.
        amodal_disc: bool (320, 480) the whole iris disc, including what the lids cover,
            from models with an amodal-disc output (model.json ``output``); else None.
    """

    labels: np.ndarray
    cleaned: bool = False
    amodal_disc: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.labels.shape != (CROP_HEIGHT_PX, CROP_WIDTH_PX):
            raise ContainerError(f"label map must be (320, 480), got {self.labels.shape}")
        if self.labels.size and int(self.labels.max()) >= NUM_CLASSES:
            raise ContainerError(f"label map holds unknown value {int(self.labels.max())}")
        if self.amodal_disc is not None and (
            self.amodal_disc.shape != self.labels.shape or self.amodal_disc.dtype != np.bool_
        ):
            raise ContainerError("amodal disc must be a bool map of the label map's shape")


@dataclass(frozen=True)
class EyeMeasurement:
    """Per-eye measurements of one analysed crop (definitions: ``docs/measurements.md``).

    ``values`` maps a column name with its unit (``mrd1_px``, ``mrd1_mm``,
    ``iris_opening_ratio`` …) to a float (NaN when undefined, e.g. iris not found).
    ``flags`` lists the measurement flags raised (``core.records.Flag`` values such as
    ``eye_closed``, ``iris_not_found`` or ``iris_from_visible_limbus``), in order.
    """

    side: Side
    values: dict[str, float]
    flags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_side(self.side)
