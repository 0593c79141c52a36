"""Signed MRD1 / visible-iris-fraction errors on a seeded phantom test set with exact truth.

Usage::

    python benchmarks/phantom_accuracy.py [--model models/ocularseg-unet-real] [--n 200]
        [--seed 20261] [--subjects 40] [--profile standard] [--downscale 1 4]
        [--jpeg-quality Q] [--blur-sigma S] [--prior landmarks|template]
        [--lid-margin-half-width-r R]
        [--csv OUT]

Renders ``--n`` phantoms (``ocularseg.synth``; seed 20261 is used by no training or test
set of the bundled models: those are seeds 1, 2 and 3), skips closed eyes, and measures
each one three ways:

* ``exact``: on the phantom's exact label map, without the image (so without the lid
  refinement against it) — the floor set by the measurement code itself (targets:
  |median MRD1 error| ≤ 0.1 mm, MRD1 MAE ≤ 0.25 mm, visible-iris-fraction MAE ≤ 0.03 per
  eye);
* ``model``: on the model's segmentation of the rendered image, measured with the image as
  analyze does (lid margins refined against it, ``--no-lid-refine`` turns that off), every
  frame with a value;
* ``model, gated``: the same, only the measurements that pass the quality gates (with a
  landmark-like outline placed on the exact lids, ``synth.landmarks``) — what a report uses.

``--downscale K`` also shrinks each image K× and enlarges it back before segmenting, as the
crop stage does with a face filmed from a metre away (the bundled phantom video's eyes are
about 4.4× enlarged); ``--jpeg-quality Q`` JPEG-encodes the shrunk image first, as a video
codec does; ``--blur-sigma S`` blurs it (sigma in its px) as a soft lens does. A model with
a landmark-prior channel gets six eye points placed from the exact lids and jittered by 3 %
of the eye width, as analyze gives dlib's (``--prior template``: the average-eye template,
as for crops without landmarks). Errors are measured − truth (negative = reads low); truth
mm use the true iris radius: mm = px × 11.7 / (2 r). Last, the gated errors by true MRD1
range, split into their parts: iris centre row, upper-lid row and mm scale (a
range-dependent error pulls readings towards the middle, which a single median hides), and
the upper-lid part by skin lightness and iris colour (an appearance-dependent error hides
in the median too).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd
from bench_parser import benchmark_parser  # sibling module (this folder is on sys.path)

REPO = Path(__file__).resolve().parents[1]
IRIS_MM = 11.7


def degrade(
    image: np.ndarray, factor: float, jpeg_quality: int = 0, blur_sigma_px: float = 0.0
) -> np.ndarray:
    """Shrink an RGB crop ``factor``× (area averaging) and enlarge it back (bilinear).

    ``blur_sigma_px`` > 0 blurs the small image (Gaussian, sigma in its own px) first, as a
    soft lens or an enlarged photograph does (the phantom video's eyes: about 1 px).
    ``jpeg_quality`` > 0 also JPEG-encodes the small image at that quality before enlarging
    it, as a video codec compresses the whole frame before the crop stage enlarges the eye.
    """
    import cv2

    if factor <= 1 and jpeg_quality <= 0 and blur_sigma_px <= 0:
        return image
    height, width = image.shape[:2]
    small = cv2.resize(
        image,
        (max(1, round(width / factor)), max(1, round(height / factor))),
        interpolation=cv2.INTER_AREA,
    )
    if blur_sigma_px > 0:
        small = cv2.GaussianBlur(small, (0, 0), blur_sigma_px)
    if jpeg_quality > 0:
        from ocularseg.training.augment import jpeg_roundtrip

        small = jpeg_roundtrip(small, jpeg_quality)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def _luma(rgb: tuple[int, int, int]) -> float:
    """Rec. 601 luma (0–255) of an sRGB colour."""
    return float(np.dot(rgb, [0.299, 0.587, 0.114]))


def measure_set(args: argparse.Namespace) -> pd.DataFrame:
    from ocularseg.stages.eye import run_eye_chain
    from ocularseg.stages.lid_refine import LidRefineParams
    from ocularseg.stages.measure import MeasureParams, measure_eye
    from ocularseg.stages.quality import mirror, mirror_points
    from ocularseg.stages.segment import Segmenter
    from ocularseg.synth.dataset import sample_params
    from ocularseg.synth.landmarks import outline_from_truth
    from ocularseg.synth.render import render_eye

    measure_params = MeasureParams(
        lid_margin_half_width_r=args.lid_margin_half_width_r,
        lid_refine=LidRefineParams(enabled=not args.no_lid_refine),
    )
    segmenter = Segmenter(args.model, device="cpu", batch_size=8)
    prior_rng = np.random.default_rng(args.seed)
    # A crop of a face ~1 m away: the eye ~60 frame px wide, 4.5 crop px per frame px.
    scale = 4.5
    rows = []
    for index in range(args.n):
        params = sample_params(
            index, seed=args.seed, n_subjects=args.subjects, profile=args.profile
        )
        eye = render_eye(params)
        truth = eye.truth
        if truth["eye_closed"] or truth["mrd1_px"] is None:
            continue
        outline = outline_from_truth(truth)
        exact = measure_eye(eye.labels, params=measure_params, scale_crop_per_frame=scale)
        base = _truth_columns(index, params, truth)
        exact_columns = _exact_columns(exact, eye.labels, outline)
        rows.append({**base, "method": "exact", "downscale": 1.0, **exact_columns})
        for factor in args.downscale:
            image = degrade(eye.image, factor, args.jpeg_quality, args.blur_sigma)
            points = _landmark_points(truth, prior_rng) if args.prior == "landmarks" else None
            seg, seg_mirror = segmenter.segment(
                [image, mirror(image)],
                None if points is None else [points, mirror_points(points, image.shape[1])],
            )
            # analyze's per-eye chain (stages.eye): landmark gate with the eye outline,
            # side-aware clean-up, measurement with the crop image (lid refinement and the
            # corneal reflex), quality signal and per-frame gates.
            chain = run_eye_chain(
                seg,
                image,
                params.side,
                scale,
                outline,
                mirrored=seg_mirror,
                measure=measure_params,
            )
            rows.append({**base, "method": "model", "downscale": factor, **_model_columns(chain)})
    return pd.DataFrame(rows)


def _truth_columns(index: int, params, truth: dict) -> dict:
    """The phantom's true values (MRD1 in mm on the iris-diameter ruler) and its colours."""
    radius = float(truth["iris_radius_px"])
    return {
        "index": index,
        "side": params.side,
        "truth_mrd1_mm": float(truth["mrd1_px"]) * IRIS_MM / (2.0 * radius),
        "truth_vif": float(truth["visible_iris_fraction"]),
        "truth_cy_px": float(truth["iris_center_px"][1]),
        "truth_radius_px": radius,
        "truth_mrd1_px": float(truth["mrd1_px"]),
        "skin_luma": _luma(params.skin_rgb),
        "iris_luma": _luma(params.iris_rgb),
    }


def _landmark_points(truth: dict, rng: np.random.Generator) -> np.ndarray | None:
    """dlib's six points as analyze gives them: placed from the exact lids and jittered by
    dlib's typical error (a fraction of the eye width, as in training); None without lids."""
    from ocularseg.training.dataset import six_points_from_truth

    points = six_points_from_truth(truth)
    if points is not None:
        width = float(np.hypot(*(points[3] - points[0])))
        points = points + rng.normal(0, 0.03 * width, size=points.shape)
    return points


def _exact_columns(exact: dict, labels: np.ndarray, outline: np.ndarray) -> dict:
    """What the measurement stage reads from the exact label map, and whether the per-frame
    gates pass it."""
    from ocularseg.stages.gates import frame_gates

    return {
        "mrd1_mm": exact["mrd1_mm"],
        "vif": exact["visible_iris_fraction"],
        "used": not frame_gates(exact, labels, outline),
    }


def _model_columns(chain) -> dict:
    """What the per-eye chain measured on a degraded phantom: values, gates, quality."""
    values, quality, failed = chain.measurement.values, chain.quality, chain.gates_failed
    return {
        "mrd1_mm": values["mrd1_mm"],
        "vif": values["visible_iris_fraction"],
        "iris_cy_px": values["iris_cy_px"],
        "iris_radius_px": values["iris_radius_px"],
        "mrd1_px": values["mrd1_px"],
        "used": not failed and math.isfinite(values["mrd1_mm"]),
        "quality": quality,
        "gates_failed": ";".join(failed),
    }


def error_table(df: pd.DataFrame) -> pd.DataFrame:
    """Signed errors per method, downscale and side (measured − truth)."""
    out = []
    groups = [("exact", df[df.method == "exact"]), ("model", df[df.method == "model"])]
    groups.append(("model, gated", df[(df.method == "model") & df.used]))
    for name, part in groups:
        for (factor, side), cell in part.groupby(["downscale", "side"]):
            valued = cell[np.isfinite(cell.mrd1_mm)]
            err = valued.mrd1_mm - valued.truth_mrd1_mm
            verr = (valued.vif - valued.truth_vif).dropna()
            out.append(
                {
                    "measured on": name,
                    "downscale": factor,
                    "eye": side,
                    "n": len(valued),
                    "MRD1 median err (mm)": err.median(),
                    "MRD1 mean err (mm)": err.mean(),
                    "MRD1 MAE (mm)": err.abs().mean(),
                    "VIF median err": verr.median(),
                    "VIF MAE": verr.abs().mean(),
                }
            )
    return pd.DataFrame(out)


def gated_error_parts(df: pd.DataFrame) -> pd.DataFrame:
    """The gated model rows with their MRD1 error (mm) and its parts as columns.

    MRD1 = cy − lid, in mm by 11.7 / (2 r); with truth mm from the true radius, the error
    splits exactly into (cy − cy_true) − (lid − lid_true) in true mm (``iris_centre``,
    ``upper_lid``) plus the scale part (``mm_scale``).
    """
    part = df[(df.method == "model") & df.used & np.isfinite(df.mrd1_mm)].copy()
    mm_per_px = IRIS_MM / (2.0 * part.truth_radius_px)
    part["error"] = part.mrd1_mm - part.truth_mrd1_mm
    part["iris_centre"] = (part.iris_cy_px - part.truth_cy_px) * mm_per_px
    lid = part.iris_cy_px - part.mrd1_px
    true_lid = part.truth_cy_px - part.truth_mrd1_px
    part["upper_lid"] = -(lid - true_lid) * mm_per_px
    part["mm_scale"] = part.error - part.iris_centre - part.upper_lid
    return part


def range_table(df: pd.DataFrame) -> pd.DataFrame:
    """Gated model errors by true MRD1 range: total, iris-centre, upper-lid and scale parts.

    See :func:`gated_error_parts` for the split.
    """
    part = gated_error_parts(df)
    edges = [-np.inf, 1.0, 2.0, 3.0, 4.0, 5.0, np.inf]
    labels = ["< 1", "1–2", "2–3", "3–4", "4–5", "≥ 5"]
    part["true MRD1 mm"] = pd.cut(part.truth_mrd1_mm, edges, labels=labels, right=False)
    table = part.groupby(["downscale", "true MRD1 mm"], observed=True).agg(
        n=("error", "size"),
        mean_error=("error", "mean"),
        MAE=("error", lambda e: e.abs().mean()),
        iris_centre=("iris_centre", "mean"),
        upper_lid=("upper_lid", "mean"),
        mm_scale=("mm_scale", "mean"),
    )
    return table.reset_index()


def appearance_table(df: pd.DataFrame) -> pd.DataFrame:
    """Median upper-lid part of the gated MRD1 error (mm) by skin lightness and iris colour.

    Eyes with a true MRD1 of at least 3 mm (the lid crosses the iris but does not hide
    half of it); a positive value reads the lid high (MRD1 high), negative low.
    """
    part = gated_error_parts(df)
    part = part[part.truth_mrd1_mm >= 3.0].copy()
    part["skin"] = pd.cut(
        part.skin_luma,
        [0, 120, 160, 190, 256],
        labels=["dark < 120", "120–160", "160–190", "light ≥ 190"],
        right=False,
    )
    part["iris"] = pd.cut(
        part.iris_luma,
        [0, 40, 70, 256],
        labels=["dark brown < 40", "brown 40–70", "light ≥ 70"],
        right=False,
    )
    table = part.groupby(["downscale", "skin", "iris"], observed=True).upper_lid.agg(
        n="size", upper_lid_median="median"
    )
    return table.reset_index()


def _parse_args() -> argparse.Namespace:
    from ocularseg.synth.params import PROFILES

    parser = benchmark_parser(__doc__, csv_help="also write every measurement here")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20261)
    parser.add_argument("--subjects", type=int, default=40)
    parser.add_argument("--profile", default="standard", choices=PROFILES)
    parser.add_argument("--downscale", type=float, nargs="+", default=[1.0, 4.0])
    parser.add_argument(
        "--jpeg-quality", type=int, default=0, help="JPEG-encode the shrunk image (0: no)"
    )
    parser.add_argument(
        "--prior",
        default="landmarks",
        choices=("landmarks", "template"),
        help="prior-channel models: six jittered eye points as analyze gives (default) "
        "or the average-eye template (crops without landmarks)",
    )
    parser.add_argument(
        "--lid-margin-half-width-r",
        type=float,
        default=0.8,
        help="measure.lid_margin_half_width_r (0: read the lids in the centre column alone)",
    )
    parser.add_argument(
        "--blur-sigma",
        type=float,
        default=0.0,
        help="Gaussian blur of the shrunk image, sigma in its px (0: none; the phantom "
        "video's eyes: about 1)",
    )
    parser.add_argument(
        "--no-lid-refine",
        action="store_true",
        help="read the lid margins from the mask alone (stages.lid_refine off)",
    )
    return parser.parse_args()


def main() -> None:
    args = _parse_args()

    df = measure_set(args)
    if args.csv:
        df.to_csv(args.csv, index=False)
    table = error_table(df)
    print(
        f"phantoms: seed {args.seed}, {args.n} rendered, profile {args.profile}; model {args.model}"
    )
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda v: f"{v:+.3f}"))
    print()
    print("model, gated: signed MRD1 error (mm) by true MRD1 range, and its parts")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(range_table(df).to_string(index=False, float_format=lambda v: f"{v:+.2f}"))
    print()
    print("model, gated, true MRD1 ≥ 3 mm: upper-lid part (mm) by skin and iris luma (0–255)")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(appearance_table(df).to_string(index=False, float_format=lambda v: f"{v:+.2f}"))
    model = df[df.method == "model"]
    for (factor, side), cell in model.groupby(["downscale", "side"]):
        print(
            f"downscale {factor:g}, {side} eye: {int(cell.used.sum())} of {len(cell)} "
            "open-eye phantoms pass the quality gates"
        )


if __name__ == "__main__":
    main()
