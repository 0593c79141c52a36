"""Texture sources for the phantom renderer: cached noise tiles and the iris pattern.

The noise tiles are generated once per process from a fixed seed (so they are identical in
every run and every worker) and each image takes a randomly placed, scaled and flipped
window of them — much cheaper than drawing fresh multi-octave noise for every image.
"""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np

from ocularseg.synth.params import EyeParams

_TILE_SIZE = 768
_TILE_SEED = 20240611

#: Polar iris texture resolution: radial rows (centre -> limbus) × angular columns.
IRIS_RADIAL = 64
IRIS_ANGULAR = 512


@lru_cache(maxsize=1)
def noise_tiles() -> tuple[np.ndarray, np.ndarray]:
    """(low-frequency mottling, fine pores/grain) tiles, float32 (768, 768), zero mean, unit std."""
    rng = np.random.default_rng(_TILE_SEED)
    size = _TILE_SIZE
    low = np.zeros((size, size), np.float32)
    for cells, amp in ((6, 1.0), (12, 0.7), (24, 0.45), (48, 0.3), (96, 0.2)):
        grid = rng.standard_normal((cells, cells)).astype(np.float32)
        low += amp * cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)
    low = (low - low.mean()) / low.std()
    fine = cv2.GaussianBlur(rng.standard_normal((size, size)).astype(np.float32), (0, 0), 0.7)
    fine /= fine.std()
    pores = cv2.GaussianBlur((rng.random((size, size)) < 0.006).astype(np.float32), (0, 0), 1.0)
    fine -= 0.6 * pores / pores.std()
    fine = (fine - fine.mean()) / fine.std()
    return low, fine


@lru_cache(maxsize=1)
def sensor_noise_tile() -> np.ndarray:
    """Unit-variance RGB sensor noise, float32 (768, 768, 3), partly shared across channels."""
    rng = np.random.default_rng(_TILE_SEED + 1)
    noise = rng.standard_normal((_TILE_SIZE, _TILE_SIZE, 3)).astype(np.float32)
    # 40 % luma (shared) noise, 60 % chroma noise, as in a demosaiced camera image.
    mixed = 0.6 * noise + 0.4 * noise[..., :1]
    return np.ascontiguousarray(mixed / mixed.std(), dtype=np.float32)


