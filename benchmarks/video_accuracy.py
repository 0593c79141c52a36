"""Accuracy of ``ocularseg analyze`` on a phantom video against its per-frame ground truth.

Usage::

    python benchmarks/video_accuracy.py [--video sample_data/phantom_video.mp4]
        [--model models/ocularseg-unet-tiu] [--fps 15]

Runs the pipeline in time-series mode, matches each measured (frame, eye) with the
ground-truth JSON written by ``ocularseg synth-video``, and prints the mean absolute error
of MRD1 (frame px and mm), MRD2 and visible iris fraction, how many frames were usable, and
the MRD1 slope of each eye (the drooping left eye should fall, the right stay flat).
Ground-truth mm use the true iris radius: mm = px × 11.7 / (2 r).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
IRIS_MM = 11.7


def ground_truth(json_path: Path) -> pd.DataFrame:
    data = json.loads(json_path.read_text())
    rows = []
    for frame in data["frames"]:
        for side, eye in frame["eyes"].items():
            radius = eye.get("iris_radius_px")
            mrd1 = eye.get("mrd1_px")  # absent (or null) while the eye is closed
            rows.append(
                {
                    "frame_index": frame["index"],
                    "side": side,
                    "gt_blink": frame["blink"],
                    "gt_blurred": frame["blurred"],
                    "gt_closed": eye["eye_closed"],
                    "gt_mrd1_frame_px": mrd1,
                    "gt_mrd2_frame_px": eye.get("mrd2_px"),
                    "gt_mrd1_mm": None
                    if mrd1 is None or not radius
                    else mrd1 * IRIS_MM / (2 * radius),
                    "gt_visible_iris_fraction": eye.get("visible_iris_fraction"),
                }
            )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--video", type=Path, default=REPO / "sample_data" / "phantom_video.mp4")
    parser.add_argument("--model", type=Path, default=REPO / "models" / "ocularseg-unet-tiu")
    parser.add_argument("--fps", type=float, default=15.0)
    args = parser.parse_args()

    from ocularseg.pipeline.config import AnalyzeConfig
    from ocularseg.pipeline.run import run_analysis

    with tempfile.TemporaryDirectory() as out:
        result = run_analysis(
            [args.video],
            out,
            AnalyzeConfig(model=args.model, fps=args.fps, overlays=False, save_crops=False),
        )
    measured = pd.DataFrame(result.rows)
    truth = ground_truth(args.video.with_suffix(".json"))
    merged = measured.merge(truth, on=["frame_index", "side"], how="inner")
    usable = merged[
        ~merged["flags"].str.contains("eye_closed|iris_not_found", regex=True)
        & ~merged["gt_closed"]
        & merged["gt_mrd1_frame_px"].notna()
    ]
    print(
        f"video {args.video.name}, model {args.model.name}: {len(merged)} eye-frames measured, "
        f"{len(usable)} usable (open in truth and in the measurement)"
    )
    print(f"errors.csv rows: {len(result.errors)}")
    for side in ("right", "left"):
        part = usable[usable.side == side]
        if part.empty:
            print(f"{side}: no usable frames")
            continue
        err = {
            "MRD1 frame px": (part.mrd1_frame_px - part.gt_mrd1_frame_px).abs().mean(),
            "MRD1 mm": (part.mrd1_mm - part.gt_mrd1_mm).abs().mean(),
            "MRD2 frame px": (part.mrd2_frame_px - part.gt_mrd2_frame_px).abs().mean(),
            "visible iris fraction": (part.visible_iris_fraction - part.gt_visible_iris_fraction)
            .abs()
            .mean(),
        }
        slope = np.polyfit(part.timestamp_s, part.mrd1_mm, 1)[0]
        gt_slope = np.polyfit(part.timestamp_s, part.gt_mrd1_mm, 1)[0]
        print(
            f"{side} eye ({len(part)} frames): MAE "
            + ", ".join(f"{k} {v:.3f}" for k, v in err.items())
            + f"; MRD1 slope {slope:+.3f} mm/s (truth {gt_slope:+.3f})"
        )
    blink = merged[merged.gt_blink]
    if not blink.empty:
        flagged = blink["flags"].str.contains("eye_closed").mean() if len(blink) else float("nan")
        print(f"blink frames flagged eye_closed: {100 * flagged:.0f} % of {len(blink)} eye-frames")


if __name__ == "__main__":
    main()
