"""Signed accuracy of ``ocularseg analyze`` on a phantom video, and where the error comes from.

Usage::

    python benchmarks/video_accuracy.py [--video sample_data/phantom_video.mp4]
        [--model models/ocularseg-unet-real] [--fps 15] [--synth-seed S]
        [--no-shared-radius] [--csv OUT]

Runs the pipeline in time-series mode (quality gates included), matches each measured
(frame, eye) with the ground truth written by ``ocularseg synth-video`` and prints, per eye,
signed errors (measured − truth; negative = reads low) — median, mean and mean absolute — of
MRD1 (mm) and the visible iris fraction for three measurements of the same frames:

* ``truth masks``: the phantom's exact label map re-rendered for the frame and resampled
  into the pipeline's own eye crop (dlib landmarks, roll correction and all), then measured
  — the error of the measurement and of the ground truth's definition alone;
* ``model, all open``: the model's segmentation, every frame open in truth with a value;
* ``model, used``: only the frames the report uses (passed every quality gate).

It then splits the model's MRD1 error into its parts (mm, medians): the iris centre (row
of the fitted centre vs the true centre), the upper lid (first opening row in the centre
column vs the true lid; also in pixels of the video itself) and the mm scale (fitted vs
true iris radius). Targets (issue 10):
|median MRD1 error| ≤ 0.1 mm, MRD1 MAE ≤ 0.25 mm, visible-iris-fraction MAE ≤ 0.03, each
eye. ``--synth-seed S`` renders a new phantom video with that seed (``synth-video``
defaults otherwise) and measures it instead. Ground-truth mm use the true iris radius:
mm = px × 11.7 / (2 r).
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from bench_parser import benchmark_parser  # sibling module (this folder is on sys.path)

from ocularseg.core.records import reason_counts_cell

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
                    "gt_mrd1_mm": None
                    if mrd1 is None or not radius
                    else mrd1 * IRIS_MM / (2 * radius),
                    "gt_visible_iris_fraction": eye.get("visible_iris_fraction"),
                }
            )
    return pd.DataFrame(rows)


def truth_in_pipeline_crops(video: Path, frame_indices: list[int]) -> pd.DataFrame:
    """Exact truth masks resampled into the pipeline's crops, measured; plus true geometry.

    Re-renders each frame's phantom eyes from the video's spec (``synth.frames``), maps the
    renderer's crop into the crop the eye-crop stage cuts from the decoded frame, and
    measures the warped exact label map. Also returns the true iris centre row, upper-lid
    row and radius in that crop, for the error decomposition.
    """
    import cv2

    from ocularseg.io.video import read_frames_at
    from ocularseg.stages.crop import crop_eye
    from ocularseg.stages.face import FaceDetector
    from ocularseg.stages.measure import measure_eye
    from ocularseg.synth import affine, frames, motion

    plan, render_eye, face0, setups, centre = _phantom_scene(video)
    detector = FaceDetector()
    rows = []
    for frame in read_frames_at(video, sorted(set(frame_indices))):
        planned = plan.frames[frame.index]
        face = detector.detect(frame.image)
        frame_from_base = motion.head_motion(planned.head, centre)
        for side in ("right", "left"):
            params = frames._eye_params(
                setups[side].params,
                gaze_x=planned.gaze_x,
                gaze_y=planned.gaze_y,
                upper_lid_open=planned.upper_lid_open[side],
            )
            eye = render_eye(params, width_px=480, height_px=320)
            truth = eye.truth
            if truth["mrd1_px"] is None:
                continue
            frame_from_renderer = affine.compose(
                frame_from_base, frames._base_from_crop(truth, face0, side)
            )
            crop = crop_eye(frame.image, face, side)
            pipeline_from_renderer = affine.compose(crop.crop_from_frame, frame_from_renderer)
            warped = cv2.warpAffine(
                eye.labels, pipeline_from_renderer, (480, 320), flags=cv2.INTER_NEAREST
            )
            scale = affine.similarity_scale(pipeline_from_renderer)
            centre_px = affine.apply(pipeline_from_renderer, np.asarray(truth["iris_center_px"]))
            values = measure_eye(warped)
            rows.append(
                {
                    "frame_index": frame.index,
                    "side": side,
                    "tm_mrd1_mm": values["mrd1_mm"],
                    "tm_visible_iris_fraction": values["visible_iris_fraction"],
                    "true_cy_px": float(centre_px[1]),
                    "true_lid_px": float(centre_px[1]) - truth["mrd1_px"] * scale,
                    "true_radius_px": truth["iris_radius_px"] * scale,
                }
            )
    return pd.DataFrame(rows)


def _phantom_scene(video: Path):
    """What rendered a phantom video, from its ground truth (``video.json``): the frame plan,
    the eye renderer, the base face, each side's eye setup and the eyes' centre (frame px)."""
    from ocularseg.synth import frames, motion, video_truth

    gt = video_truth.read_ground_truth(video.with_suffix(".json"))
    spec_fields = {k: tuple(v) if isinstance(v, list) else v for k, v in gt["spec"].items()}
    spec = motion.SynthVideoSpec(**spec_fields)
    plan = motion.plan_video(spec)
    _, _, render_eye = frames._renderer()
    face0 = frames._cached_face(tuple(spec.frame_size_px))
    setups = frames._cached_setups(spec)
    centre = face0.landmarks.points_px[36:48].mean(axis=0)
    return plan, render_eye, face0, setups, centre


def signed(errors: pd.Series) -> dict[str, float]:
    errors = errors.dropna()
    return {
        "n": len(errors),
        "median": errors.median(),
        "mean": errors.mean(),
        "MAE": errors.abs().mean(),
    }


def _parse_args() -> argparse.Namespace:
    parser = benchmark_parser(__doc__, csv_help="also write the matched rows here")
    parser.add_argument("--video", type=Path, default=REPO / "sample_data" / "phantom_video.mp4")
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--synth-seed", type=int, help="render a new phantom video, this seed")
    parser.add_argument(
        "--no-shared-radius",
        action="store_true",
        help="fit every iris circle on its own (measure.shared_radius.enabled: false)",
    )
    return parser.parse_args()


def _analyse(args: argparse.Namespace):
    """Run ``analyze`` on the video and match its rows to the truth: (video, result, summary,
    all matched rows, the open-eye rows with the truth-mask measurements)."""
    from ocularseg.pipeline.config import AnalyzeConfig
    from ocularseg.pipeline.run import run_analysis
    from ocularseg.report.summary import mark_used, summarise
    from ocularseg.report.tables import measurements_frame
    from ocularseg.stages.measure import MEASUREMENT_COLUMNS, MeasureParams
    from ocularseg.stages.shared_radius import SharedRadiusParams

    with tempfile.TemporaryDirectory() as tmp:
        video = args.video
        if args.synth_seed is not None:
            from ocularseg.synth.motion import SynthVideoSpec
            from ocularseg.synth.video import write_synth_video

            video = Path(tmp) / f"phantom_seed{args.synth_seed}.mp4"
            write_synth_video(video, SynthVideoSpec(seed=args.synth_seed))
        result = run_analysis(
            [video],
            Path(tmp) / "out",
            AnalyzeConfig(
                model=args.model,
                fps=args.fps,
                overlays=False,
                save_crops=False,
                measure=MeasureParams(
                    shared_radius=SharedRadiusParams(enabled=not args.no_shared_radius)
                ),
            ),
        )
        measured = mark_used(measurements_frame(result.rows, MEASUREMENT_COLUMNS))
        summary = summarise(measured)
        truth = ground_truth(video.with_suffix(".json"))
        merged = measured.merge(truth, on=["frame_index", "side"], how="inner")
        open_eyes = merged[~merged.gt_closed & merged.gt_mrd1_mm.notna() & ~merged.gt_blink]
        masks = truth_in_pipeline_crops(video, open_eyes.frame_index.tolist())
    open_eyes = open_eyes.merge(masks, on=["frame_index", "side"], how="left")
    return video, result, summary, merged, open_eyes


def _error_table(open_eyes: pd.DataFrame) -> pd.DataFrame:
    """Signed MRD1 and visible-iris-fraction errors per eye: the truth masks, the model on all
    open frames and on the used frames."""
    lines = []
    for side in ("right", "left"):
        eye = open_eyes[open_eyes.side == side]
        used = eye[eye.used.astype(bool)]
        for name, part, mrd1, vif in (
            ("truth masks", eye, "tm_mrd1_mm", "tm_visible_iris_fraction"),
            ("model, all open", eye, "mrd1_mm", "visible_iris_fraction"),
            ("model, used", used, "mrd1_mm", "visible_iris_fraction"),
        ):
            m = signed(part[mrd1] - part.gt_mrd1_mm)
            v = signed(part[vif] - part.gt_visible_iris_fraction)
            lines.append(
                {
                    "eye": side,
                    "measured on": name,
                    "n": m["n"],
                    "MRD1 median err": m["median"],
                    "MRD1 mean err": m["mean"],
                    "MRD1 MAE": m["MAE"],
                    "VIF median err": v["median"],
                    "VIF MAE": v["MAE"],
                }
            )
    return pd.DataFrame(lines)


def _print_error_split(open_eyes: pd.DataFrame) -> None:
    """The model's MRD1 error in parts: iris centre, upper lid, mm scale."""
    print("\nmodel MRD1 error split (mm, medians over all open frames; sum ≈ total):")
    for side in ("right", "left"):
        eye = open_eyes[(open_eyes.side == side) & np.isfinite(open_eyes.mrd1_mm)]
        k = IRIS_MM / (2.0 * eye.true_radius_px)
        # Positive: the measured lid lies above the true lid (MRD1 high).
        lid_error_px = -(eye.iris_cy_px - eye.mrd1_px - eye.true_lid_px)
        centre = ((eye.iris_cy_px - eye.true_cy_px) * k).median()
        lid = (lid_error_px * k).median()
        ruler = (eye.mrd1_mm - eye.mrd1_px * k).median()
        radius = (eye.iris_radius_px - eye.true_radius_px).median()
        # The same lid error in the video's own pixels: the crop enlarges the eye, so a
        # few crop px can be one pixel of the recording, the limit of what it shows.
        lid_video_px = (lid_error_px / eye.scale_crop_per_frame).median()
        mm_per_video_px = (k * eye.scale_crop_per_frame).median()
        print(
            f"  {side:5s}: iris centre {centre:+.2f}, upper lid {lid:+.2f} "
            f"({lid_video_px:+.2f} video px of {mm_per_video_px:.2f} mm), mm scale "
            f"{ruler:+.2f} (radius {radius:+.2f} crop px of {eye.true_radius_px.median():.1f})"
        )


