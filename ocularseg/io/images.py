"""Reading and writing still images with clear errors. OpenCV is imported lazily.

All arrays are RGB (or single-channel) uint8; OpenCV's BGR order stays inside this module.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from ocularseg.core.errors import InputError, ReportError
from ocularseg.core.text import printable
from ocularseg.io.atomic import atomic_path
from ocularseg.io.files import read_regular_bytes

IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
)
#: Photo formats that phones and cameras write and that OpenCV cannot decode: a named
#: error (what to do instead) rather than "not a readable video".
UNSUPPORTED_IMAGE_FORMATS: dict[str, str] = {
    ".heic": "HEIC photos (the iPhone default) cannot be read: export them as JPEG, or set "
    "the camera to 'Most Compatible' (Settings > Camera > Formats)",
    ".heif": "HEIF photos cannot be read: export them as JPEG",
    ".dng": "DNG raw photos cannot be read: export them as JPEG or PNG",
}

#: Default limit on decoded image size (width × height): 100 megapixels. A 1 MB PNG can
#: declare 32000×32000 px and take 6 GB once decoded; the header is checked before decoding.
DEFAULT_MAX_IMAGE_PIXELS = 100_000_000
#: Encoded files larger than this many bytes per allowed pixel are refused unread.
_MAX_BYTES_PER_PIXEL = 4


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


def header_size_wh(data: bytes) -> tuple[int, int] | None:
    """(width, height) in px as stored, read from an encoded image's header without
    decoding it, or None when the header cannot be read (the decoder then has the last word).

    PNG and JPEG are parsed here (Pillow refuses to even report the size of a very large
    image); other formats through Pillow's lazy open. EXIF orientation is not applied: a
    rotated photo reports its stored width and height.
    """
    if data.startswith(_PNG_SIGNATURE) and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data.startswith(_JPEG_SOI):
        return _jpeg_size_wh(data)
    import io
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            # Pillow warns about large images itself; our own limit decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                return int(image.width), int(image.height)
    except Exception:  # Pillow raises many types for unknown, broken or huge headers
        return None


def _jpeg_size_wh(data: bytes) -> tuple[int, int] | None:
    """Size from the first start-of-frame marker (SOF0-SOF15 except DHT, JPG, DAC)."""
    offset = 2
    while offset + 9 <= len(data):
        if data[offset] != 0xFF:
            return None
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
            offset += 2
            continue
        length = struct.unpack(">H", data[offset + 2 : offset + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[offset + 5 : offset + 9])
            return int(width), int(height)
        if marker == 0xDA:  # image data began without a frame header
            return None
        offset += 2 + length
    return None


def check_pixel_limit(width: int, height: int, source: str, max_pixels: int) -> None:
    """Refuse an image of ``width`` × ``height`` px over ``max_pixels``.

    Raises:
        InputError: naming ``source``, the size and the limit.
    """
    if width * height > max_pixels:
        raise InputError(
            f"{source}: image is {width}×{height} px ({width * height / 1e6:.0f} MP), over "
            f"the {max_pixels / 1e6:g} MP limit (max_image_megapixels)"
        )


def _check_before_decoding(data: bytes, source: str, max_pixels: int) -> None:
    if not data:
        raise InputError(f"{source}: image data is empty (0 bytes)")
    if len(data) > _MAX_BYTES_PER_PIXEL * max_pixels + (1 << 20):
        raise InputError(
            f"{source}: {len(data) / 1e6:.0f} MB is larger than any image within the "
            f"{max_pixels / 1e6:g} MP limit (max_image_megapixels)"
        )
    problem = truncation_problem(data)
    if problem:
        raise InputError(f"{source}: {problem}")
    size = header_size_wh(data)
    if size is not None:
        check_pixel_limit(size[0], size[1], source, max_pixels)


def decode_image_rgb(
    data: bytes, source: str, *, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
) -> np.ndarray:
    """Decode image bytes (PNG, JPEG, ...) to RGB uint8 (H, W, 3), upright.

    The EXIF orientation of phone photos is applied (OpenCV does so for colour reads), so
    "right eye" in the picture is the patient's right as the photographer saw it.

    Args:
        data: encoded image file contents.
        source: what to name in error messages (a path, or "PATH: imageData").
        max_pixels: refuse images larger than this (width × height, px), checked on the
            header before decoding.

    Raises:
        InputError: empty, truncated, over the size limit or undecodable data.
    """
    import cv2

    return cv2.cvtColor(_decode(data, source, max_pixels, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _decode(data: bytes, source: str, max_pixels: int, flags: int) -> np.ndarray:
    """``cv2.imdecode`` with the size checks before and after, as OpenCV's BGR(A) array.

    Raises:
        InputError: empty, truncated, over the size limit or undecodable data.
    """
    import cv2

    _check_before_decoding(data, source, max_pixels)
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error as exc:  # OpenCV's own size limit, or a decoder failure
        raise InputError(f"{source}: not a readable image ({_first_line(exc)})") from exc
    if image is None:
        raise InputError(f"{source}: not a readable image (corrupt, truncated or unknown format)")
    check_pixel_limit(image.shape[1], image.shape[0], source, max_pixels)
    return image


def read_image_rgb(
    path: str | os.PathLike[str], *, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
) -> np.ndarray:
    """Read a colour image as RGB uint8 (H, W, 3), upright (EXIF orientation applied).

    Raises:
        InputError: the file is missing, empty, not a regular file, truncated, over
            ``max_pixels`` or not an image.
    """
    import cv2

    return cv2.cvtColor(_read_decoded(path, max_pixels, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def read_image_unchanged(
    path: str | os.PathLike[str], *, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
) -> np.ndarray:
    """Read an image as stored (index masks stay single-channel; colour becomes RGB/RGBA).

    Raises:
        InputError: as :func:`read_image_rgb`.
    """
    import cv2

    image = _read_decoded(path, max_pixels, cv2.IMREAD_UNCHANGED)
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


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of an RGB or single-channel uint8 image, exactly as
    :func:`write_image_atomic` writes them (lossless, byte-deterministic)."""
    import cv2

    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise ReportError("OpenCV could not encode the image as PNG")
    return encoded.tobytes()


def decode_png(data: bytes) -> np.ndarray:
    """The image of :func:`encode_png` bytes: RGB (H, W, 3) or (H, W) uint8, unchanged.

    Raises:
        InputError: the bytes are not a decodable image.
    """
    import cv2

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise InputError("in-memory PNG does not decode")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if image.ndim == 3 else image


def write_png_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write :func:`encode_png` bytes to ``path`` atomically."""
    with atomic_path(Path(path)) as tmp:
        tmp.write_bytes(data)


def _read_decoded(path: str | os.PathLike[str], max_pixels: int, flags: int) -> np.ndarray:
    """The image file at ``path`` decoded by OpenCV with ``flags``, as its BGR(A) array."""
    path = Path(path)
    return _decode(_read_bytes(path, max_pixels), printable(path), max_pixels, flags)


def _read_bytes(path: Path, max_pixels: int) -> bytes:
    suffix = path.suffix.lower()
    if suffix in UNSUPPORTED_IMAGE_FORMATS:
        raise InputError(f"{printable(path)}: {UNSUPPORTED_IMAGE_FORMATS[suffix]}")
    data = read_regular_bytes(path, max_bytes=_MAX_BYTES_PER_PIXEL * max_pixels + (1 << 20))
    if not data:
        raise InputError(f"{printable(path)}: file is empty (0 bytes)")
    return data


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
