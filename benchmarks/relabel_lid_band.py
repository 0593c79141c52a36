"""Copy a built real set with the upper-lid band of its silver labels left unlabelled.

Usage::

    python benchmarks/relabel_lid_band.py --real runs/data/real --out runs/data/real-lidband \
        [--half-width-r 0.12]

The real set's silver labels trace the teacher's upper lid to the pixel; the teacher reads
MRD1 about 0.55 mm below human-placed margins. This writes a copy of the set (images and
metadata linked, not copied; manifest copied) whose masks hold ``PartialLabel.IGNORE`` within
``--half-width-r`` teacher iris radii of the teacher's upper lid over the iris
(:func:`upper_lid_band`), redrawn from the teacher points in each eye's
``meta/NAME.json``, so that a fine-tune learns the margin's place inside that band from the
phantoms only. Every pixel a redrawn mask still labels equals the set's own (checked).
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

import numpy as np

from ocularseg.core.labels import PartialLabel
from ocularseg.data.eye_meta import read_eye_meta
from ocularseg.io.images import read_image_unchanged, write_image_atomic
from ocularseg.realdata.silver import TeacherEye, catmull_rom, silver_label_map

#: Columns of the upper-lid band, as iris radii either side of the teacher's iris centre:
#: the columns MRD1's lid-margin fit reads (``measure.lid_margin_half_width_r`` 0.8) and a
#: little more.
UPPER_LID_BAND_SPAN_R = 1.0


def upper_lid_band(
    eye: TeacherEye,
    shape_hw: tuple[int, int],
    half_width_r: float,
    span_r: float = UPPER_LID_BAND_SPAN_R,
) -> np.ndarray:
    """Boolean (H, W): pixels within ``half_width_r`` iris radii of the teacher's upper lid.

    Only columns within ``span_r`` iris radii of the iris centre. The teacher's upper lid
    reads MRD1 about 0.55 mm below the human-placed London templates
    (``benchmarks/teacher_vs_human.py``), so it is not trusted to the pixel there: left
    unlabelled, the band's margin is placed by the phantoms, whose lid is exact, while the
    rest of the silver map still holds the real opening in place. A rejected experiment
    (``docs/configs/real/ft_lidband.yaml``, docs/experiments.md section 5), kept here
    out of the library.
    """
    import cv2

    curve = catmull_rom(eye.upper_lid, 16)
    line = np.full(shape_hw, 255, np.uint8)
    fixed = np.round(curve * 16).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(line, [fixed], False, 0, thickness=1, lineType=cv2.LINE_8, shift=4)
    distance_px = cv2.distanceTransform(line, cv2.DIST_L2, 5)
    cols = np.arange(shape_hw[1])[None, :]
    near_iris = np.abs(cols - eye.iris_centre[0]) <= span_r * eye.iris_radius
    return (distance_px <= half_width_r * eye.iris_radius) & near_iris


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
        meta = read_eye_meta(real / "meta" / f"{mask_path.stem}.json")
        eye = TeacherEye.from_geometry(meta.teacher)
        original = read_image_unchanged(mask_path)
        redrawn = silver_label_map(eye, original.shape)
        redrawn[upper_lid_band(eye, original.shape, args.half_width_r)] = PartialLabel.IGNORE
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