def _print_low_mrd1(open_eyes: pd.DataFrame) -> None:
    """Mean signed error of the used frames in the ptosis range."""
    print("\nused frames with a true MRD1 under 2.5 mm (the ptosis range; mean signed error):")
    for side in ("right", "left"):
        eye = open_eyes[(open_eyes.side == side) & open_eyes.used.astype(bool)]
        low = eye[eye.gt_mrd1_mm < 2.5]
        if len(low):
            error = (low.mrd1_mm - low.gt_mrd1_mm).dropna()
            mean, mae = error.mean(), error.abs().mean()
            print(f"  {side:5s}: n {len(error)}, mean {mean:+.3f} mm, MAE {mae:.3f}")
        else:
            print(f"  {side:5s}: none")


def _print_summary(open_eyes: pd.DataFrame, summary: pd.DataFrame) -> None:
    """What the report says per eye, next to the truth."""
    print("\nsummary (what the report says):")
    for side in ("right", "left"):
        eye = open_eyes[open_eyes.side == side]
        row = summary[summary.side == side].iloc[0]
        slope_truth = np.polyfit(eye.timestamp_s, eye.gt_mrd1_mm.astype(float), 1)[0]
        print(
            f"  {side:5s}: {row.frames_used}/{row.frames_total} frames used; MRD1 median "
            f"{row.mrd1_mm_median:.2f} mm (truth {eye.gt_mrd1_mm.median():.2f}); slope "
            f"{row.mrd1_mm_slope_per_s:+.3f} mm/s (truth {slope_truth:+.3f}); MRD1 ≤ 2 mm: "
            f"{row.indicator_mrd1_le_2mm}; fatigable: {row.indicator_fatigable_ge_2mm}; "
            f"excluded: {reason_counts_cell(row.frames_excluded_reasons) or 'none'}"
        )


def main() -> None:
    args = _parse_args()
    video, result, summary, merged, open_eyes = _analyse(args)
    if args.csv:
        open_eyes.to_csv(args.csv, index=False)

    print(
        f"video {video.name}, model {args.model}: {len(merged)} eye-frames analysed at "
        f"{args.fps:g} fps, {len(open_eyes)} open in truth (no blink); "
        f"errors.csv rows: {len(result.errors)}"
    )
    table = _error_table(open_eyes)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda x: f"{x:+.3f}"))
    _print_error_split(open_eyes)
    _print_low_mrd1(open_eyes)
    _print_summary(open_eyes, summary)
    blink = merged[merged.gt_blink]
    if len(blink):
        excluded = (~blink.used.astype(bool)).mean()
        print(f"blink frames excluded from the results: {100 * excluded:.0f} % of {len(blink)}")
    if not math.isfinite(float(table["MRD1 MAE"].iloc[0])):
        print("warning: no truth-mask measurement (is this a synth-video?)")


if __name__ == "__main__":
    main()
