"""Reading and writing still images with clear errors. OpenCV is imported lazily.

All arrays are RGB (or single-channel) uint8; OpenCV's BGR order stays inside this module.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ocularseg.core.errors import InputError, ReportError
from ocularseg.io.atomic import atomic_path

IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SOI = b"\xff\xd8"


def truncation_problem(data: bytes) -> str | None:
    """Why ``data`` looks truncated, or None (also for formats not checked).

    OpenCV decodes a truncated JPEG with only a warning on stderr and fills the missing part
    with grey, so a cut-off file would silently become a half-grey image. PNG must contain
    its ``IEND`` chunk near the end; JPEG must have an end-of-image marker after its last
    start-of-scan marker (an EXIF thumbnail's marker does not count).
    """
    if data.startswith(_PNG_SIGNATURE):
        if b"IEND" not in data[-64:]:
            return "truncated PNG (no IEND chunk at the end)"
        return None
    if data.startswith(_JPEG_SOI):
        last_scan = data.rfind(b"\xff\xda")
        last_end = data.rfind(b"\xff\xd9")
        if last_scan < 0 or last_end < last_scan:
            return "truncated JPEG (no end-of-image marker after the image data)"
    return None


def decode_image_rgb(data: bytes, source: str) -> np.ndarray:
    """Decode image bytes (PNG, JPEG, ...) to RGB uint8 (H, W, 3).

    Args:
        data: encoded image file contents.
        source: what to name in error messages (a path, or "PATH: imageData").

    Raises:
        InputError: empty, truncated or undecodable data.
    """
    import cv2

    if not data:
        raise InputError(f"{source}: image data is empty (0 bytes)")
    problem = truncation_problem(data)
    if problem:
        raise InputError(f"{source}: {problem}")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"{source}: not a readable image (corrupt, truncated or unknown format)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_image_rgb(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a colour image as RGB uint8 (H, W, 3).

    Raises:
        InputError: the file is missing, empty, truncated or not an image.
    """
    path = Path(path)
    return decode_image_rgb(_read_bytes(path), str(path))


def read_image_unchanged(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image as stored (index masks stay single-channel; colour becomes RGB/RGBA).

    Raises:
        InputError: the file is missing, empty, truncated or not an image.
    """
    import cv2

    path = Path(path)
    data = _read_bytes(path)
    problem = truncation_problem(data)
    if problem:
        raise InputError(f"{path}: {problem}")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise InputError(f"{path}: not a readable image (corrupt, truncated or unknown format)")
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    return image


def write_image_atomic(
    path: str | os.PathLike[str], image: np.ndarray, *, jpeg_quality: int = 95
) -> None:
    """Write an RGB(A) or single-channel uint8 image atomically; format from the suffix.

    PNG output is lossless and byte-deterministic for equal arrays.
    """
    import cv2

    path = Path(path)
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA)
    params: list[int] = []
    if path.suffix.lower() in {".jpg", ".jpeg"}:
        params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
    ok, encoded = cv2.imencode(path.suffix.lower() or ".png", image, params)
    if not ok:
        raise ReportError(f"{path}: OpenCV could not encode the image")
    with atomic_path(path) as tmp:
        tmp.write_bytes(encoded.tobytes())


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected an image file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if not data:
        raise InputError(f"{path}: file is empty (0 bytes)")
    return data
