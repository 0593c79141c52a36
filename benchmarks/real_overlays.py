"""A contact sheet of real eye crops with the overlays ``analyze`` draws, for a person to judge.

Usage::

    python benchmarks/real_overlays.py --real runs/data/real --out docs/real_overlays.png \\
        [--model models/ocularseg-unet-real] [--n 40] [--groups london-neutral canada congress]

Takes every k-th eye of the real development set's test split (people in no training data)
from the chosen sources, segments it as ``analyze`` does (landmark prior, landmark gate,
clean-up, measurement with the crop image: lid margins refined against it, corneal reflex),
and draws ``report.overlay.render_overlay`` tiles at half size with the eye's id. Only
sources whose licence allows redistribution are offered (CC-BY 4.0 London and canada sets,
public-domain Congress portraits, CC0 inter-faces); the sheet's caption file lists the
attribution.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
ATTRIBUTION = {
    "london-neutral": "Face Research Lab London Set, DeBruine & Jones 2017, CC-BY 4.0",
    "london-smiling": "Face Research Lab London Set, DeBruine & Jones 2017, CC-BY 4.0",
    "canada": "Young Adult White Faces, DeBruine & Jones 2017, CC-BY 4.0",
    "congress": "US Congress official portraits, public domain",
    "interfaces": "inter-faces (cjdowner), CC0",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", type=Path, default=REPO / "models" / "ocularseg-unet-real")
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--groups", nargs="+", default=sorted(ATTRIBUTION))
    parser.add_argument("--ids", nargs="+", help="draw exactly these eyes (sample names)")
    args = parser.parse_args(argv)

    import cv2

    from ocularseg.data.eye_meta import read_eye_meta
    from ocularseg.data.manifest import read_manifest
    from ocularseg.io.images import read_image_rgb, write_image_atomic
    from ocularseg.report.overlay import render_overlay
    from ocularseg.stages.eye import run_eye_chain
    from ocularseg.stages.segment import Segmenter

    rows = [
        r
        for r in read_manifest(args.real)
        if r.split == "test" and r.group in set(args.groups) and r.group in ATTRIBUTION
    ]
    step = max(1, len(rows) // args.n)
    chosen = rows[::step][: args.n]
    if args.ids:
        chosen = [r for r in rows if r.stem in set(args.ids)]
    segmenter = Segmenter(args.model, device="cpu")
    tiles, used = [], set()
    for row in chosen:
        meta = read_eye_meta(args.real / row.meta)
        image = read_image_rgb(args.real / row.image)
        points = meta.dlib_points()
        # The tile draws the mask and the measurement, not the quality signal: no mirror pass.
        result = segmenter.segment([image], [points])[0]
        eye = run_eye_chain(result, image, meta.side, meta.scale_crop_per_frame, points)
        labels, measurement = eye.labels, eye.measurement
        tile = render_overlay(
            image,
            labels,
            measurement.values,
            meta.side,
            flags=measurement.flags,
            unreliable=tuple(segmenter.spec.output.unreliable_classes),
        )
        tile = cv2.resize(tile, (240, 160), interpolation=cv2.INTER_AREA)
        cv2.putText(tile, row.stem[-24:], (3, 155), 0, 0.3, (255, 255, 0), 1, cv2.LINE_AA)
        tiles.append(tile)
        used.add(row.group)
    columns = 5
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    sheet = np.vstack([np.hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)])
    write_image_atomic(args.out, sheet)
    caption = args.out.with_suffix(".txt")
    caption.write_text(
        f"{len(chosen)} real eye crops of the development set (test split), model "
        f"{args.model.name}. Sources: " + "; ".join(sorted({ATTRIBUTION[g] for g in used})) + "\n",
        encoding="utf-8",
    )
    print(f"wrote {args.out} ({len(chosen)} eyes) and {caption}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
