"""The gaze gate (``gaze_sideways``) on phantom videos with exact truth: what it removes.

Usage::

    python benchmarks/gaze_gate.py [--seeds 0 1 2] [--seconds 60] [--fps 5]
        [--min-corner-clearance-r X] [--model models/ocularseg-unet-real] [--csv OUT]

For each seed, renders a phantom video (``synth-video --seconds 60 --fps 5 --seed S``), runs
``analyze`` in time-series mode on every frame twice — with the gaze gate off and with it at
``--min-corner-clearance-r`` (default: ``GateParams``') — and matches each (frame, eye) with the
truth (MRD1 in mm with the true iris radius: mm = px × 11.7 / (2 r)). Prints, per seed and
eye, before → after: used frames, used frames with |MRD1 error| > 0.5 mm, the median
|error| of the used frames, and how many frames the gate excluded that were right (used
before with |error| ≤ 0.5 mm) or wrong. Then, from the gate-off run, what each threshold
would remove (the corner clearance recomputed per row from the pipeline's own landmarks):
the table the threshold was chosen from.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from bench_parser import benchmark_parser  # sibling module (this folder is on sys.path)
from video_accuracy import ground_truth

from ocularseg.core.records import Gate

#: |MRD1 error| above this is a wrong value (mm).
WRONG_MM = 0.5
#: Thresholds tabulated from the gate-off run (iris radii).
THRESHOLDS = (0.3, 0.35, 0.4, 0.43, 0.45, 0.5, 0.6)


def _analyse(video: Path, out: Path, fps: float, model: Path, min_corner_clearance_r: float):
    """``analyze`` rows of ``video`` (time series at ``fps``), used column included."""
    from ocularseg.pipeline.config import AnalyzeConfig
    from ocularseg.pipeline.run import run_analysis
    from ocularseg.report.summary import mark_used
    from ocularseg.report.tables import measurements_frame
    from ocularseg.stages.gates import GateParams
    from ocularseg.stages.measure import MEASUREMENT_COLUMNS, MeasureParams

    config = AnalyzeConfig(
        model=model,
        fps=fps,
        overlays=False,
        save_crops=False,
        measure=MeasureParams(gates=GateParams(min_corner_clearance_r=min_corner_clearance_r)),
    )
    result = run_analysis([video], out, config)
    return mark_used(measurements_frame(result.rows, MEASUREMENT_COLUMNS))


def _clearances(video: Path, rows: pd.DataFrame) -> pd.DataFrame:
    """The gate's corner clearance and gaze offset per (frame, eye), from dlib's landmarks
    on the decoded frame mapped into the eye-crop stage's crop, as ``analyze`` has them."""
    from ocularseg.io.video import read_frames_at
    from ocularseg.stages.crop import crop_geometry
    from ocularseg.stages.face import FaceDetector
    from ocularseg.stages.gates import corner_clearance, gaze_offset
    from ocularseg.stages.landmark_gate import eye_points_in_crop

    detector = FaceDetector()
    by_key = {(r.frame_index, r.side): r for r in rows.itertuples()}
    out = []
    for frame in read_frames_at(video, sorted(set(rows.frame_index))):
        face = detector.detect(frame.image)
        for side in ("right", "left"):
            row = by_key.get((frame.index, side))
            if row is None:
                continue
            matrix, _, _ = crop_geometry(face, side)
            outline = eye_points_in_crop(face.eye_points_px(side), matrix)
            values = {
                "iris_cx_px": row.iris_cx_px,
                "iris_cy_px": row.iris_cy_px,
                "iris_radius_px": row.iris_radius_px,
            }
            out.append(
                {
                    "frame_index": frame.index,
                    "side": side,
                    "gaze_offset": gaze_offset(values, outline),
                    "corner_clearance": corner_clearance(values, outline),
                }
            )
    return pd.DataFrame(out)


def _truth(video: Path) -> pd.DataFrame:
    import json

    truth = ground_truth(video.with_suffix(".json"))
    frames = json.loads(video.with_suffix(".json").read_text())["frames"]
    gaze = pd.DataFrame([{"frame_index": f["index"], "gaze_x": f["gaze"]["x"]} for f in frames])
    return truth.merge(gaze, on="frame_index")


