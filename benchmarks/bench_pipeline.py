"""Benchmark ``analyze`` end to end: one table of jobs and stages, as ratios to the video.

Usage::

    python benchmarks/bench_pipeline.py [--model models/ocularseg-unet-real] [--repeats 3]
        [--seconds 60] [--json OUT.json] [--before BEFORE.json]

Makes a 60 s 1920×1080 30 fps video from the bundled phantom video (letter-boxed, so the
face keeps its shape and is found) and a folder of real face photographs (scikit-image's
public-domain astronaut, at several sizes), into a temporary folder; nothing is
downloaded. Each job runs ``repeats`` times in a fresh process (imports and model loading
included, as a user runs it) and reports the median wall time, its ratio to the video's
length and to a decode-only pass (``grab()`` of every frame) measured in the same run,
the peak RSS, and the per-stage ms per analysed frame from ``run.json`` (busy time of each
stage; stages run on overlapping threads, so they can add up to more than the total).

The last job analyses a batch of 100 photographs with ``pages: false`` (its peak memory
shows whether memory stays flat over a batch). ``--json`` saves the numbers; ``--before``
prints them beside an earlier run's (run this script against the older code with
``PYTHONPATH`` pointing at it, from its folder) with the after/before ratio. These
machines are noisy: compare medians and ratios; the load average is printed.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_parser import benchmark_parser  # sibling module (this folder is on sys.path)

REPO = Path(__file__).resolve().parents[1]
STAGES = ("frames_and_face", "segment", "measure", "write_images")
_RUN = """
import json, sys
from ocularseg.pipeline.config import AnalyzeConfig
from ocularseg.pipeline.run import run_analysis
options = json.loads(sys.argv[3])
run_analysis([sys.argv[1]], sys.argv[2], AnalyzeConfig(**options))
"""


def make_video(sample: Path, seconds: float, path: Path) -> Path:
    """``seconds`` of 1080p30 from the sample's frames, letter-boxed and ping-pong looped."""
    import cv2
    import numpy as np

    from ocularseg.io.video import iter_frames

    frames = []
    for frame in iter_frames(sample):
        square = cv2.resize(frame.image, (1080, 1080), interpolation=cv2.INTER_CUBIC)
        canvas = np.empty((1080, 1920, 3), np.uint8)
        canvas[:] = square[:, :1].mean(axis=(0, 1)).astype(np.uint8)
        canvas[:, 420:1500] = square
        frames.append(cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (1920, 1080))
    count = len(frames)
    for i in range(int(seconds * 30)):
        k = (i // 2) % (2 * count - 2)
        writer.write(frames[k if k < count else 2 * count - 2 - k])
    writer.release()
    return path


def make_stills(folder: Path, count: int) -> Path:
    """``count`` face photographs (the astronaut, 1.5–3× enlarged) as JPEG files."""
    import cv2
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    face = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    for i in range(count):
        scale = 1.5 + 1.5 * i / max(1, count - 1)
        image = cv2.resize(face, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        cv2.imwrite(str(folder / f"face_{i:03d}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return folder


def decode_only_s(video: Path) -> float:
    import cv2

    began = time.perf_counter()
    capture = cv2.VideoCapture(str(video))
    while capture.grab():
        pass
    capture.release()
    return time.perf_counter() - began


def run_job(target: Path, options: dict, repeats: int) -> dict:
    """Median wall time (s), peak RSS (MB) and per-stage seconds of ``repeats`` runs."""
    walls, rss, stages, frames = [], [], [], 0
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as out:
            began = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-c", _RUN, str(target), out, json.dumps(options)]
            )
            _, status, usage = os.wait4(proc.pid, 0)
            walls.append(time.perf_counter() - began)
            if status != 0:
                raise SystemExit(f"analysis of {target} failed ({status})")
            rss.append(usage.ru_maxrss / 1024)
            info = json.loads((Path(out) / "run.json").read_text())
            stages.append(info["timings_s"])
            frames = info["frames_analysed"]
    return {
        "wall_s": statistics.median(walls),
        "wall_all_s": walls,
        "rss_mb": max(rss),
        "frames": frames,
        "stages_s": {s: statistics.median(t.get(s, 0.0) for t in stages) for s in STAGES},
        "input_total_s": statistics.median(t.get("total", 0.0) for t in stages),
    }


def print_table(now: dict, before: dict | None) -> None:
    length = now["video_s"]
    decode = now["decode_only_s"]
    print(
        f"\nvideo {length:.0f} s 1080p30; decode-only pass {decode:.2f} s; "
        f"load average {now['load']}"
    )
    header = f"{'job / stage':34s} {'now':>10s} {'×video':>7s} {'×decode':>8s}"
    if before:
        header += f" {'before':>10s} {'now/before':>11s}"
    print(header)
    for job, result in now["jobs"].items():
        frames = max(1, result["frames"])
        old = (before or {}).get("jobs", {}).get(job)
        line = f"{job:34s} {result['wall_s']:9.1f}s"
        video_job = not job.startswith("stills")
        line += (
            f" {result['wall_s'] / length:7.2f} {result['wall_s'] / decode:8.1f}"
            if (video_job)
            else f" {'':7s} {'':8s}"
        )
        if old:
            line += f" {old['wall_s']:9.1f}s {result['wall_s'] / old['wall_s']:11.2f}"
        print(line)
        if job.startswith("stills"):
            print(f"  {'faces per second':32s} {frames / result['wall_s']:10.1f}")
        print(
            f"  {'peak RSS':32s} {result['rss_mb']:8.0f}MB"
            + (f" {'':7s} {'':8s} {old['rss_mb']:8.0f}MB" if old else "")
        )
        # Stages of one input run on overlapping threads: their busy times may add up to
        # more than the input's total; what is not the inputs is startup and reports.
        rest = result["wall_s"] - result["input_total_s"]
        rows = [*((s, result["stages_s"][s]) for s in STAGES), ("startup + reports", rest)]
        old_rest = None
        if old:
            old_rest = old["wall_s"] - old["input_total_s"]
        for stage, seconds in rows:
            ms = 1000 * seconds / frames
            line = f"  {stage + ' (ms/frame)':32s} {ms:10.1f}"
            if old:
                was = old_rest if stage == "startup + reports" else old["stages_s"][stage]
                was_ms = 1000 * was / max(1, old["frames"])
                line += f" {'':7s} {'':8s} {was_ms:10.1f} {ms / max(was_ms, 1e-9):11.2f}"
            print(line)


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--sample", type=Path, default=REPO / "sample_data" / "phantom_video.mp4")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--stills", type=int, default=40)
    parser.add_argument("--batch", type=int, default=100, help="photos in the no-pages batch")
    parser.add_argument("--jobs", default="keyframes,5hz,10hz,stills,batch")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--before", type=Path, default=None)
    args = parser.parse_args()
    wanted = args.jobs.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        video = make_video(args.sample, args.seconds, Path(tmp) / "long_1080p30.mp4")
        stills = make_stills(Path(tmp) / "stills", args.stills)
        batch = make_stills(Path(tmp) / "batch", args.batch)
        now = {
            "video_s": args.seconds,
            "decode_only_s": statistics.median(decode_only_s(video) for _ in range(3)),
            "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "jobs": {},
        }
        model = {"model": str(args.model), "device": "cpu"}
        plan = {
            "keyframes": (video, {}),
            "5hz": (video, {"fps": 5.0}),
            "10hz": (video, {"fps": 10.0}),
            "stills": (stills, {}),
            "batch": (batch, {"pages": False}),
        }
        for job in wanted:
            target, options = plan[job]
            name = {
                "keyframes": "60 s 1080p30, 8 key frames",
                "5hz": "60 s 1080p30, 5 Hz",
                "10hz": "60 s 1080p30, 10 Hz",
                "stills": f"stills ({args.stills} photos)",
                "batch": f"stills, no pages ({args.batch} photos)",
            }[job]
            name = name.replace("60 s", f"{args.seconds:.0f} s")
            now["jobs"][name] = run_job(target, {**model, **options}, args.repeats)
            print(f"{name}: {now['jobs'][name]['wall_all_s']}", flush=True)
    before = json.loads(args.before.read_text()) if args.before else None
    print_table(now, before)
    if args.json:
        args.json.write_text(json.dumps(now, indent=2))


if __name__ == "__main__":
    main()