def noise_window(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A random (height, width, 3) window of :func:`sensor_noise_tile` (tiled if larger)."""
    tile = sensor_noise_tile()
    size = tile.shape[0]
    if height > size or width > size:
        reps = (-(-height // size), -(-width // size), 1)
        tile = np.tile(tile, reps)
    y0 = int(rng.integers(0, tile.shape[0] - height + 1))
    x0 = int(rng.integers(0, tile.shape[1] - width + 1))
    return tile[y0 : y0 + height, x0 : x0 + width]


def tile_window(tile: np.ndarray, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A random (height, width) float32 window of ``tile``, randomly scaled and flipped."""
    size = tile.shape[0]
    scale = rng.uniform(0.75, 1.3)
    flip = int(rng.integers(0, 4))
    src_w = min(size, max(8, int(width * scale)))
    src_h = min(size, max(8, int(height * scale)))
    x0 = int(rng.integers(0, size - src_w + 1))
    y0 = int(rng.integers(0, size - src_h + 1))
    window = tile[y0 : y0 + src_h, x0 : x0 + src_w]
    if flip & 1:
        window = window[:, ::-1]
    if flip & 2:
        window = window[::-1, :]
    if window.shape != (height, width):
        window = cv2.resize(window, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(window, dtype=np.float32)


def _smooth_circular(values: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing of a 1-D periodic signal."""
    n = values.shape[0]
    pad = int(3 * sigma) + 1
    padded = np.concatenate([values[-pad:], values, values[:pad]]).astype(np.float32)
    out = cv2.GaussianBlur(padded[None, :], (0, 0), sigmaX=sigma, sigmaY=0.01)[0]
    return out[pad : pad + n]


def _blur_wrap_columns(image: np.ndarray, sigma_x: float, sigma_y: float) -> np.ndarray:
    """Gaussian blur that wraps around horizontally (the angle axis of a polar image)."""
    pad = int(3 * sigma_x) + 1
    padded = np.concatenate([image[:, -pad:], image, image[:, :pad]], axis=1)
    return cv2.GaussianBlur(padded, (0, 0), sigmaX=sigma_x, sigmaY=sigma_y)[:, pad:-pad]


def iris_polar_texture(params: EyeParams, rng: np.random.Generator) -> np.ndarray:
    """Iris colour in polar form, float32 (IRIS_RADIAL, IRIS_ANGULAR, 3) sRGB 0–255.

    Row i is the normalised radius rho = i / (IRIS_RADIAL - 1) (0 = iris centre, 1 =
    limbus); column j the angle 2π j / IRIS_ANGULAR. Features: radial stromal fibres,
    a pupillary zone inside a wavy collarette, crypts, contraction furrows, pupillary ruff
    and limbal ring.
    """
    nr, nt = IRIS_RADIAL, IRIS_ANGULAR
    rho = np.linspace(0.0, 1.0, nr, dtype=np.float32)[:, None]
    rho_p = float(params.pupil_radius_frac)
    fibres = _blur_wrap_columns(rng.standard_normal((nr, nt)).astype(np.float32), 1.1, 5.0)
    fibres /= fibres.std() + 1e-6
    fine = cv2.GaussianBlur(rng.standard_normal((nr, nt)).astype(np.float32), (0, 0), 0.8)
    fine /= fine.std() + 1e-6
    wave = _smooth_circular(rng.standard_normal(nt).astype(np.float32), 10.0)
    wave /= np.abs(wave).max() + 1e-6
    rho_c = rho_p + (1.0 - rho_p) * rng.uniform(0.25, 0.4) + 0.035 * wave[None, :]
    inner = 1.0 / (1.0 + np.exp((rho - rho_c) / 0.025))
    ridge = np.exp(-(((rho - rho_c) / 0.02) ** 2))

    # Crypts (dark lacunae) and concentric contraction furrows, drawn in the polar image.
    marks = np.zeros((nr, nt), np.float32)
    for _ in range(int(params.iris_crypts)):
        rc = rng.uniform(0.5, 0.85) * (nr - 1)
        tc = rng.uniform(0, nt)
        axes = (max(1, int(rng.uniform(3, 10))), max(1, int(rng.uniform(2, 5))))
        cv2.ellipse(marks, (int(tc), int(rc)), axes, 0, 0, 360, 1.0, -1)
    for _ in range(int(rng.integers(0, 4))):
        row = int(rng.uniform(0.72, 0.92) * (nr - 1))
        t0 = int(rng.uniform(0, nt))
        cv2.line(marks, (t0, row), (t0 + int(rng.uniform(30, 140)), row), 0.6, 1)
    marks = cv2.GaussianBlur(marks, (0, 0), 1.2)

    base = np.array(params.iris_rgb, np.float32)
    light = np.array(params.iris_light_rgb, np.float32)
    collarette = np.array(params.iris_collarette_rgb, np.float32)
    mix = np.clip(0.35 + 0.22 * params.iris_fibre_contrast * fibres + 0.08 * fine, 0.0, 1.0)
    colour = base + (light - base) * mix[..., None]
    inner_w = (0.75 * inner * np.clip(0.8 + 0.2 * fibres, 0.0, 1.2))[..., None]
    colour = colour * (1.0 - inner_w) + collarette * inner_w
    colour *= (1.0 + 0.18 * ridge * np.clip(1.0 + 0.5 * fibres, 0.0, 2.0))[..., None]
    colour *= (1.0 - 0.5 * np.clip(marks, 0.0, 1.0))[..., None]
    limbal = params.limbal_ring_strength * np.clip((rho - 0.8) / 0.2, 0.0, 1.0) ** 1.5
    ruff = 0.55 * np.exp(-(((rho - rho_p - 0.02) / 0.025) ** 2))
    colour *= (1.0 - limbal - ruff)[..., None]
    return np.clip(colour, 0.0, 255.0).astype(np.float32)


def iris_remap_coords(
    dx: np.ndarray, dy: np.ndarray, radius: float
) -> tuple[np.ndarray, np.ndarray]:
    """cv2.remap maps (float32) into :func:`iris_polar_texture` for offsets from the iris centre."""
    dist = np.sqrt(dx * dx + dy * dy)
    map_y = np.minimum(dist * ((IRIS_RADIAL - 1) / radius), IRIS_RADIAL - 1).astype(np.float32)
    theta = np.arctan2(dy, dx)
    map_x = ((theta + math.pi) * (IRIS_ANGULAR / (2 * math.pi))).astype(np.float32)
    return map_x, map_y