def _stats(eye: pd.DataFrame) -> dict[str, float]:
    used = eye[eye.used.astype(bool)]
    error = (used.mrd1_mm - used.gt_mrd1_mm).abs()
    return {"used": len(used), "wrong": int((error > WRONG_MM).sum()), "median": error.median()}


def _compare(before: pd.DataFrame, after: pd.DataFrame, seed: int) -> list[dict[str, object]]:
    """Per eye: before → after, and the frames the gate excluded, right or wrong."""
    lines = []
    for side in ("right", "left", "both"):
        b = before if side == "both" else before[before.side == side]
        a = after if side == "both" else after[after.side == side]
        keys = ["frame_index", "side"]
        joined = b.merge(a[[*keys, "used", "gates_failed"]], on=keys, suffixes=("", "_after"))
        gated = joined[joined.used.astype(bool) & joined.gates_failed_after.map(_has_gaze)]
        error = (gated.mrd1_mm - gated.gt_mrd1_mm).abs()
        sb, sa = _stats(b), _stats(a)
        lines.append(
            {
                "seed": seed,
                "eye": side,
                "used": f"{sb['used']} → {sa['used']}",
                f"|err|>{WRONG_MM}": f"{sb['wrong']} → {sa['wrong']}",
                "median |err|": f"{sb['median']:.3f} → {sa['median']:.3f}",
                "gated right": int((error <= WRONG_MM).sum()),
                "gated wrong": int((error > WRONG_MM).sum()),
            }
        )
    return lines


def _has_gaze(gates: object) -> bool:
    names = gates.split(";") if isinstance(gates, str) else tuple(gates or ())
    return Gate.GAZE_SIDEWAYS in names


def _threshold_table(before: pd.DataFrame) -> pd.DataFrame:
    """What each threshold would remove from the gate-off run's used frames."""
    used = before[before.used.astype(bool) & np.isfinite(before.corner_clearance)]
    wrong = (used.mrd1_mm - used.gt_mrd1_mm).abs() > WRONG_MM
    lines = []
    for limit in THRESHOLDS:
        cut = used.corner_clearance < limit
        lines.append(
            {
                "min_corner_clearance_r": limit,
                "excluded": int(cut.sum()),
                "of them wrong": int((cut & wrong).sum()),
                "of them right": int((cut & ~wrong).sum()),
                "wrong left in": int((~cut & wrong).sum()),
            }
        )
    return pd.DataFrame(lines)


def _parse_args() -> argparse.Namespace:
    parser = benchmark_parser(__doc__, csv_help="also write the matched gate-off rows here")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--fps", type=float, default=5.0)
    parser.add_argument("--min-corner-clearance-r", type=float, help="default: GateParams'")
    return parser.parse_args()


def _seed_rows(args: argparse.Namespace, seed: int, tmp: Path, limit: float):
    """(gate-off rows with truth and gaze offset, gate-on rows with truth) of one seed."""
    from ocularseg.synth.motion import SynthVideoSpec
    from ocularseg.synth.video import write_synth_video

    video = tmp / f"phantom_seed{seed}.mp4"
    write_synth_video(video, SynthVideoSpec(seconds=args.seconds, fps=args.fps, seed=seed))
    truth = _truth(video)
    before = _analyse(video, tmp / f"off{seed}", args.fps, args.model, -10.0)
    after = _analyse(video, tmp / f"on{seed}", args.fps, args.model, limit)
    keys = ["frame_index", "side"]
    before = before.merge(truth, on=keys).merge(_clearances(video, before), on=keys)
    return before, after.merge(truth, on=keys)


def main() -> None:
    from ocularseg.stages.gates import GateParams

    args = _parse_args()
    limit = args.min_corner_clearance_r or GateParams().min_corner_clearance_r
    lines, offs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            before, after = _seed_rows(args, seed, Path(tmp), limit)
            lines.extend(_compare(before, after, seed))
            offs.append(before.assign(seed=seed))
            print(f"seed {seed}: threshold table (gate off, used frames)")
            print(_threshold_table(before).to_string(index=False))
    print(f"\nbefore → after the gaze gate (min_corner_clearance_r {limit:g}):")
    print(pd.DataFrame(lines).to_string(index=False))
    if args.csv:
        pd.concat(offs).to_csv(args.csv, index=False)


if __name__ == "__main__":
    main()
