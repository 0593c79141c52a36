"""Which frames of an input get analysed, with their quality scores and eye crops.

Every video is decoded once. Key-frame mode grabs every frame but retrieves only the up to
``max_candidates`` evenly spaced candidates, scores each (face, landmarks, sharpness, EAR,
gaze) and keeps its two 480×320 eye crops, not the frame: the chosen key frames are
analysed from those crops, with no second decoding pass, and memory stays flat even for
long 4K videos. Time-series mode analyses every frame at a steady rate and flags (does not
drop) blinks, because a fatigability curve needs them visible; its frames stream out as
they are decoded; their blinks are judged once the last frame is in (``pipeline.process``).

Within a video the face detector is told the last face's width, so it can search the frame
shrunk by the whole factor that leaves that face at least ``FaceParams.track_face_px`` wide
(``stages.face``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from ocularseg.core.containers import EyeCrop, FaceLandmarks, Frame
from ocularseg.core.errors import DetectionError
from ocularseg.io.images import read_image_rgb
from ocularseg.io.video import DecodeReport, iter_frames, probe_video
from ocularseg.pipeline.config import AnalyzeConfig
from ocularseg.pipeline.executors import FrameCallback
from ocularseg.pipeline.inputs import InputItem
from ocularseg.report.faces import faces_thumbnail
from ocularseg.stages.crop import crop_eye
from ocularseg.stages.face import FaceDetector
from ocularseg.stages.keyframes import FrameScores, score_frame, select_keyframes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnalysedFrame:
    """A frame chosen for analysis: where and when, its face, scores and eye crops.

    The frame's pixels are not kept: the two crops are all later stages read.

    Attributes:
        index: frame number in the file (0 for an image).
        timestamp_s: presentation time, s from the start.
        face: the 68 landmarks, frame px.
        scores: the key-frame scores (sharpness, EAR, gaze).
        crops: the patient's right eye, then the left.
    """

    index: int
    timestamp_s: float
    face: FaceLandmarks
    scores: FrameScores
    crops: tuple[EyeCrop, EyeCrop]


@dataclass
class FrameStats:
    """Counts for the report: how many frames were looked at and why some were not used.

    Attributes:
        decoded / no_face / several_faces: frame counts.
        no_face_times_s: the times (s) of the frames with no face, in order.
        first_several_faces: index of the first frame with more than one face (or None).
        most_faces: the largest number of faces seen in one frame.
        decode: what decoding the video found (None for images).
        expected: frames the input is expected to give for analysis (for progress; None
            while unknown).
        warnings: sentences for ``warnings.csv`` (without the file name).
        faces_thumbnail: the first frame with more than one face, shrunk, with the
            measured face boxed (``report.faces``), or None.
    """

    decoded: int = 0
    no_face: int = 0
    no_face_times_s: list[float] = field(default_factory=list)
    several_faces: int = 0
    first_several_faces: int | None = None
    most_faces: int = 0
    decode: DecodeReport | None = None
    expected: int | None = None
    warnings: list[str] = field(default_factory=list)
    faces_thumbnail: np.ndarray | None = None


class _Looker:
    """Finds the face in successive frames of one input, remembering the last face's size."""

    def __init__(
        self,
        detector: FaceDetector,
        config: AnalyzeConfig,
        stats: FrameStats,
        on_frame: FrameCallback | None = None,
    ) -> None:
        self.detector, self.config, self.stats = detector, config, stats
        self.on_frame = on_frame
        self.face_width_px: float | None = None

    def look(self, frame: Frame) -> AnalysedFrame | None:
        """Detect, score and crop ``frame``; None (counted) when it shows no face.
        Progress is reported once the frame is counted, face or not."""
        try:
            return self._look(frame)
        finally:
            if self.on_frame is not None:
                self.on_frame(self.stats.decoded, self.stats.expected)

    def _look(self, frame: Frame) -> AnalysedFrame | None:
        stats = self.stats
        stats.decoded += 1
        try:
            face = self.detector.detect(frame.image, face_width_hint_px=self.face_width_px)
        except DetectionError:
            stats.no_face += 1
            stats.no_face_times_s.append(round(frame.timestamp_s, 4))
            return None
        left, _, right, _ = face.box_px
        self.face_width_px = right - left
        if face.faces_found > 1:
            stats.several_faces += 1
            stats.most_faces = max(stats.most_faces, face.faces_found)
            if stats.first_several_faces is None:
                stats.first_several_faces = frame.index
                stats.faces_thumbnail = faces_thumbnail(frame.image, face)
        scores = score_frame(frame.index, frame.timestamp_s, frame.image, face)
        crops = (
            crop_eye(frame.image, face, "right", self.config.crop),
            crop_eye(frame.image, face, "left", self.config.crop),
        )
        return AnalysedFrame(frame.index, frame.timestamp_s, face, scores, crops)


