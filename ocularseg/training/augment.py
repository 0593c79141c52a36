"""Training-time augmentation of (eye crop, label map) pairs, aimed at real photographs.

Pure NumPy + OpenCV so it is deterministic for a given ``numpy.random.Generator`` and can be
tested without torch. Geometry is applied identically to image and mask (nearest-neighbour
for the mask, so label values stay valid); photometric changes touch the image only.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

#: A per-sample probability.
Probability = Annotated[float, Field(ge=0, le=1)]
#: A relative strength in [0, 1] (± share of the value it changes).
Fraction = Annotated[float, Field(ge=0, le=1)]
#: A relative strength in [0, 1): a factor ``1 − s`` stays positive.
BelowOne = Annotated[float, Field(ge=0, lt=1)]


class AugmentParams(BaseModel):
    """Strength of each augmentation; 0 switches one off. Probabilities are per sample."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hflip_prob: Probability = Field(0.5, description="mirror left-right (swaps eye side)")
    max_rotation_deg: float = Field(10.0, ge=0, le=45, description="uniform ± rotation, degrees")
    max_scale_change: BelowOne = Field(0.12, description="zoom in [1-s, 1+s]")
    max_shift_frac: float = Field(0.06, ge=0, lt=0.5, description="shift, fraction of crop size")
    brightness: Fraction = Field(0.25, description="± multiplicative brightness")
    contrast: Fraction = Field(0.25, description="± contrast around the mean")
    saturation: Fraction = Field(0.3, description="± saturation")
    max_hue_shift_deg: float = Field(8.0, ge=0, le=90, description="± hue rotation, degrees")
    gamma: BelowOne = Field(0.25, description="gamma in [1-g, 1+g]")
    colour_cast: float = Field(0.08, ge=0, le=0.5, description="± per-channel gain")
    blur_prob: Probability = Field(0.3, description="Gaussian or motion blur")
    max_blur_sigma_px: float = Field(2.0, ge=0, le=10, description="blur sigma, crop px")
    lowres_prob: Probability = Field(
        0.0,
        description="shrink then enlarge the crop: an eye filmed at ~1 m is often 50–100 px "
        "wide, so its 480×320 crop is upsampled ×5–10 and soft",
    )
    max_downscale: float = Field(6.0, ge=1, le=16, description="largest shrink factor")
    lowres_jpeg_prob: Probability = Field(
        0.0,
        description="JPEG-encode the shrunk crop before enlarging it: a video codec or a "
        "phone compresses the whole frame, so its blocks are ×5–10 larger in the crop "
        "(off by default, so older configs draw as before)",
    )
    noise_prob: Probability = Field(0.3, description="add Gaussian sensor noise")
    max_noise_sigma: float = Field(8.0, ge=0, le=50, description="noise std, 8-bit levels")
    jpeg_prob: Probability = Field(0.3, description="JPEG re-encode")
    min_jpeg_quality: int = Field(35, ge=5, le=100, description="lowest JPEG quality")
    # Appearance randomisation aimed at what the phantoms lack (all off by default, so older
    # configs train as before): real faces have uneven light, creases, pores and colour.
    shading_prob: Probability = Field(
        0.0, description="multiply by a smooth random light field (shadows, 3-D)"
    )
    max_shading: BelowOne = Field(0.5, description="darkest factor of the field: 1-s")
    wrinkle_prob: Probability = Field(
        0.0, description="draw faint random creases and lines (skin texture)"
    )
    grain_prob: Probability = Field(
        0.0, description="add blotchy low-contrast skin texture (pores, freckles)"
    )
    grey_prob: Probability = Field(0.0, description="convert to greyscale (IR, B&W)")
    sharpen_prob: Probability = Field(0.0, description="unsharp mask (phone processing)")


