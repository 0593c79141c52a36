"""A real face for phantom videos: scikit-image's astronaut photograph with dlib landmarks.

The photograph (Eileen Collins, NASA, public domain) ships with scikit-image, so tests and
sample data need no download. The face in it is small (about 90 px wide), so the video's
base frame is a square cut around the face, enlarged so the eyes are large enough for the
eye-crop stage (an eye about 45 frame px wide at the default size).

Coordinates: "source px" are pixels of the 512×512 photograph, "frame px" pixels of the
base frame (before per-frame head motion). dlib, OpenCV and scikit-image are imported
inside the functions that need them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from ocularseg.core.containers import FaceLandmarks, Side
from ocularseg.core.errors import ConfigError, DetectionError

log = logging.getLogger(__name__)

#: Where the source photograph comes from, written into every ground-truth file.
ASTRONAUT_ATTRIBUTION: dict[str, str] = {
    "image": "skimage.data.astronaut()",
    "subject": "Eileen Collins, NASA astronaut",
    "author": "NASA",
    "licence": "public domain (work of the U.S. federal government)",
    "url": "https://commons.wikimedia.org/wiki/File:Eileen_Collins.jpg",
}

#: Side of the square cut from the photograph around the face, as a multiple of the
#: detector's face-box width. 2.0 keeps the hair, ears and chin in view, so head motion
#: never shows the frame's edge and the detector still sees a whole face.
_CUT_PER_FACE_BOX = 2.0

#: dlib indices of the eye corners: (lateral, medial) per patient side. Points 36–41 are
#: the patient's right eye (image left), 42–47 the patient's left eye (image right).
CANTHUS_INDICES: dict[str, tuple[int, int]] = {"right": (36, 39), "left": (45, 42)}


@dataclass(frozen=True)
class PhantomFace:
    """The base frame of a phantom video and where its eyes are.

    Attributes:
        source_rgb: the 512×512 photograph, RGB uint8 (512, 512, 3), source px.
        frame_from_source: (2, 3) similarity mapping source px -> base-frame px.
        frame_size_px: (width, height) of the base frame in frame px.
        landmarks: the 68 dlib landmarks detected on the base frame (frame px).
        attribution: where the photograph comes from (for the ground-truth file).
    """

    source_rgb: np.ndarray
    frame_from_source: np.ndarray
    frame_size_px: tuple[int, int]
    landmarks: FaceLandmarks
    attribution: dict[str, str]

    def canthi_px(self, side: Side) -> tuple[np.ndarray, np.ndarray]:
        """(lateral, medial) eye corners of the patient's ``side``, each (2,) in base-frame px."""
        lateral, medial = CANTHUS_INDICES[side]
        pts = self.landmarks.points_px
        return pts[lateral].copy(), pts[medial].copy()

    def base_frame(self) -> np.ndarray:
        """The base frame itself, RGB uint8 (H, W, 3) in frame px (no head motion)."""
        return warp_source(self.source_rgb, self.frame_from_source, self.frame_size_px)


def warp_source(
    source_rgb: np.ndarray, frame_from_source: np.ndarray, frame_size_px: tuple[int, int]
) -> np.ndarray:
    """Resample the photograph into a frame with one affine (bicubic, mirrored border).

    Args:
        source_rgb: RGB uint8 (H, W, 3) in source px.
        frame_from_source: (2, 3) affine source px -> frame px.
        frame_size_px: (width, height) of the output in frame px.

    Returns:
        RGB uint8 (height, width, 3).
    """
    import cv2

    return cv2.warpAffine(
        source_rgb,
        np.asarray(frame_from_source, dtype=np.float64),
        (int(frame_size_px[0]), int(frame_size_px[1])),
        flags=cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_REFLECT101,
    )


def detect_face_landmarks(image_rgb: np.ndarray, *, upsample: int = 1) -> FaceLandmarks:
    """The 68 landmarks of the face in ``image_rgb`` (RGB uint8 (H, W, 3)), in frame px.

    Uses the analysis pipeline's own face stage (so phantom videos are checked with exactly
    the detector that will analyse them); ``upsample`` is the most detector upsampling tried.

    Raises:
        DetectionError: no face found.
    """
    return _face_detector(upsample).detect(np.ascontiguousarray(image_rgb))


