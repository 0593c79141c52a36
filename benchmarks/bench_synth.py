"""Phantom throughput on one core: median images/s, render only and render + write.

Run: ``/work/venv/bin/python benchmarks/bench_synth.py [--n 100] [--repeats 3]``.
OpenCV is pinned to one thread so the number is per core.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100, help="images per repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import cv2

    cv2.setNumThreads(1)
    from ocularseg.synth.dataset import sample_params, write_dataset
    from ocularseg.synth.render import render_eye
    from ocularseg.synth.textures import noise_tiles

    noise_tiles()  # built once per process; not part of the per-image cost
    k = max(1, args.n // 10)
    params = [sample_params(i, seed=args.seed, n_subjects=k) for i in range(args.n)]
    render_rates, write_rates = [], []
    for repeat in range(args.repeats):
        start = time.perf_counter()
        for p in params:
            render_eye(p)
        render_rates.append(args.n / (time.perf_counter() - start))
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            write_dataset(Path(tmp) / f"ds{repeat}", args.n, seed=args.seed, n_subjects=k)
            write_rates.append(args.n / (time.perf_counter() - start))
    print(
        f"render only:    {statistics.median(render_rates):6.1f} images/s "
        f"(median of {args.repeats})"
    )
    print(
        f"render + write: {statistics.median(write_rates):6.1f} images/s (PNG image + mask + JSON)"
    )


if __name__ == "__main__":
    main()
