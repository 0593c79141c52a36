"""Helpers for the dataset tests: realistic synthetic eye masks, images and LabelMe files."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ocularseg.io.images import write_image_atomic

HEIGHT, WIDTH = 320, 480

#: (name, upper-lid height px, lower-lid height px, iris centre (x, y), iris r, pupil r,
#:  caruncle at the left corner?) — "ptosis" has the upper lid below the iris centre.
EYES: list[tuple[str, int, int, tuple[int, int], int, int, bool]] = [
    ("open", 95, 70, (240, 165), 72, 26, True),
    ("gaze-left", 90, 65, (185, 170), 70, 30, False),
    ("ptosis", 30, 70, (245, 175), 74, 28, True),
    ("small-pupil", 85, 75, (260, 160), 66, 12, True),
]


def eye_mask(
    upper_px: int,
    lower_px: int,
    centre: tuple[int, int],
    iris_r: int,
    pupil_r: int,
    caruncle_left: bool,
) -> np.ndarray:
    """uint8 (320, 480) label map of an eye: almond opening, lid-clipped iris and pupil."""
    x0, x1, cy = 50, 430, 170
    xs = np.linspace(x0, x1, 200)
    t = (xs - x0) / (x1 - x0)
    upper = np.stack([xs, cy - upper_px * np.sin(np.pi * t) ** 0.8], axis=1)
    lower = np.stack([xs[::-1], cy + lower_px * np.sin(np.pi * t[::-1]) ** 1.1], axis=1)
    opening = np.zeros((HEIGHT, WIDTH), np.uint8)
    cv2.fillPoly(opening, [np.round(np.vstack([upper, lower])).astype(np.int32)], 1)
    mask = opening.copy()  # sclera everywhere in the opening
    iris = np.zeros_like(mask)
    cv2.circle(iris, centre, iris_r, 1, -1)
    mask[(iris == 1) & (opening == 1)] = 2
    pupil = np.zeros_like(mask)
    cv2.circle(pupil, centre, pupil_r, 1, -1)
    mask[(pupil == 1) & (opening == 1)] = 3
    caruncle = np.zeros_like(mask)
    corner = x0 if caruncle_left else x1
    sign = 1 if caruncle_left else -1
    tri = np.array(
        [[corner - 5 * sign, cy], [corner + 45 * sign, cy - 22], [corner + 40 * sign, cy + 20]]
    )
    cv2.fillPoly(caruncle, [tri.astype(np.int32)], 1)
    mask[(caruncle == 1) & (opening == 1) & (mask == 1)] = 4
    return mask


def eye_image(mask: np.ndarray, seed: int = 0) -> np.ndarray:
    """An RGB uint8 image whose colours follow ``mask`` plus noise (PNG-friendly)."""
    palette = np.array(
        [[200, 150, 130], [235, 235, 230], [90, 120, 60], [15, 15, 15], [210, 120, 120]], np.uint8
    )
    rng = np.random.default_rng(seed)
    noise = rng.integers(-10, 10, size=(*mask.shape, 3))
    return np.clip(palette[mask].astype(int) + noise, 0, 255).astype(np.uint8)


def named_eye_mask(name: str) -> np.ndarray:
    """The mask of the ``EYES`` entry called ``name``."""
    spec = next(e for e in EYES if e[0] == name)
    return eye_mask(*spec[1:])


def write_labelme(path: Path, doc: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def labelme_doc(
    shapes: list[dict[str, Any]],
    image_path: str | None,
    *,
    height: int = 40,
    width: int = 60,
    image_data: bytes | None = None,
) -> dict[str, Any]:
    return {
        "version": "5.4.1",
        "flags": {},
        "shapes": shapes,
        "imagePath": image_path,
        "imageData": base64.b64encode(image_data).decode() if image_data else None,
        "imageHeight": height,
        "imageWidth": width,
    }


def shape(label: str, points: list[list[float]], shape_type: str = "polygon") -> dict[str, Any]:
    return {
        "label": label,
        "points": points,
        "group_id": None,
        "shape_type": shape_type,
        "flags": {},
    }


def write_png(path: Path, image: np.ndarray) -> Path:
    write_image_atomic(path, image)
    return path


def write_dataset(
    root: Path,
    samples: list[tuple[str, str, str]],
    *,
    masks: dict[str, np.ndarray] | None = None,
) -> Path:
    """Write a valid dataset: ``samples`` are (name, subject, split); masks realistic.

    ``masks`` overrides the mask of a sample by name.
    """
    from ocularseg.data.manifest import ManifestRow, write_manifest

    rows = []
    base = named_eye_mask("open")
    for i, (name, subject, split) in enumerate(samples):
        mask = (masks or {}).get(name, base)
        write_png(root / "images" / f"{name}.png", eye_image(mask, seed=i))
        write_png(root / "masks" / f"{name}.png", mask)
        rows.append(ManifestRow(f"images/{name}.png", f"masks/{name}.png", subject, "g", split))
    write_manifest(root, rows)
    return root


def iou_per_class(a: np.ndarray, b: np.ndarray) -> dict[int, float]:
    """IoU of classes 1..4 present in either map."""
    out = {}
    for c in range(1, 5):
        union = np.count_nonzero((a == c) | (b == c))
        if union:
            out[c] = np.count_nonzero((a == c) & (b == c)) / union
    return out
