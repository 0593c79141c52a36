"""2-D affine algebra of the phantom code: every (2, 3) matrix maths lives here.

An affine is a float64 array (2, 3) ``[[a, b, tx], [c, d, ty]]`` mapping (x, y) to
``(a x + b y + tx, c x + d y + ty)``; the unit of each side is the caller's (crop px,
frame px, the fissure frame...). ``compose(outer, inner)`` applies ``inner`` first. A
*similarity* is rotation + uniform scale + translation.

This module needs NumPy only.
"""

from __future__ import annotations

import math

import numpy as np

from ocularseg.core.errors import ConfigError


def similarity_from_points(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The similarity (2, 3) that maps two points exactly onto two others.

    Args:
        src: (2, 2) points (x, y) in the source space.
        dst: (2, 2) matching points in the target space.

    Raises:
        ConfigError: the two source points coincide.
    """
    s = np.asarray(src, dtype=np.float64)
    d = np.asarray(dst, dtype=np.float64)
    zs = complex(*s[1]) - complex(*s[0])
    if abs(zs) < 1e-9:
        raise ConfigError("cannot fit a similarity to two coincident points")
    a = (complex(*d[1]) - complex(*d[0])) / zs
    b = complex(*d[0]) - a * complex(*s[0])
    return np.array([[a.real, -a.imag, b.real], [a.imag, a.real, b.imag]])


def similarity_about(
    centre_px: np.ndarray, angle_deg: float, scale: float, shift_px: tuple[float, float]
) -> np.ndarray:
    """Rotate by ``angle_deg`` and scale about ``centre_px``, then shift by ``shift_px``.

    Image y points down, so a positive angle turns clockwise on screen.

    Returns:
        (2, 3) similarity.
    """
    angle = math.radians(angle_deg)
    c, s = scale * math.cos(angle), scale * math.sin(angle)
    cx, cy = float(centre_px[0]), float(centre_px[1])
    return np.array(
        [
            [c, -s, cx - c * cx + s * cy + shift_px[0]],
            [s, c, cy - s * cx - c * cy + shift_px[1]],
        ]
    )


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """``outer ∘ inner`` for two (2, 3) affines (apply ``inner`` first)."""
    o = np.vstack([outer, [0.0, 0.0, 1.0]])
    i = np.vstack([inner, [0.0, 0.0, 1.0]])
    return (o @ i)[:2]


def invert(affine: np.ndarray) -> np.ndarray:
    """Inverse of a (2, 3) affine."""
    return np.linalg.inv(np.vstack([affine, [0.0, 0.0, 1.0]]))[:2]


def translated(affine: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """``T(shift) ∘ affine``: the output moved by ``shift`` (2,) (a new array)."""
    out = affine.copy()
    out[:, 2] += shift
    return out


def pre_translated(affine: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """``affine ∘ T(-shift)``: the input moved by ``shift`` (2,) first (a new array)."""
    out = affine.copy()
    out[:, 2] -= affine[:, :2] @ shift
    return out


def apply(affine: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map points (N, 2) (or one (2,)) through a (2, 3) affine."""
    p = np.asarray(points, dtype=np.float64)
    return p @ affine[:, :2].T + affine[:, 2]


def apply_columns(affine: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map points stored as columns (2, N) through a (2, 3) affine; returns (2, N)."""
    return affine[:, :2] @ points + affine[:, 2:3]


def apply_xy(affine: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map coordinate arrays of any (broadcastable) shape: (x, y) -> (x', y')."""
    f = affine
    return f[0, 0] * x + f[0, 1] * y + f[0, 2], f[1, 0] * x + f[1, 1] * y + f[1, 2]


def similarity_scale(affine: np.ndarray) -> float:
    """Uniform scale of a similarity (2, 3): output px per input px."""
    return float(math.hypot(affine[0, 0], affine[1, 0]))