_DETECTORS: dict[int, Any] = {}


def _face_detector(upsample: int) -> Any:
    # Loading the 100 MB predictor takes about a second; a video needs it a few times.
    if upsample not in _DETECTORS:
        from ocularseg.stages.face import FaceDetector, FaceParams

        _DETECTORS[upsample] = FaceDetector(FaceParams(max_upsample=upsample))
    return _DETECTORS[upsample]


def astronaut_face(frame_size_px: tuple[int, int] = (480, 480)) -> PhantomFace:
    """Build the base frame from scikit-image's astronaut photograph and find its landmarks.

    The face box found in the photograph is centred in the frame and enlarged so that a
    square of ``_CUT_PER_FACE_BOX`` face widths fills the frame's shorter side. The
    landmarks are then detected again on the enlarged frame, so they are the ones dlib
    itself reports at the frame's resolution (the phantom eyes are placed on them).

    Args:
        frame_size_px: (width, height) of the video frame, each 128–2048 frame px.

    Returns:
        The base frame description with landmarks in frame px.

    Raises:
        ConfigError: the frame size is out of range.
        DetectionError: dlib does not find the face (should not happen).
    """
    import skimage.data

    width, height = (int(v) for v in frame_size_px)
    if not (128 <= width <= 2048 and 128 <= height <= 2048):
        raise ConfigError(f"frame size {width}×{height} px is outside 128–2048 px per side")
    source = np.ascontiguousarray(skimage.data.astronaut()[..., :3])
    found = detect_face_landmarks(source)
    left, top, right, bottom = found.box_px
    centre = np.array([(left + right) / 2.0, (top + bottom) / 2.0])
    zoom = min(width, height) / (_CUT_PER_FACE_BOX * (right - left))
    frame_from_source = np.array(
        [
            [zoom, 0.0, width / 2.0 - zoom * centre[0]],
            [0.0, zoom, height / 2.0 - zoom * centre[1]],
        ]
    )
    base = warp_source(source, frame_from_source, (width, height))
    # upsample=0 is enough for the enlarged face and much faster.
    landmarks = detect_face_landmarks(base, upsample=0)
    log.debug(
        "astronaut face: zoom %.2f frame px per source px, detector score %.2f",
        zoom,
        landmarks.detector_score,
    )
    return PhantomFace(
        source_rgb=source,
        frame_from_source=frame_from_source,
        frame_size_px=(width, height),
        landmarks=landmarks,
        attribution=dict(ASTRONAUT_ATTRIBUTION),
    )


def local_skin_rgb(image_rgb: np.ndarray, face: FaceLandmarks, side: Side) -> tuple[int, int, int]:
    """Median skin colour of the cheek just below one eye.

    The band sits between 0.3 and 0.8 eye widths below the eye's lower landmarks, which is
    bare skin on a frontal face (no lashes, brow or hair) and lit like the lids.

    Args:
        image_rgb: RGB uint8 (H, W, 3), frame px.
        face: landmarks of the face in the same frame.
        side: the patient's side.

    Returns:
        (r, g, b) ints in 0–255.
    """
    eye = face.eye_points_px(side)
    x0, x1 = float(eye[:, 0].min()), float(eye[:, 0].max())
    width = max(x1 - x0, 1.0)
    y_low = float(eye[:, 1].max())
    h, w = image_rgb.shape[:2]
    rows = slice(
        int(np.clip(y_low + 0.3 * width, 0, h - 1)), int(np.clip(y_low + 0.8 * width, 1, h))
    )
    cols = slice(int(np.clip(x0 + 0.1 * width, 0, w - 1)), int(np.clip(x1 - 0.1 * width, 1, w)))
    patch = image_rgb[rows, cols].reshape(-1, 3)
    if patch.size == 0:
        raise DetectionError(f"no skin below the {side} eye inside the frame")
    r, g, b = (int(round(v)) for v in np.median(patch, axis=0))
    return r, g, b
