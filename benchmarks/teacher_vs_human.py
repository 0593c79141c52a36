"""How good are the silver labels? The teacher against human landmarks (London set).

The Face Research Lab London Set ships, beside each photo, a Psychomorph template placed by
hand (``.tem``, 189 points; CC-BY 4.0): pupil centres (0, 1), an 8-point iris outline per
eye (2–9, 10–17), and per eye two corners with three upper-lid and three lower-lid points
(18, 19–21, 22 + 28–30; 23, 24–26, 27 + 31–33). For every London eye of a real set built by
``ocularseg data build-real`` this maps the human points into the crop and compares them
with the teacher's silver labels:

* opening Dice: the human lid polygon (centripetal Catmull-Rom through each lid, like the
  teacher's) vs the silver opening;
* iris centre distance and radius ratio (human: mean and mean distance of the 8 outline
  points);
* MRD1 in mm by both, with the same definition as ``evaluate_real``.

    python benchmarks/teacher_vs_human.py --real runs/data/real \\
        --mirror /work/.mirror/debruine+webmorphR.stim/repo
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
from pathlib import Path

import numpy as np

from ocularseg.data.eye_meta import read_eye_meta
from ocularseg.data.manifest import read_manifest
from ocularseg.evaluation.bootstrap import bootstrap_ci
from ocularseg.io.images import read_image_unchanged
from ocularseg.realdata.silver import TeacherEye, catmull_rom, fill_polygon

#: Template indices per image side of the eye: (iris outline, corners, upper lid, lower lid).
#: Eye "a" is around pupil point 0, eye "b" around pupil point 1.
_EYES = {
    "a": (list(range(2, 10)), (18, 22), (19, 20, 21), (28, 29, 30)),
    "b": (list(range(10, 18)), (23, 27), (24, 25, 26), (31, 32, 33)),
}


def read_tem(text: str) -> np.ndarray:
    lines = text.split("\n")
    count = int(lines[0])
    return np.array([[float(v) for v in lines[1 + i].split()] for i in range(count)])


def human_eye(points: np.ndarray, which: str) -> tuple[np.ndarray, np.ndarray, float]:
    """(lid contour (N, 2), iris centre (2,), iris radius) in frame px."""
    iris, (c0, c1), upper, lower = _EYES[which]
    outline = points[iris]
    centre = outline.mean(axis=0)
    radius = float(np.mean(np.hypot(*(outline - centre).T)))
    left, right = points[c0], points[c1]
    up = np.vstack([left, points[list(upper)], right])
    # The lower-lid points run from corner c0 as well; the contour goes back from c1.
    low = np.vstack([right, points[list(lower)][::-1], left])
    contour = np.vstack([catmull_rom(up)[:-1], catmull_rom(low)[:-1]])
    return contour, centre, radius


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, required=True)
    parser.add_argument("--mirror", type=Path, required=True)
    parser.add_argument("--iris-mm", type=float, default=11.7)
    args = parser.parse_args(argv)
    # Only the neutral photos come with templates.
    rows = [r for r in read_manifest(args.real) if r.group == "london-neutral"]
    dice, centre_err, radius_ratio, mrd1_diff, subjects = [], [], [], [], []
    for row in rows:
        meta = read_eye_meta(args.real / row.meta)
        tem_path = meta.path.replace(".jpg", ".tem")
        text = subprocess.run(
            ["git", "-C", str(args.mirror), "show", f"{meta.commit}:{tem_path}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        points = read_tem(text)
        affine = np.asarray(meta.crop_from_frame)
        teacher = TeacherEye.from_meta(meta, str(args.real / row.meta))
        t_centre = teacher.iris_centre
        # Whichever template eye lands nearer the teacher's iris is this crop's eye.
        best = None
        for which in _EYES:
            contour, centre, radius = human_eye(points, which)
            c = affine[:, :2] @ centre + affine[:, 2]
            if best is None or np.hypot(*(c - t_centre)) < best[0]:
                scale = math.sqrt(abs(np.linalg.det(affine[:, :2])))
                best = (
                    np.hypot(*(c - t_centre)),
                    contour @ affine[:, :2].T + affine[:, 2],
                    c,
                    radius * scale,
                )
        _, contour, centre, radius = best
        silver = read_image_unchanged(args.real / row.mask)
        human_open = fill_polygon(contour, silver.shape)
        silver_open = (silver == 10) | (silver == 11)
        dice.append(2 * (human_open & silver_open).sum() / (human_open.sum() + silver_open.sum()))
        centre_err.append(float(np.hypot(*(centre - t_centre))) / radius)
        radius_ratio.append(teacher.iris_radius / radius)
        column = math.floor(centre[0] + 0.5)
        t_col = math.floor(t_centre[0] + 0.5)
        if human_open[:, column].any() and silver_open[:, t_col].any():
            h_mrd1 = (
                (centre[1] - (np.argmax(human_open[:, column]) - 0.5)) * args.iris_mm / (2 * radius)
            )
            t_mrd1 = (
                (t_centre[1] - (np.argmax(silver_open[:, t_col]) - 0.5))
                * args.iris_mm
                / (2 * teacher.iris_radius)
            )
            mrd1_diff.append(t_mrd1 - h_mrd1)
        else:
            mrd1_diff.append(math.nan)
        subjects.append(row.subject)
    clusters = np.array(subjects)
    print(f"London eyes: {len(rows)} of {len(set(subjects))} people (teacher vs human template)")
    for name, values, stat, scale, unit in (
        ("opening Dice (silver vs human lid polygon)", dice, np.nanmean, 100, "%"),
        ("iris centre distance / human iris radius", centre_err, np.nanmedian, 100, "%"),
        ("teacher / human iris radius", radius_ratio, np.nanmedian, 1, ""),
        ("MRD1 teacher − human", mrd1_diff, np.nanmedian, 1, "mm"),
        ("|MRD1 teacher − human|", np.abs(mrd1_diff), np.nanmedian, 1, "mm"),
    ):
        est, low, high = bootstrap_ci(
            np.asarray(values, float), seed=0, statistic=stat, clusters=clusters
        )
        label = "mean" if stat is np.nanmean else "median"
        print(f"{name}: {label} {scale * est:.3f}{unit} [{scale * low:.3f}, {scale * high:.3f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
