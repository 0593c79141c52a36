"""Real-context phantoms: a drawn eyeball inside the real eye opening of a real face.

The phantoms' skin, lids and lashes are drawn too, and a network trained on them learns
shortcuts that fail on people (a bright smooth region is sclera). Here everything outside
the eye opening is a real photograph — skin, lids, lashes, brows, make-up, glasses — and
only the eyeball is drawn, inside the teacher's lid contour, so the four-class label map is
exact by construction:

* opening = the teacher's lid contour (the drawn region);
* iris disc = a circle near the teacher's iris (gaze and size jittered), cut by the lids;
* pupil = a concentric circle (radius from the phantom generator's pupil sizes);
* caruncle = a pink ellipse at the inner corner, inside the opening;
* sclera = the rest of the opening, coloured from the real sclera of that eye.

The iris texture is the phantom generator's (:func:`~ocularseg.synth.textures.iris_polar_texture`);
the drawn eyeball is blurred to the sharpness of the real crop (crops of small eyes are
upsampled and soft) and feathered over one pixel into the real image.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ocularseg.core.labels import Label, PartialLabel
from ocularseg.data.eye_meta import read_eye_meta
from ocularseg.data.manifest import read_manifest
from ocularseg.data.writer import DatasetWriter
from ocularseg.io.images import read_image_rgb, read_image_unchanged
from ocularseg.realdata.silver import TeacherEye, fill_polygon

if TYPE_CHECKING:
    from ocularseg.synth.params import EyeParams

log = logging.getLogger(__name__)


def render_context_phantom(
    image: np.ndarray,
    silver: np.ndarray,
    eye: TeacherEye,
    side: str,
    scale_crop_per_frame: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw a phantom eyeball into the opening of a real crop.

    Args:
        image: real RGB crop (H, W, 3) uint8.
        silver: its silver label map (H, W), used for the real sclera colour.
        eye: the teacher's eye in crop px.
        side: the patient's side (the caruncle is at the inner corner either way).
        scale_crop_per_frame: crop px per frame px (sets the blur that matches the photo).
        rng: the only randomness.

    Returns:
        (image, labels): the composite and its exact full label map (values in ``Label``).
    """
    from ocularseg.synth.params import sample_eye_params, subject_traits

    params = sample_eye_params(subject_traits(int(rng.integers(1 << 30)), 0), side, rng)
    ball = _eyeball(eye, silver.shape, float(params.pupil_radius_frac), rng)
    sclera = _sclera(image, silver, ball, eye.corner_distance, rng)
    drawn = _shaded(_painted(ball, sclera, params, rng), ball, rng)
    return _blended(image, drawn, ball.opening, scale_crop_per_frame, rng), ball.labels()


@dataclass(frozen=True)
class _Eyeball:
    """The drawn eyeball's parts in crop px: (H, W) bool masks and the iris circle.

    ``rows``/``cols`` are the (H, W) float32 pixel coordinates; ``cx``, ``cy``, ``radius``
    the iris circle (crop px).
    """

    rows: np.ndarray
    cols: np.ndarray
    opening: np.ndarray
    iris: np.ndarray
    pupil: np.ndarray
    caruncle: np.ndarray
    cx: float
    cy: float
    radius: float

    def labels(self) -> np.ndarray:
        """The exact full label map (H, W) uint8: every part cut by the lids."""
        opening, iris = self.opening, self.iris
        labels = np.zeros(opening.shape, np.uint8)
        labels[opening] = Label.SCLERA
        labels[opening & self.caruncle & ~iris] = Label.CARUNCLE
        labels[opening & iris] = Label.IRIS
        labels[opening & iris & self.pupil] = Label.PUPIL
        return labels


