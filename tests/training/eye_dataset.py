"""A small, seeded on-disk dataset of drawn eyes for trainer/export/evaluate tests.

Independent of the phantom generator so these tests exercise the training path alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ocularseg.data.manifest import ManifestRow, write_manifest
from ocularseg.io.images import write_image_atomic

PALETTE = np.array(
    [[190, 140, 120], [235, 230, 225], [70, 110, 160], [15, 15, 20], [210, 120, 130]], np.uint8
)


def make_eye_dataset(root: Path, *, n_images: int = 8, n_subjects: int = 4, seed: int = 0) -> Path:
    """Write ``n_images`` 480×320 eyes (varying position, size and lid) with masks."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:320, 0:480]
    rows = []
    for i in range(n_images):
        cx, cy = rng.uniform(200, 280), rng.uniform(140, 180)
        half_w, half_h = rng.uniform(150, 200), rng.uniform(60, 90)
        labels = np.zeros((320, 480), np.uint8)
        opening = ((xx - cx) / half_w) ** 2 + ((yy - cy) / half_h) ** 2 <= 1
        opening &= yy >= cy - rng.uniform(30, 90)  # upper lid position
        labels[opening] = 1
        iris_x = cx + rng.uniform(-40, 40)
        r = rng.uniform(45, 60)
        disc = (xx - iris_x) ** 2 + (yy - cy) ** 2 <= r**2
        labels[disc & opening] = 2
        labels[((xx - iris_x) ** 2 + (yy - cy) ** 2 <= (r / 3) ** 2) & opening] = 3
        labels[((xx - (cx + half_w * 0.85)) ** 2 + (yy - cy) ** 2 <= 15**2) & opening] = 4
        image = PALETTE[labels].astype(np.int16) + rng.normal(0, 8, (320, 480, 3)).astype(np.int16)
        image = np.clip(image, 0, 255).astype(np.uint8)
        name = f"eye{i:03d}.png"
        write_image_atomic(root / "images" / name, image)
        write_image_atomic(root / "masks" / name, labels)
        rows.append(ManifestRow(f"images/{name}", f"masks/{name}", f"s{i % n_subjects}", "drawn"))
    write_manifest(root, rows)
    return root
