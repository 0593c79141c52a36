"""The corneal-reflex detector on phantoms with reflexes painted at known points.

Usage::

    python benchmarks/reflex_accuracy.py [--n 400] [--seed 777] [--subjects 40]

Renders ``--n`` phantoms (``ocularseg.synth``: a dot, ring or window reflex of random size
and strength at a known offset from the iris centre, none in ~8 %), and runs
``stages.reflex.find_reflex`` on each open eye with its exact label map and exact iris
circle, so only the detector is measured. Prints, for eyes whose reflex centre lies in the
opening: found within 3 px / found farther / missed, and the median position error; for
eyes without a painted reflex: how often one is reported anyway; and the MRD1-from-reflex
error (``measure_eye_crop`` with the image) against the exact truth.
"""

from __future__ import annotations

import argparse
import math

import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--seed", type=int, default=777)
    parser.add_argument("--subjects", type=int, default=40)
    args = parser.parse_args(argv)

    from ocularseg.stages.measure import MeasureParams, measure_eye_crop
    from ocularseg.stages.reflex import find_reflex
    from ocularseg.synth.dataset import sample_params
    from ocularseg.synth.render import render_eye

    counts = {"close": 0, "far": 0, "missed": 0, "none": 0, "false": 0}
    errors, mrd1_errors = [], []
    params = MeasureParams()
    for index in range(args.n):
        eye = render_eye(sample_params(index, seed=args.seed, n_subjects=args.subjects))
        truth = eye.truth
        if truth["eye_closed"]:
            continue
        centre, radius = truth["iris_center_px"], truth["iris_radius_px"]
        result = find_reflex(eye.image, eye.labels, tuple(centre), radius, params.reflex)
        if truth["reflex_center_px"] is None:
            counts["none"] += 1
            counts["false"] += result.found
            continue
        if not truth["reflex_visible"]:
            continue  # painted under the lid: either answer is defensible
        if not result.found:
            counts["missed"] += 1
            continue
        rx, ry = truth["reflex_center_px"]
        error = math.hypot(result.x_px - rx, result.y_px - ry)
        errors.append(error)
        counts["close" if error <= 3 else "far"] += 1
        values = measure_eye_crop(eye.labels, "right", params, image=eye.image).values
        if truth["mrd1_reflex_px"] is not None and math.isfinite(values["mrd1_reflex_px"]):
            mm = 11.7 / (2 * radius)
            mrd1_errors.append((values["mrd1_reflex_px"] - truth["mrd1_reflex_px"]) * mm)
    visible = counts["close"] + counts["far"] + counts["missed"]
    print(f"phantoms seed {args.seed}: {visible} with a visible reflex, {counts['none']} without")
    print(
        f"  found within 3 px {counts['close']} ({100 * counts['close'] / visible:.1f} %), "
        f"farther {counts['far']}, missed {counts['missed']}; median position error "
        f"{np.median(errors):.2f} px"
    )
    print(
        f"  reported without a painted reflex: {counts['false']} of {counts['none']} "
        f"({100 * counts['false'] / max(counts['none'], 1):.1f} %)"
    )
    e = np.asarray(mrd1_errors)
    print(
        f"  MRD1 from the reflex (exact mask + image) − truth: median {np.median(e):+.3f} mm, "
        f"MAE {np.abs(e).mean():.3f} mm (n {e.size})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