def _eyeball(
    eye: TeacherEye, shape_hw: tuple[int, int], pupil_radius_frac: float, rng: np.random.Generator
) -> _Eyeball:
    """Iris and pupil discs near the teacher's iris, a caruncle at the inner corner."""
    opening = fill_polygon(eye.contour(), shape_hw)
    rows, cols = np.indices(shape_hw, dtype=np.float32)
    radius = eye.iris_radius * rng.uniform(0.92, 1.08)
    cx = eye.iris_centre[0] + rng.uniform(-0.35, 0.35) * radius
    cy = eye.iris_centre[1] + rng.uniform(-0.12, 0.12) * radius
    pupil_r = radius * float(np.clip(pupil_radius_frac, 0.2, 0.6))
    px = cx + rng.uniform(-0.05, 0.05) * radius
    py = cy + rng.uniform(-0.05, 0.05) * radius
    iris = np.hypot(cols - cx, rows - cy) <= radius
    pupil = np.hypot(cols - px, rows - py) <= pupil_r
    caruncle = _caruncle(eye, rows, cols, rng)
    return _Eyeball(rows, cols, opening, iris, pupil, caruncle, cx, cy, radius)


def _caruncle(
    eye: TeacherEye, rows: np.ndarray, cols: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """(H, W) bool: an ellipse just inside the inner corner, along the corner axis."""
    outer, inner = eye.corners
    along = (inner - outer) / max(eye.corner_distance, 1e-6)
    car_centre = inner - along * eye.corner_distance * rng.uniform(0.03, 0.07)
    car_axes = (
        eye.corner_distance * rng.uniform(0.05, 0.09),
        eye.corner_distance * rng.uniform(0.05, 0.1),
    )
    angle = math.atan2(along[1], along[0])
    u = (cols - car_centre[0]) * math.cos(angle) + (rows - car_centre[1]) * math.sin(angle)
    v = -(cols - car_centre[0]) * math.sin(angle) + (rows - car_centre[1]) * math.cos(angle)
    return (u / car_axes[0]) ** 2 + (v / car_axes[1]) ** 2 <= 1


def _sclera(
    image: np.ndarray,
    silver: np.ndarray,
    ball: _Eyeball,
    corner_distance: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """(H, W, 3) float sclera colour over the whole crop, with vessels.

    The real eye's own sclera colour (brightest two thirds of its "opening, not disc"
    pixels), darker towards the corners and under the upper lid.
    """
    real_sclera = image[silver == PartialLabel.OPENING_NOT_DISC].astype(np.float32)
    if len(real_sclera) >= 20:
        brightness = real_sclera.sum(axis=1)
        base = np.median(real_sclera[brightness >= np.percentile(brightness, 33)], axis=0)
    else:
        base = np.array([215, 205, 200], np.float32)
    # Half-way to a neutral white: the silver "opening" rim also holds some lid margin.
    white = np.array([228, 222, 215], np.float32) * rng.uniform(0.75, 1.05)
    base = np.clip((0.5 * base + 0.5 * white) * rng.uniform(0.92, 1.08, size=3), 0, 255)
    across = np.abs((ball.cols - ball.cx) / max(corner_distance / 2, 1))
    sclera = base[None, None, :] * (1 - 0.25 * np.clip(across, 0, 1.5) ** 2)[..., None]
    sclera = sclera + rng.normal(0, 3, size=sclera.shape)
    sclera[..., 1:] -= (60 * _vessels(ball.opening.shape, rng))[..., None]
    return sclera


def _vessels(shape_hw: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """(H, W) float32 0–1: up to six random-walk vessel lines."""
    import cv2

    height, width = shape_hw
    vessels = np.zeros((height, width), np.float32)
    for _ in range(int(rng.integers(0, 7))):
        start = np.array([rng.uniform(0, width), rng.uniform(0, height)])
        points = [start]
        for _ in range(6):
            points.append(points[-1] + rng.normal(0, 12, size=2))
        cv2.polylines(vessels, [np.array(points, np.int32)], False, 1.0, 1, cv2.LINE_AA)
    return vessels


def _painted(
    ball: _Eyeball, sclera: np.ndarray, params: EyeParams, rng: np.random.Generator
) -> np.ndarray:
    """(H, W, 3) float: the phantom generator's iris texture, a dark pupil, a pink caruncle."""
    import cv2

    from ocularseg.synth.textures import iris_polar_texture, iris_remap_coords

    polar = iris_polar_texture(params, rng)
    map_x, map_y = iris_remap_coords(ball.cols - ball.cx, ball.rows - ball.cy, ball.radius)
    iris_rgb = cv2.remap(polar, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    drawn = np.where(ball.iris[..., None], iris_rgb, sclera)
    pupil_grey = rng.uniform(8, 35)
    drawn = np.where(ball.pupil[..., None], pupil_grey, drawn)
    car_rgb = np.array([rng.uniform(170, 220), rng.uniform(95, 140), rng.uniform(95, 140)])
    return np.where((ball.caruncle & ~ball.iris)[..., None], car_rgb, drawn)


def _shaded(drawn: np.ndarray, ball: _Eyeball, rng: np.random.Generator) -> np.ndarray:
    """Shadow of the upper lid and a corneal reflex: image only, labels unchanged."""
    import cv2

    cx, cy, radius = ball.cx, ball.cy, ball.radius
    inside = cv2.distanceTransform(ball.opening.astype(np.uint8), cv2.DIST_L2, 3)
    upper = ball.rows < cy
    shadow = 1 - rng.uniform(0.1, 0.45) * np.exp(-inside / max(0.15 * radius, 1)) * upper
    drawn = drawn * shadow[..., None]
    if rng.random() < 0.8:
        rx, ry = cx + rng.uniform(-0.4, 0.4) * radius, cy + rng.uniform(-0.4, 0.2) * radius
        reflex = np.hypot(ball.cols - rx, ball.rows - ry) <= radius * rng.uniform(0.04, 0.12)
        drawn[reflex] = 250
    return drawn


def _blended(
    image: np.ndarray,
    drawn: np.ndarray,
    opening: np.ndarray,
    scale_crop_per_frame: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """The drawn eyeball blurred to the photo's softness and feathered into it (uint8)."""
    import cv2

    # Match the photo's softness: a crop upsampled ×s from the frame is blurred by ~s/2.
    sigma = max(0.5, 0.45 * float(scale_crop_per_frame)) * rng.uniform(0.7, 1.3)
    drawn = cv2.GaussianBlur(np.clip(drawn, 0, 255).astype(np.float32), (0, 0), sigma)
    alpha = cv2.GaussianBlur(opening.astype(np.float32), (0, 0), 0.8)[..., None]
    alpha = np.where(opening[..., None], np.maximum(alpha, 0.5), alpha)
    out = image.astype(np.float32) * (1 - alpha) + drawn * alpha
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def build_context_phantoms(
    real_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    per_eye: int = 2,
    seed: int = 0,
    splits: tuple[str, ...] = ("train",),
) -> int:
    """Write a full-label dataset of real-context phantoms from a silver real set.

    Only open eyes of ``splits`` are used (never the development set's people); each gives
    ``per_eye`` variants. Returns the number of images written.
    """
    root = Path(real_dir)
    rows = [r for r in read_manifest(root) if r.split in splits]
    rng = np.random.default_rng(seed)
    with DatasetWriter(out_dir) as writer:
        for row in rows:
            meta = read_eye_meta(root / row.meta)
            if not meta.open:
                continue
            image = read_image_rgb(root / row.image)
            silver = read_image_unchanged(root / row.mask)
            eye = TeacherEye.from_meta(meta, str(root / row.meta))
            for k in range(per_eye):
                composite, labels = render_context_phantom(
                    image, silver, eye, meta.side, meta.scale_crop_per_frame, rng
                )
                added = writer.add(
                    f"{row.stem}_ctx{k}",
                    composite,
                    labels,
                    subject=row.subject,
                    group="real-context",
                    source=row.image,
                )
                writer.write_json(
                    f"meta/{Path(added.image).stem}.json",
                    {
                        "from": row.image,
                        "licence": meta.licence,
                        "source": meta.source,
                        "side": meta.side,
                    },
                )
        writer.rows[:] = [
            r.__class__(r.image, r.mask, r.subject, r.group, "train") for r in writer.rows
        ]
        writer.commit()
        return len(writer.rows)
