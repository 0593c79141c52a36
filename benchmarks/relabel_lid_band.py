"""Copy a built real set with the upper-lid band of its silver labels left unlabelled.

Usage::

    python benchmarks/relabel_lid_band.py --real runs/data/real --out runs/data/real-lidband \
        [--half-width-r 0.12]

The real set's silver labels trace the teacher's upper lid to the pixel; the teacher reads
MRD1 about 0.55 mm below human-placed margins. This writes a copy of the set (images and
metadata linked, not copied; manifest copied) whose masks hold ``PartialLabel.IGNORE`` within
``--half-width-r`` teacher iris radii of the teacher's upper lid over the iris
(``realdata.silver.upper_lid_band``), redrawn from the teacher points in each eye's
``meta/NAME.json``, so that a fine-tune learns the margin's place inside that band from the
phantoms only. Every pixel a redrawn mask still labels equals the set's own (checked).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

import numpy as np

from ocularseg.core.labels import PartialLabel
from ocularseg.io.images import read_image_unchanged, write_image_atomic
from ocularseg.realdata.context_phantoms import teacher_eye_from_meta
from ocularseg.realdata.silver import silver_label_map


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--real", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--half-width-r", type=float, default=0.12)
    args = parser.parse_args()
    real = args.real.resolve()
    if args.out.exists():
        raise SystemExit(f"{args.out}: exists; choose a new folder")
    staging = args.out.with_name(args.out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "masks").mkdir(parents=True)
    for name in ("images", "meta"):
        os.symlink(real / name, staging / name)
    for name in os.listdir(real):
        if name.endswith((".csv", ".json")):
            shutil.copy2(real / name, staging / name)
    banded_px, changed_outside = [], 0
    for mask_path in sorted((real / "masks").glob("*.png")):
        meta = json.loads((real / "meta" / f"{mask_path.stem}.json").read_text("utf-8"))
        eye = teacher_eye_from_meta(meta)
        original = read_image_unchanged(mask_path)
        redrawn = silver_label_map(eye, original.shape, upper_lid_ignore_r=args.half_width_r)
        labelled = redrawn != PartialLabel.IGNORE
        changed_outside += int(np.count_nonzero((redrawn != original) & labelled))
        banded_px.append(int(np.count_nonzero(redrawn == PartialLabel.IGNORE)))
        write_image_atomic(staging / "masks" / mask_path.name, redrawn)
    if changed_outside:
        raise SystemExit(
            f"redrawn masks differ from {real} outside the band ({changed_outside} px)"
        )
    staging.rename(args.out)
    print(
        f"wrote {len(banded_px)} masks to {args.out}; unlabelled px per mask median "
        f"{np.median(banded_px):.0f}"
    )


if __name__ == "__main__":
    main()