def augment_pair(
    image: np.ndarray,
    labels: np.ndarray,
    rng: np.random.Generator,
    params: AugmentParams | None = None,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Augment one sample.

    Args:
        image: uint8 RGB (H, W, 3).
        labels: uint8 label map (H, W).
        rng: the only source of randomness.
        params: strengths; defaults when None.

    Returns:
        (image, labels, flipped): new arrays of the same shapes and dtypes; ``flipped`` is True
        when the sample was mirrored, i.e. a right eye now looks like a left eye.
    """
    image, labels, _, flipped = augment_sample(image, labels, None, rng, params)
    return image, labels, flipped


def augment_sample(
    image: np.ndarray,
    labels: np.ndarray,
    extra: np.ndarray | None,
    rng: np.random.Generator,
    params: AugmentParams | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, bool]:
    """:func:`augment_pair` with optional float32 (H, W) or (H, W, C ≤ 4) maps moved with
    the geometry.

    ``extra`` (e.g. the landmark prior channel) is flipped, rotated, scaled and shifted
    exactly as the image (bilinear, border replicated) and never changed photometrically;
    the random draws are the same as without it.
    """
    import cv2

    p = params or AugmentParams()
    if image.shape[:2] != labels.shape:
        raise ValueError(f"image {image.shape[:2]} and labels {labels.shape} differ in size")
    if extra is not None and extra.shape[:2] != labels.shape:
        raise ValueError(f"extra map {extra.shape} and labels {labels.shape} differ in size")
    flipped = bool(rng.random() < p.hflip_prob)
    if flipped:
        image, labels = image[:, ::-1], labels[:, ::-1]
        extra = None if extra is None else extra[:, ::-1]
    image, labels, extra = _random_affine(cv2, image, labels, extra, rng, p)
    image = _photometric(cv2, image, rng, p)
    extra = None if extra is None else np.ascontiguousarray(extra, dtype=np.float32)
    return np.ascontiguousarray(image), np.ascontiguousarray(labels), extra, flipped


def _random_affine(cv2, image, labels, extra, rng, p: AugmentParams):
    height, width = labels.shape
    angle = rng.uniform(-p.max_rotation_deg, p.max_rotation_deg)
    scale = rng.uniform(1 - p.max_scale_change, 1 + p.max_scale_change)
    shift = rng.uniform(-p.max_shift_frac, p.max_shift_frac, size=2) * (width, height)
    if angle == 0 and scale == 1 and not shift.any():
        return image, labels, extra
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, scale)
    matrix[:, 2] += shift
    # Reflect the border so no black wedges appear (the skin continues); the mask is
    # reflected identically, which keeps image and labels consistent.
    image = cv2.warpAffine(
        image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
    )
    labels = cv2.warpAffine(
        labels, matrix, (width, height), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT_101
    )
    if extra is not None:
        # The prior is not mirrored into the border: far from the eye it stays "no eye".
        extra = cv2.warpAffine(
            np.ascontiguousarray(extra, dtype=np.float32),
            matrix,
            (width, height),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
    return image, labels, extra


def _photometric(cv2, image, rng, p: AugmentParams) -> np.ndarray:
    work = image.astype(np.float32) / 255.0
    work *= 1 + rng.uniform(-p.brightness, p.brightness)
    mean = work.mean()
    work = (work - mean) * (1 + rng.uniform(-p.contrast, p.contrast)) + mean
    work *= 1 + rng.uniform(-p.colour_cast, p.colour_cast, size=3).astype(np.float32)
    grey = work.mean(axis=2, keepdims=True)
    work = grey + (work - grey) * (1 + rng.uniform(-p.saturation, p.saturation))
    work = np.clip(work, 0, 1) ** (1 + rng.uniform(-p.gamma, p.gamma))
    out = (np.clip(work, 0, 1) * 255 + 0.5).astype(np.uint8)
    if p.max_hue_shift_deg > 0:
        hsv = cv2.cvtColor(out, cv2.COLOR_RGB2HSV)
        # OpenCV stores hue as degrees / 2 in 0..179.
        shift = int(round(rng.uniform(-p.max_hue_shift_deg, p.max_hue_shift_deg) / 2))
        hsv[..., 0] = ((hsv[..., 0].astype(np.int16) + shift) % 180).astype(np.uint8)
        out = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    out = _appearance(cv2, out, rng, p)
    if rng.random() < p.blur_prob and p.max_blur_sigma_px > 0:
        sigma = rng.uniform(0.3, p.max_blur_sigma_px)
        if rng.random() < 0.5:
            out = cv2.GaussianBlur(out, (0, 0), sigma)
        else:
            out = _motion_blur(cv2, out, sigma, rng)
    if rng.random() < p.lowres_prob and p.max_downscale > 1:
        height, width = out.shape[:2]
        factor = rng.uniform(1.5, p.max_downscale) if p.max_downscale > 1.5 else p.max_downscale
        small = cv2.resize(
            out,
            (max(8, round(width / factor)), max(8, round(height / factor))),
            interpolation=cv2.INTER_AREA,
        )
        if p.lowres_jpeg_prob > 0 and rng.random() < p.lowres_jpeg_prob:
            small = jpeg_roundtrip(small, int(rng.integers(p.min_jpeg_quality, 96)))
        out = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    if rng.random() < p.noise_prob and p.max_noise_sigma > 0:
        noise = rng.normal(0, rng.uniform(1, p.max_noise_sigma), out.shape)
        out = np.clip(out + noise, 0, 255).astype(np.uint8)
    if rng.random() < p.jpeg_prob:
        out = jpeg_roundtrip(out, int(rng.integers(p.min_jpeg_quality, 96)))
    return out


def jpeg_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    """An RGB uint8 image JPEG-encoded at ``quality`` (5–100) and decoded again."""
    import cv2

    ok, encoded = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        return image
    return np.ascontiguousarray(cv2.imdecode(encoded, cv2.IMREAD_COLOR)[..., ::-1])


def _appearance(cv2, image: np.ndarray, rng: np.random.Generator, p: AugmentParams) -> np.ndarray:
    """Shading, creases, skin grain, greyscale, sharpening (each with its probability)."""
    height, width = image.shape[:2]
    out = image
    if p.shading_prob and rng.random() < p.shading_prob:
        # A 3×4 grid of random gains, smoothly interpolated: broad shadows and highlights.
        grid = rng.uniform(1 - p.max_shading, 1 + p.max_shading / 3, size=(3, 4)).astype(np.float32)
        field = cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
        out = np.clip(out.astype(np.float32) * field[..., None], 0, 255).astype(np.uint8)
    if p.wrinkle_prob and rng.random() < p.wrinkle_prob:
        lines = np.zeros((height, width), np.float32)
        for _ in range(int(rng.integers(2, 9))):
            x0, y0 = rng.uniform(0, width), rng.uniform(0, height)
            angle = rng.uniform(-0.6, 0.6) + (np.pi / 2 if rng.random() < 0.2 else 0.0)
            length = rng.uniform(0.2, 0.9) * width
            bend = rng.uniform(-0.15, 0.15) * length
            t = np.linspace(-0.5, 0.5, 24)
            xs = x0 + t * length * np.cos(angle) - (t**2 - 0.25) * bend * np.sin(angle)
            ys = y0 + t * length * np.sin(angle) + (t**2 - 0.25) * bend * np.cos(angle)
            points = np.stack([xs, ys], axis=1).round().astype(np.int32)
            cv2.polylines(
                lines,
                [points],
                False,
                float(rng.uniform(0.3, 1.0)),
                int(rng.integers(1, 4)),
                cv2.LINE_AA,
            )
        lines = cv2.GaussianBlur(lines, (0, 0), rng.uniform(0.5, 2.0))
        darken = 1 - rng.uniform(0.08, 0.3) * np.clip(lines, 0, 1)
        out = np.clip(out.astype(np.float32) * darken[..., None], 0, 255).astype(np.uint8)
    if p.grain_prob and rng.random() < p.grain_prob:
        small = rng.normal(0, 1, size=(max(2, height // 6), max(2, width // 6))).astype(np.float32)
        blotches = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
        tint = rng.uniform(0.5, 1.0, size=3).astype(np.float32)
        amount = rng.uniform(3, 12)
        out = np.clip(out + blotches[..., None] * tint * amount, 0, 255).astype(np.uint8)
    if p.grey_prob and rng.random() < p.grey_prob:
        grey = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)
        out = np.repeat(grey[..., None], 3, axis=2)
    if p.sharpen_prob and rng.random() < p.sharpen_prob:
        soft = cv2.GaussianBlur(out, (0, 0), rng.uniform(1.0, 3.0))
        out = cv2.addWeighted(out, 1.6, soft, -0.6, 0)
    return out


def _motion_blur(cv2, image: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    length = max(3, int(round(3 * sigma)) | 1)
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0 / length
    angle = rng.uniform(0, 180)
    rotation = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), angle, 1.0)
    kernel = cv2.warpAffine(kernel, rotation, (length, length))
    kernel /= max(float(kernel.sum()), 1e-6)
    return cv2.filter2D(image, -1, kernel)
