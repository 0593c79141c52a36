"""Face stage: dlib's HOG face detector and 68-point landmark predictor.

Both models are loaded once per run (:class:`FaceDetector`), never per image. With several
faces in a frame the highest-scoring detection is taken (the most face-like: in a clinic
recording the patient faces the camera, and a small, low-scoring box in a poster or on a
screen behind the patient is not chosen just because it exists) and the count is recorded
so the report can warn. Only a face comparable to the chosen one counts as a second face
(:attr:`FaceParams.second_face_min_score_ratio`, :attr:`FaceParams.second_face_min_width_ratio`):
dlib also returns faint, small boxes in hair or texture next to a real face, and a warning
about them would teach the reader to ignore the warning. Small faces are retried with the
image upsampled.

Within a video the detector can be told the previous frame's face width
(``face_width_hint_px``): it then searches the whole frame shrunk by the whole factor that
leaves that face at least ``track_face_px`` wide (the HOG window is 80 px), several times
faster than the default scale on a close-up, and falls back to the default search when no
face is found there. The
landmarks are always fitted at full resolution.

Landmarks follow iBUG 300-W: points 36–41 outline the patient's right eye (image left in a
frontal view), 42–47 the patient's left eye.
"""

from __future__ import annotations

import logging
import math

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ocularseg.core.containers import FaceLandmarks
from ocularseg.core.errors import DetectionError, InputError
from ocularseg.io.landmark_model import landmark_model_path

log = logging.getLogger(__name__)


class FaceParams(BaseModel):
    """Detector settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_upsample: int = Field(
        1, ge=0, le=3, description="retry with the image upsampled up to this many times (×2 each)"
    )
    min_score: float = Field(0.0, description="HOG detector score threshold")
    max_detect_side_px: int = Field(
        1280,
        ge=160,
        description="frames larger than this (longest side, frame px) are shrunk for detection "
        "only; landmarks are still fitted at full resolution",
    )
    track_face_px: int = Field(
        200,
        ge=0,
        description="with the previous frame's face width known, detect on the frame shrunk "
        "until that face is this wide (detection px; 0 = always the default scale)",
    )
    second_face_min_score_ratio: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="another detection counts as a second face only when its HOG score is at "
        "least this fraction of the chosen face's score",
    )
    second_face_min_width_ratio: float = Field(
        0.33,
        ge=0.0,
        le=1.0,
        description="... and its box is at least this fraction of the chosen face's width "
        "(a second person a little further from the camera still counts)",
    )

    def counts_as_second_face(
        self, score: float, width_px: float, best_score: float, best_width_px: float
    ) -> bool:
        """Whether a detection beside the chosen face is a face worth a warning.

        Args:
            score, width_px: the other detection's HOG score and box width (any px unit).
            best_score, best_width_px: the chosen face's score and width (same unit).
        """
        score_floor = self.second_face_min_score_ratio * max(best_score, 0.0)
        return score >= score_floor and width_px >= self.second_face_min_width_ratio * best_width_px


class FaceDetector:
    """Finds the patient's face and its 68 landmarks. Build once; call :meth:`detect` per frame."""

    def __init__(self, params: FaceParams | None = None) -> None:
        import dlib

        self.params = params or FaceParams()
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(str(landmark_model_path()))
        self._dlib = dlib

    def detect(
        self, image: np.ndarray, *, face_width_hint_px: float | None = None
    ) -> FaceLandmarks:
        """Landmarks of the highest-scoring face in an RGB uint8 (H, W, 3) image, in frame px.

        Args:
            image: the frame.
            face_width_hint_px: width of the face found in the previous frame of the same
                video (frame px), or None: a first frame or a still image.

        Raises:
            InputError: the image is not RGB uint8.
            DetectionError: no face is found even after upsampling.
        """
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise InputError(
                f"face detection needs RGB uint8 (H, W, 3), got {image.dtype} {image.shape}"
            )
        height, width = image.shape[:2]
        # Detection on 4K frames is slow and gains nothing: shrink for the detector only.
        shrink = min(1.0, self.params.max_detect_side_px / max(height, width))
        boxes: list = []
        scores: list = []
        if face_width_hint_px and self.params.track_face_px:
            # An integer factor: OpenCV's area resampling is several times faster then.
            tracked = 1.0 / max(1, math.floor(face_width_hint_px / self.params.track_face_px))
            if tracked < shrink:
                boxes, scores = self._run(image, tracked, 0)
                shrink = tracked if boxes else shrink
        for upsample in range(self.params.max_upsample + 1):
            if boxes:
                break
            boxes, scores = self._run(image, shrink, upsample)
        if not boxes:
            raise DetectionError(
                f"no face found in the {width}×{height} px frame (tried upsampling "
                f"{self.params.max_upsample}×)"
            )
        # Highest HOG score; equal scores (rare) go to the larger box.
        best = max(range(len(boxes)), key=lambda i: (scores[i], boxes[i].area()))
        box = boxes[best]
        left, top = box.left() / shrink, box.top() / shrink
        right, bottom = box.right() / shrink, box.bottom() / shrink
        rect = self._dlib.rectangle(round(left), round(top), round(right), round(bottom))
        shape = self._predictor(np.ascontiguousarray(image), rect)
        points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
        others = tuple(
            (b.left() / shrink, b.top() / shrink, b.right() / shrink, b.bottom() / shrink)
            for b in self._other_faces(boxes, scores, best)
        )
        if others:
            # Reported once per input, with the file's name, by the pipeline (warnings.csv).
            log.debug("%d faces found; using the highest-scoring", 1 + len(others))
        return FaceLandmarks(
            points_px=points,
            box_px=(float(left), float(top), float(right), float(bottom)),
            detector_score=float(scores[best]),
            faces_found=1 + len(others),
            other_boxes_px=others,
        )

    def _other_faces(self, boxes: list, scores: list, best: int) -> list:
        """The detections beside the chosen one that are comparable to it (FaceParams)."""
        return [
            boxes[i]
            for i in range(len(boxes))
            if i != best
            and self.params.counts_as_second_face(
                scores[i], boxes[i].width(), scores[best], boxes[best].width()
            )
        ]

    def _run(self, image: np.ndarray, shrink: float, upsample: int) -> tuple[list, list]:
        """HOG boxes and scores on ``image`` shrunk by ``shrink`` (detection px)."""
        small = image
        if shrink < 1.0:
            import cv2

            height, width = image.shape[:2]
            size = (max(1, round(width * shrink)), max(1, round(height * shrink)))
            small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        boxes, scores, _ = self._detector.run(
            np.ascontiguousarray(small), upsample, self.params.min_score
        )
        return list(boxes), list(scores)
