"""Build ``docs/phantoms_contact_sheet.png``: a grid of phantoms with their label overlays.

Run: ``/work/venv/bin/python benchmarks/contact_sheet.py [--out docs/phantoms_contact_sheet.png]``.
Picks a spread of skin types, sides, gaze and lid levels (incl. ptosis, a blink and head
roll) from dataset seed 0; each tile is half size (240×160) with its label overlay below.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import cv2
import numpy as np

from ocularseg.core.labels import LABEL_COLOURS_RGB, Label
from ocularseg.io.images import write_image_atomic
from ocularseg.synth.dataset import sample_params
from ocularseg.synth.render import render_eye

#: (index of a dataset-seed-0 sample, forced overrides) for each tile.
TILES: list[dict] = [
    {},
    {"gaze_x": 1.0, "gaze_y": 0.0},
    {"gaze_x": -1.0, "gaze_y": 0.0},
    {"gaze_y": -1.0, "gaze_x": 0.0},
    {"gaze_y": 1.0, "gaze_x": 0.0},
    {"upper_lid_open": 1.0},
    {"upper_lid_open": 0.45},
    {"upper_lid_open": 0.18},
    {"upper_lid_open": 0.0},
    {"roll_deg": 14.0},
    {"roll_deg": -14.0},
    {"eye_width_frac": 0.42},
    {"eye_width_frac": 0.88},
    {},
    {},
    {},
]


def build(columns: int = 4, seed: int = 0) -> np.ndarray:
    """Return the contact sheet as an RGB uint8 array."""
    lut = np.zeros((len(Label), 3), np.uint8)
    for label, colour in LABEL_COLOURS_RGB.items():
        lut[int(label)] = colour
    tiles = []
    for i, overrides in enumerate(TILES):
        # Spread subjects so all six skin types appear.
        params = sample_params(i * 7 + 3, seed=seed, n_subjects=64)
        params = dataclasses.replace(params, **overrides)
        eye = render_eye(params)
        image = cv2.resize(eye.image, (240, 160), interpolation=cv2.INTER_AREA)
        labels = cv2.resize(eye.labels, (240, 160), interpolation=cv2.INTER_NEAREST)
        overlay = np.where(
            (labels > 0)[..., None], (0.45 * image + 0.55 * lut[labels]).astype(np.uint8), image
        )
        text = f"{params.side} F{params.fitzpatrick} lid {params.upper_lid_open:.2f}"
        if eye.truth["mrd1_px"] is not None:
            text += f" mrd1 {eye.truth['mrd1_px']:.0f}px"
        cv2.putText(overlay, text, (4, 154), cv2.FONT_HERSHEY_SIMPLEX, 0.36, (255, 255, 255), 1)
        tiles.append(np.concatenate([image, overlay], axis=0))
    rows = [np.concatenate(tiles[r : r + columns], axis=1) for r in range(0, len(tiles), columns)]
    return np.concatenate(rows, axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/phantoms_contact_sheet.png"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    write_image_atomic(args.out, build(seed=args.seed))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
