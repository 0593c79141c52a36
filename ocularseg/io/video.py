"""Video decoding with OpenCV: frames with timestamps, and clear errors for bad files.

Frames come out RGB uint8 (H, W, 3). Timestamps are the container's presentation times
when OpenCV reports them, else ``index / fps``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ocularseg.core.containers import Frame
from ocularseg.core.errors import InputError
from ocularseg.core.text import printable
from ocularseg.io.files import check_regular_file
from ocularseg.io.images import DEFAULT_MAX_IMAGE_PIXELS, check_pixel_limit

log = logging.getLogger(__name__)

VIDEO_SUFFIXES: frozenset[str] = frozenset(
    {".mp4", ".m4v", ".avi", ".mov", ".mkv", ".webm", ".wmv", ".mpg", ".mpeg", ".3gp"}
)


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video."""

    path: Path
    frame_count: int
    fps: float
    width_px: int
    height_px: int
    #: Why a header value was replaced (e.g. "container reports 0 fps; assuming 30").
    warnings: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps if self.fps > 0 else 0.0


@dataclass
class DecodeReport:
    """What one decoding pass found, for the caller to judge (filled by :func:`iter_frames`).

    Attributes:
        frames_announced: frame count in the container header.
        frames_decoded: frames read before decoding ended (the last index + 1).
        stopped_early: decoding ended well before the announced count (a truncated or
            shortened file: a "fast-start" MP4 cut after its index keeps the full count).
        last_timestamp_s: time of the last decoded frame, s from the start.
        problems: what went wrong, one sentence each.
    """

    frames_announced: int = 0
    frames_decoded: int = 0
    stopped_early: bool = False
    last_timestamp_s: float = 0.0
    problems: list[str] = field(default_factory=list)


#: Decoding may end this many frames (or this fraction of the count) before the header's
#: frame count without being called truncated: containers round their counts.
_SHORTFALL_FRAMES = 2
_SHORTFALL_FRACTION = 0.01
#: Timestamps within this many seconds count as equal (container rounding).
_TIME_EPS_S = 1e-3


def probe_video(
    path: str | os.PathLike[str], *, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
) -> VideoInfo:
    """Open a video and read its header; the first frame must decode.

    Raises:
        InputError: missing, empty, not a regular file, not a video, frames over
            ``max_pixels``, or no decodable frame.
    """
    import cv2

    path = Path(path)
    shown = printable(path)
    _check_file(path)
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise InputError(f"{shown}: not a readable video (unknown format or corrupt header)")
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
        check_pixel_limit(width, height, f"{shown}: video frame", max_pixels)
        ok, frame = capture.read()
        if not ok or frame is None:
            raise InputError(f"{shown}: the video has no decodable frame (corrupt or truncated)")
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        height, width = frame.shape[:2]
    finally:
        capture.release()
    warnings: list[str] = []
    if not (0 < fps < 1000):
        warnings.append(f"container reports {fps:.3g} fps; assuming 30 fps for frame times")
        log.warning("%s: %s", shown, warnings[-1])
        fps = 30.0
    return VideoInfo(path, max(count, 1), fps, int(width), int(height), tuple(warnings))


def iter_frames(
    path: str | os.PathLike[str],
    *,
    every_n: int = 1,
    max_frames: int | None = None,
    every_s: float | None = None,
    max_s: float | None = None,
    report: DecodeReport | None = None,
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
) -> Iterator[Frame]:
    """Decode frames in order, keeping every ``every_n``-th, or one frame per ``every_s``
    seconds of the video's own timestamps.

    Phones record at a variable frame rate: with ``every_s`` the kept frames are spaced
    evenly in time (the first frame at or after each multiple of ``every_s``), not in frame
    count, so a time series sampled at 5 Hz stays at 5 Hz where the frame rate drops.
    ``max_s`` stops after that many seconds of video.

    A file that stops decoding early (truncated) ends the iteration after the frames that
    did decode; ``report`` says so (``stopped_early``) and the caller decides what that
    means for its result.
    """
    import cv2

    sampler = _Sampler(every_n, every_s)
    report = report if report is not None else DecodeReport()
    info = probe_video(path, max_pixels=max_pixels)
    shown = printable(info.path)
    report.frames_announced = info.frame_count
    capture = cv2.VideoCapture(str(info.path))
    index, kept = 0, 0
    try:
        while True:
            if not capture.grab():
                break
            ms = capture.get(cv2.CAP_PROP_POS_MSEC)
            timestamp = ms / 1000.0 if ms and ms > 0 else index / info.fps
            if max_s is not None and timestamp > max_s + _TIME_EPS_S:
                report.frames_decoded = index
                return  # asked to stop here: not a truncation
            if sampler.keep(index, timestamp):
                ok, frame = capture.retrieve()
                if not ok or frame is None:
                    report.problems.append(f"frame {index} does not decode")
                    break
                rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                report.last_timestamp_s = max(timestamp, 0.0)
                yield Frame(str(info.path), index, max(timestamp, 0.0), rgb)
                kept += 1
                if max_frames is not None and kept >= max_frames:
                    index += 1
                    report.frames_decoded = index
                    return
            index += 1
    finally:
        capture.release()
    _judge_end(report, index, info, shown)


class _Sampler:
    """Which decoded frames to keep: every ``every_n``-th, or (``every_s``) the first frame
    at or after each multiple of ``every_s`` seconds of the video's timestamps."""

    def __init__(self, every_n: int, every_s: float | None) -> None:
        if every_n < 1:
            raise ValueError(f"every_n must be >= 1, got {every_n}")
        if every_s is not None and not every_s > 0:
            raise ValueError(f"every_s must be > 0, got {every_s}")
        self.every_n = every_n
        self.every_s = every_s
        self.next_s: float | None = None  # time of the next frame to keep (every_s mode)

    def keep(self, index: int, timestamp: float) -> bool:
        if self.every_s is None:
            return index % self.every_n == 0
        keep = self.next_s is None or timestamp >= self.next_s - _TIME_EPS_S
        if keep:
            next_s = timestamp if self.next_s is None else self.next_s
            while next_s <= timestamp + _TIME_EPS_S:
                next_s += self.every_s
            self.next_s = next_s
        return keep


def _judge_end(report: DecodeReport, index: int, info: VideoInfo, shown: str) -> None:
    """Record where decoding ended; well before the header's count, it is a truncation."""
    report.frames_decoded = index
    allowed = max(_SHORTFALL_FRAMES, round(_SHORTFALL_FRACTION * info.frame_count))
    if index < info.frame_count - allowed or report.problems:
        report.stopped_early = True
        report.problems.append(
            f"decoding ended at frame {index} of the {info.frame_count} the header announces "
            f"({index / info.fps:.1f} of {info.duration_s:.1f} s): the file is truncated or "
            "damaged"
        )
        log.warning("%s: %s", shown, report.problems[-1])


def read_frames_at(
    path: str | os.PathLike[str],
    indices: list[int],
    *,
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
) -> list[Frame]:
    """Decode specific frame indices (sorted, sequential read: seeking is unreliable)."""
    wanted = sorted(set(indices))
    if not wanted:
        return []
    out: list[Frame] = []
    targets = iter(wanted)
    target = next(targets)
    for frame in iter_frames(path, max_frames=None, max_pixels=max_pixels):
        if frame.index == target:
            out.append(frame)
            target = next(targets, None)
            if target is None:
                break
    return out


def _check_file(path: Path) -> None:
    # Refuses FIFOs and devices before OpenCV opens them (reading one would never end).
    if check_regular_file(path) == 0:
        raise InputError(f"{printable(path)}: file is empty (0 bytes)")
