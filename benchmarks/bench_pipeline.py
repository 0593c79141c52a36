"""Benchmark the analysis pipeline: per-stage ms per frame, end-to-end seconds, crops/s.

Usage::

    python benchmarks/bench_pipeline.py [--model models/ocularseg-unet-real] [--video FILE]
        [--long-seconds 60] [--repeats 5] [--device cpu]

Prints medians over repeats (these machines are noisy: compare ratios, not single numbers).
The 1080p video is synthesised from the sample video's frames (upscaled and looped) into a
temporary folder; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        fn()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def stage_timings(video: Path, model: Path, device: str, repeats: int) -> dict[str, float]:
    from ocularseg.io.video import iter_frames
    from ocularseg.stages.cleanup import clean_label_map
    from ocularseg.stages.crop import crop_eye
    from ocularseg.stages.face import FaceDetector
    from ocularseg.stages.keyframes import score_frame
    from ocularseg.stages.measure import measure_eye_crop
    from ocularseg.stages.segment import Segmenter

    frames = list(iter_frames(video, max_frames=10))
    detector = FaceDetector()
    segmenter = Segmenter(model, device=device, batch_size=2)
    frame = frames[len(frames) // 2]
    results: dict[str, float] = {}
    results["decode (10 frames, per frame)"] = (
        _median_ms(lambda: list(iter_frames(video, max_frames=10)), repeats) / 10
    )
    det = detector._detector  # the two dlib calls timed separately
    results["detect (HOG)"] = _median_ms(lambda: det.run(frame.image, 0, 0.0), repeats)
    face = detector.detect(frame.image)
    results["detect + landmarks"] = _median_ms(lambda: detector.detect(frame.image), repeats)
    results["landmarks (derived)"] = results["detect + landmarks"] - results["detect (HOG)"]
    results["key-frame scores"] = _median_ms(
        lambda: score_frame(frame.index, frame.timestamp_s, frame.image, face), repeats
    )
    results["crop (2 eyes)"] = _median_ms(
        lambda: [crop_eye(frame.image, face, s) for s in ("right", "left")], repeats
    )
    crops = [crop_eye(frame.image, face, s) for s in ("right", "left")]
    results["segment (2 eyes)"] = _median_ms(
        lambda: segmenter.segment([c.image for c in crops]), repeats
    )
    segs = segmenter.segment([c.image for c in crops])
    results["clean-up + measure (2 eyes)"] = _median_ms(
        lambda: [
            measure_eye_crop(
                clean_label_map(s.labels, c.side), c.side, None, c.scale_crop_per_frame
            )
            for s, c in zip(segs, crops, strict=True)
        ],
        repeats,
    )
    return results


def crops_per_second(model: Path, device: str, repeats: int) -> dict[int, float]:
    from ocularseg.stages.segment import Segmenter

    rng = np.random.default_rng(0)
    out = {}
    for batch in (1, 8, 32):
        segmenter = Segmenter(model, device=device, batch_size=batch)
        crops = [rng.integers(0, 255, (320, 480, 3), dtype=np.uint8) for _ in range(batch)]
        segmenter.segment(crops)  # warm-up
        ms = _median_ms(lambda s=segmenter, c=crops: s.segment(c), repeats)
        out[batch] = batch / (ms / 1000)
    return out


def make_long_video(sample: Path, seconds: float, folder: Path) -> Path:
    import cv2

    from ocularseg.io.video import iter_frames, probe_video

    info = probe_video(sample)
    frames = [
        cv2.resize(f.image, (1920, 1080), interpolation=cv2.INTER_CUBIC)
        for f in iter_frames(sample)
    ]
    path = folder / "long_1080p.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), info.fps, (1920, 1080))
    for i in range(int(seconds * info.fps)):
        k = i % (2 * len(frames) - 2) if len(frames) > 1 else 0
        frame = frames[k if k < len(frames) else 2 * len(frames) - 2 - k]  # ping-pong loop
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def end_to_end_s(video: Path, model: Path, device: str, **options) -> float:
    from ocularseg.pipeline.config import AnalyzeConfig
    from ocularseg.pipeline.run import run_analysis

    config = AnalyzeConfig(model=model, device=device, **options)
    with tempfile.TemporaryDirectory() as out:
        began = time.perf_counter()
        run_analysis([video], out, config)
        return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=REPO / "models" / "ocularseg-unet-real")
    parser.add_argument("--video", type=Path, default=REPO / "sample_data" / "phantom_video.mp4")
    parser.add_argument("--long-seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    print(f"model {args.model.name}, device {args.device}, video {args.video.name}")
    print("\nper-stage median ms per frame:")
    for name, ms in stage_timings(args.video, args.model, args.device, args.repeats).items():
        print(f"  {name:32s} {ms:8.1f}")
    print("\nsegmentation throughput (crops/s):")
    for batch, rate in crops_per_second(args.model, args.device, args.repeats).items():
        print(f"  batch {batch:3d}: {rate:7.1f}")
    print("\nend to end (s):")
    keyframes_s = end_to_end_s(args.video, args.model, args.device)
    print(f"  sample video, 8 key frames:       {keyframes_s:7.1f}")
    print(
        f"  sample video, time series 5 Hz:   "
        f"{end_to_end_s(args.video, args.model, args.device, fps=5.0):7.1f}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        long_video = make_long_video(args.video, args.long_seconds, Path(tmp))
        print(
            f"  {args.long_seconds:.0f} s 1080p, 8 key frames:     "
            f"{end_to_end_s(long_video, args.model, args.device):7.1f}"
        )
        print(
            f"  {args.long_seconds:.0f} s 1080p, time series 2 Hz: "
            f"{end_to_end_s(long_video, args.model, args.device, fps=2.0):7.1f}"
        )


if __name__ == "__main__":
    main()
