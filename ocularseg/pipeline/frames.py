"""Which frames of an input get analysed, with their quality scores.

Key-frame mode scores up to ``max_candidates`` evenly spaced frames (face, landmarks,
sharpness, EAR, gaze) while streaming, keeps only the scores, then re-decodes the chosen
frames: memory stays flat even for long 4K videos. Time-series mode analyses every frame at
a steady rate and flags (does not drop) blinks, because a fatigability curve needs them
visible.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from ocularseg.core.containers import FaceLandmarks, Frame
from ocularseg.core.errors import DetectionError, InputError
from ocularseg.io.images import read_image_rgb
from ocularseg.io.video import DecodeReport, iter_frames, probe_video, read_frames_at
from ocularseg.pipeline.config import AnalyzeConfig
from ocularseg.pipeline.inputs import InputItem
from ocularseg.stages.face import FaceDetector
from ocularseg.stages.keyframes import FrameScores, is_blink, score_frame, select_keyframes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnalysedFrame:
    """A frame chosen for analysis, with its face and scores."""

    frame: Frame
    face: FaceLandmarks
    scores: FrameScores
    blink: bool


@dataclass
class FrameStats:
    """Counts for the report: how many frames were looked at and why some were not used.

    Attributes:
        decoded / no_face / several_faces: frame counts.
        first_several_faces: index of the first frame with more than one face (or None).
        most_faces: the largest number of faces seen in one frame.
        decode: what decoding the video found (None for images).
        warnings: sentences for ``warnings.csv`` (without the file name).
    """

    decoded: int = 0
    no_face: int = 0
    several_faces: int = 0
    first_several_faces: int | None = None
    most_faces: int = 0
    decode: DecodeReport | None = None
    warnings: list[str] = field(default_factory=list)


def _detect(detector: FaceDetector, frame: Frame, stats: FrameStats) -> FaceLandmarks | None:
    try:
        face = detector.detect(frame.image)
    except DetectionError:
        stats.no_face += 1
        return None
    if face.faces_found > 1:
        stats.several_faces += 1
        stats.most_faces = max(stats.most_faces, face.faces_found)
        if stats.first_several_faces is None:
            stats.first_several_faces = frame.index
    return face


def analysed_frames(
    item: InputItem, detector: FaceDetector, config: AnalyzeConfig, stats: FrameStats
) -> Iterator[AnalysedFrame]:
    """Frames of ``item`` to analyse, in time order.

    Raises:
        InputError: the file cannot be decoded.
        DetectionError: no face in any frame looked at.
    """
    max_pixels = round(config.max_image_megapixels * 1e6)
    if item.kind == "unsupported":
        read_image_rgb(item.path)  # raises the format's own message
    if item.kind == "image":
        frame = Frame(item.label, 0, 0.0, read_image_rgb(item.path, max_pixels=max_pixels))
        stats.decoded = 1
        face = _detect(detector, frame, stats)
        if face is None:
            raise DetectionError(f"{item.label}: no face found in the image")
        yield AnalysedFrame(frame, face, score_frame(0, 0.0, frame.image, face), False)
        return
    info = probe_video(item.path, max_pixels=max_pixels)
    stats.warnings.extend(info.warnings)
    stats.decode = DecodeReport()
    limit = info.frame_count
    if config.max_seconds is not None:
        limit = min(limit, max(1, int(config.max_seconds * info.fps)))
    if config.fps:
        yield from _timeseries(item, detector, config, stats)
    else:
        yield from _keyframes(item, limit, detector, config, stats)


def _timeseries(item, detector, config, stats) -> Iterator[AnalysedFrame]:
    # Sampled by the video's timestamps, not by frame count: phone videos have a variable
    # frame rate, and a time series must keep its rate (and its slope its meaning).
    pending: list[tuple[Frame, FaceLandmarks, FrameScores]] = []
    for frame in iter_frames(
        item.path,
        every_s=1.0 / config.fps,
        max_s=config.max_seconds,
        report=stats.decode,
        max_pixels=round(config.max_image_megapixels * 1e6),
    ):
        stats.decoded += 1
        face = _detect(detector, frame, stats)
        if face is not None:
            pending.append(
                (frame, face, score_frame(frame.index, frame.timestamp_s, frame.image, face))
            )
    if not pending:
        raise DetectionError(f"{item.label}: no face found in any of {stats.decoded} frames")
    blinks = is_blink([p[2] for p in pending], config.keyframe)
    for (frame, face, scores), blink in zip(pending, blinks, strict=True):
        yield AnalysedFrame(frame, face, scores, bool(blink))


def _keyframes(item, limit, detector, config, stats) -> Iterator[AnalysedFrame]:
    step = max(1, limit // config.max_candidates)
    scored: list[tuple[FrameScores, FaceLandmarks]] = []
    for frame in iter_frames(
        item.path,
        every_n=step,
        max_frames=config.max_candidates,
        report=stats.decode,
        max_pixels=round(config.max_image_megapixels * 1e6),
    ):
        stats.decoded += 1
        face = _detect(detector, frame, stats)
        if face is not None:
            scored.append((score_frame(frame.index, frame.timestamp_s, frame.image, face), face))
    if not scored:
        raise DetectionError(f"{item.label}: no face found in any of {stats.decoded} frames")
    chosen = select_keyframes([s for s, _ in scored], config.keyframes, config.keyframe)
    if not chosen:
        # Every candidate looked like a blink or was blurred: analyse the best-scoring ones
        # anyway so the report shows the closed eyes instead of an empty result.
        chosen = sorted(range(len(scored)), key=lambda i: -scored[i][0].sharpness)[
            : config.keyframes
        ]
        chosen.sort()
        stats.warnings.append(
            f"every one of {len(scored)} candidate frames looked like a blink or was "
            f"blurred; analysed the {len(chosen)} sharpest anyway"
        )
    by_index = {scored[i][0].index: scored[i] for i in chosen}
    frames = read_frames_at(
        item.path, sorted(by_index), max_pixels=round(config.max_image_megapixels * 1e6)
    )
    if len(frames) != len(by_index):
        raise InputError(f"{item.label}: could not decode the chosen key frames on a second pass")
    for frame in frames:
        scores, face = by_index[frame.index]
        yield AnalysedFrame(frame, face, scores, False)
