"""Video decoding with OpenCV: frames with timestamps, and clear errors for bad files.

Frames come out RGB uint8 (H, W, 3). Timestamps are the container's presentation times
when OpenCV reports them, else ``index / fps``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ocularseg.core.containers import Frame
from ocularseg.core.errors import InputError

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

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps if self.fps > 0 else 0.0


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Open a video and read its header; the first frame must decode.

    Raises:
        InputError: missing, empty, not a video, or no decodable frame.
    """
    import cv2

    path = Path(path)
    _check_file(path)
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise InputError(f"{path}: not a readable video (unknown format or corrupt header)")
        ok, frame = capture.read()
        if not ok or frame is None:
            raise InputError(f"{path}: the video has no decodable frame (corrupt or truncated)")
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        height, width = frame.shape[:2]
    finally:
        capture.release()
    if not (0 < fps < 1000):
        log.warning("%s: container reports %.3g fps; assuming 30", path, fps)
        fps = 30.0
    return VideoInfo(path, max(count, 1), fps, int(width), int(height))


def iter_frames(
    path: str | os.PathLike[str], *, every_n: int = 1, max_frames: int | None = None
) -> Iterator[Frame]:
    """Decode frames in order, keeping every ``every_n``-th.

    A file that stops decoding early (truncated) ends the iteration with a logged warning
    after the frames that did decode; the caller decides whether that is enough.
    """
    import cv2

    if every_n < 1:
        raise ValueError(f"every_n must be >= 1, got {every_n}")
    info = probe_video(path)
    capture = cv2.VideoCapture(str(info.path))
    index, kept = 0, 0
    try:
        while True:
            if not capture.grab():
                break
            if index % every_n == 0:
                ok, frame = capture.retrieve()
                if not ok or frame is None:
                    log.warning("%s: frame %d does not decode; stopping there", info.path, index)
                    break
                ms = capture.get(cv2.CAP_PROP_POS_MSEC)
                timestamp = ms / 1000.0 if ms and ms > 0 else index / info.fps
                rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                yield Frame(str(info.path), index, max(timestamp, 0.0), rgb)
                kept += 1
                if max_frames is not None and kept >= max_frames:
                    break
            index += 1
    finally:
        capture.release()
    if index < info.frame_count - 1 and (max_frames is None or kept < max_frames):
        log.warning(
            "%s: decoded %d of %d frames the header announces (truncated?)",
            info.path,
            index,
            info.frame_count,
        )


def read_frames_at(path: str | os.PathLike[str], indices: list[int]) -> list[Frame]:
    """Decode specific frame indices (sorted, sequential read: seeking is unreliable)."""
    wanted = sorted(set(indices))
    if not wanted:
        return []
    out: list[Frame] = []
    targets = iter(wanted)
    target = next(targets)
    for frame in iter_frames(path, max_frames=None):
        if frame.index == target:
            out.append(frame)
            target = next(targets, None)
            if target is None:
                break
    return out


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected a video file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: file is empty (0 bytes)")