def analysed_frames(
    item: InputItem,
    detector: FaceDetector,
    config: AnalyzeConfig,
    stats: FrameStats,
    on_frame: FrameCallback | None = None,
) -> Iterator[AnalysedFrame]:
    """Frames of ``item`` to analyse, in time order; ``on_frame`` after each frame looked
    at (on the thread that decodes, as it decodes: key-frame mode looks at every candidate
    before it yields the first key frame).

    Raises:
        InputError: the file cannot be decoded.
        DetectionError: no face in any frame looked at.
    """
    max_pixels = round(config.max_image_megapixels * 1e6)
    looker = _Looker(detector, config, stats, on_frame)
    if item.kind == "unsupported":
        read_image_rgb(item.path)  # raises the format's own message
    if item.kind == "image":
        stats.expected = 1
        frame = Frame(item.label, 0, 0.0, read_image_rgb(item.path, max_pixels=max_pixels))
        analysed = looker.look(frame)
        if analysed is None:
            raise DetectionError(f"{item.label}: no face found in the image")
        yield analysed
        return
    info = probe_video(item.path, max_pixels=max_pixels)
    stats.warnings.extend(info.warnings)
    stats.decode = DecodeReport()
    limit = info.frame_count
    if config.max_seconds is not None:
        limit = min(limit, max(1, int(config.max_seconds * info.fps)))
    # A header without a frame count reads as 1 frame (``probe_video``): no total then.
    counted = info.frame_count > 1
    if config.fps:
        if counted:
            stats.expected = max(1, math.ceil(limit / info.fps * config.fps))
        yield from _timeseries(item, looker, config, stats, max_pixels)
        return
    if counted:
        stats.expected = min(limit, config.max_candidates)
    yield from _keyframes(item, limit, looker, config, stats, max_pixels)


def _timeseries(
    item: InputItem, looker: _Looker, config: AnalyzeConfig, stats: FrameStats, max_pixels: int
) -> Iterator[AnalysedFrame]:
    # Sampled by the video's timestamps, not by frame count: phone videos have a variable
    # frame rate, and a time series must keep its rate (and its slope its meaning).
    found = 0
    for frame in iter_frames(
        item.path,
        every_s=1.0 / config.fps,
        max_s=config.max_seconds,
        report=stats.decode,
        max_pixels=max_pixels,
    ):
        analysed = looker.look(frame)
        if analysed is not None:
            found += 1
            yield analysed
    if not found:
        raise DetectionError(f"{item.label}: no face found in any of {stats.decoded} frames")


def _keyframes(
    item: InputItem,
    limit: int,
    looker: _Looker,
    config: AnalyzeConfig,
    stats: FrameStats,
    max_pixels: int,
) -> Iterator[AnalysedFrame]:
    step = max(1, limit // config.max_candidates)
    scored: list[AnalysedFrame] = []
    for frame in iter_frames(
        item.path,
        every_n=step,
        max_frames=config.max_candidates,
        report=stats.decode,
        max_pixels=max_pixels,
    ):
        analysed = looker.look(frame)
        if analysed is not None:
            scored.append(analysed)
    if not scored:
        raise DetectionError(f"{item.label}: no face found in any of {stats.decoded} frames")
    chosen = select_keyframes([s.scores for s in scored], config.keyframes, config.keyframe)
    if not chosen:
        # Every candidate looked like a blink or was blurred: analyse the best-scoring ones
        # anyway so the report shows the closed eyes instead of an empty result.
        chosen = sorted(range(len(scored)), key=lambda i: -scored[i].scores.sharpness)[
            : config.keyframes
        ]
        chosen.sort()
        stats.warnings.append(
            f"every one of {len(scored)} candidate frames looked like a blink or was "
            f"blurred; analysed the {len(chosen)} sharpest anyway"
        )
    for i in sorted(chosen):
        yield scored[i]
