"""Test media with the properties phones and cameras give them: fast-start MP4 (index at the
front, so a truncated file still opens), rotation metadata, EXIF orientation; and the special
entries (FIFO, device, broken and looping links) a folder of inputs may hold."""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import numpy as np

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts"}
#: The chunk-offset tables and the struct format of one entry: 32-bit and 64-bit offsets.
_CHUNK_OFFSETS = {b"stco": ">I", b"co64": ">Q"}


def write_video(path: Path, frames: list[np.ndarray], fps: float = 10.0) -> Path:
    """An MP4 (``mp4v``, index at the end, as OpenCV writes it) of (H, W, 3) uint8 RGB frames."""
    import cv2

    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def _boxes(data: bytes, start: int = 0, end: int | None = None):
    """(type, offset, size) of each box in data[start:end]."""
    end = len(data) if end is None else end
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        elif size == 0:
            size = end - offset
        yield kind, offset, size
        offset += size


def _shift_chunk_offsets(moov: bytearray, shift: int) -> None:
    def walk(start: int, end: int) -> None:
        for kind, offset, size in _boxes(bytes(moov), start, end):
            if kind in _CONTAINERS:
                walk(offset + 8, offset + size)
            elif kind in _CHUNK_OFFSETS:
                entry = _CHUNK_OFFSETS[kind]
                width = struct.calcsize(entry)
                count = struct.unpack(">I", moov[offset + 12 : offset + 16])[0]
                for i in range(count):
                    at = offset + 16 + width * i
                    value = struct.unpack(entry, moov[at : at + width])[0]
                    moov[at : at + width] = struct.pack(entry, value + shift)

    walk(8, len(moov))


def make_fast_start(path: Path) -> Path:
    """Rewrite an MP4 in place with its ``moov`` index before ``mdat`` (what phones and
    ``ffmpeg -movflags +faststart`` write), fixing the chunk offsets."""
    data = path.read_bytes()
    boxes = {kind: (offset, size) for kind, offset, size in _boxes(data)}
    moov_offset, moov_size = boxes[b"moov"]
    mdat_offset, _ = boxes[b"mdat"]
    if moov_offset < mdat_offset:
        return path
    moov = bytearray(data[moov_offset : moov_offset + moov_size])
    _shift_chunk_offsets(moov, moov_size)
    before = data[:mdat_offset]
    rest = data[mdat_offset:moov_offset] + data[moov_offset + moov_size :]
    path.write_bytes(before + bytes(moov) + rest)
    return path


def _find(data: bytes, path: list[bytes], start: int = 0, end: int | None = None):
    for kind, offset, size in _boxes(data, start, end):
        if kind == path[0]:
            if len(path) == 1:
                return offset, size
            return _find(data, path[1:], offset + 8, offset + size)
    raise KeyError(path)


def make_variable_rate(path: Path, slow_factor: int = 3) -> Path:
    """Rewrite an MP4 (index at the end, as OpenCV writes it) so that the second half of its
    frames last ``slow_factor`` times longer: a phone's variable frame rate."""
    data = path.read_bytes()
    stts = [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stts"]
    offset, size = _find(data, stts)
    count, delta = struct.unpack(">II", data[offset + 16 : offset + 24])
    half = count // 2
    body = struct.pack(">II", 0, 2) + struct.pack(
        ">IIII", half, delta, count - half, slow_factor * delta
    )
    box = struct.pack(">I4s", 8 + len(body), b"stts") + body
    out = bytearray(data[:offset] + box + data[offset + size :])
    for depth in range(1, len(stts)):  # the boxes around it grow too
        parent, parent_size = _find(data, stts[:depth])
        out[parent : parent + 4] = struct.pack(">I", parent_size + len(box) - size)
    # The durations (movie, track, media, edit list) grow by the same factor, or players
    # stop at the old end. Offsets are those of version-0 boxes, which OpenCV writes.
    scale = (half + slow_factor * (count - half)) / count
    data = bytes(out)
    for box_path, at in (
        ([b"moov", b"mvhd"], 24),
        ([b"moov", b"trak", b"tkhd"], 28),
        ([b"moov", b"trak", b"mdia", b"mdhd"], 24),
        ([b"moov", b"trak", b"edts", b"elst"], 16),
    ):
        try:
            start, _ = _find(data, box_path)
        except KeyError:
            continue
        value = struct.unpack(">I", out[start + at : start + at + 4])[0]
        out[start + at : start + at + 4] = struct.pack(">I", round(value * scale))
    path.write_bytes(bytes(out))
    return path


def jpeg_with_exif_orientation(image_rgb: np.ndarray, orientation: int) -> bytes:
    """JPEG bytes of ``image_rgb`` stored as a camera does: pixels as sensed, plus an EXIF
    orientation tag saying how to turn them upright (6 = rotate 90° clockwise)."""
    from PIL import Image

    picture = Image.fromarray(image_rgb)
    exif = picture.getexif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", exif=exif.tobytes(), quality=95)
    return buffer.getvalue()


def make_special_entries(folder: Path) -> None:
    """Put in ``folder`` the entries that are not regular files: a FIFO ``pipe.mp4``, a link
    ``zero.mp4`` to /dev/zero, a dangling link ``dangling.png`` (to ``nowhere.png``), two
    links ``loop1.png`` / ``loop2.png`` to each other, a folder ``x.mp4`` and a link ``self``
    to the folder itself."""
    os.mkfifo(folder / "pipe.mp4")
    (folder / "zero.mp4").symlink_to("/dev/zero")
    (folder / "dangling.png").symlink_to(folder / "nowhere.png")
    (folder / "loop1.png").symlink_to(folder / "loop2.png")
    (folder / "loop2.png").symlink_to(folder / "loop1.png")
    (folder / "x.mp4").mkdir()
    (folder / "self").symlink_to(folder)
