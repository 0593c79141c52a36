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


def read_image_rgb(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a colour image as RGB uint8 (H, W, 3).

    Raises:
        InputError: the file is missing, empty, truncated or not an image.
    """
    import cv2

    path = Path(path)
    data = _read_bytes(path)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"{path}: not a readable image (corrupt, truncated or unknown format)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_image_unchanged(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image as stored (index masks stay single-channel; colour becomes RGB/RGBA).

    Raises:
        InputError: the file is missing, empty, truncated or not an image.
    """
    import cv2

    path = Path(path)
    data = _read_bytes(path)
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
