"""Benchmark the segmentation networks on one 480×320 eye crop (batch 1, CPU).

For each network: trainable parameters, PyTorch eager ms per crop and ONNX Runtime ms per
crop (median over ``--repeats`` after ``--warmup`` runs), plus the export parity. The ONNX
files go to a temporary folder, nothing is written to the working directory.

    python benchmarks/bench_models.py [--models unet fcn unetr] [--repeats 20] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ocularseg.training.models import MODELS, build_model
from ocularseg.training.onnx_export import check_parity, export_onnx

HEIGHT, WIDTH = 320, 480


def _median_ms(fn: Callable[[], object], warmup: int, repeats: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def bench(name: str, repeats: int, warmup: int, threads: int, folder: Path) -> dict[str, float]:
    import onnxruntime as ort

    torch.manual_seed(0)
    model = build_model(name).eval()
    x = torch.randn(1, 3, HEIGHT, WIDTH)
    with torch.inference_mode():
        torch_ms = _median_ms(lambda: model(x), warmup, repeats)

    path = folder / f"{name}.onnx"
    export_onnx(model, path, height=HEIGHT, width=WIDTH)
    parity = check_parity(model, path, torch.randn(2, 3, HEIGHT, WIDTH))
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x.numpy().astype(np.float32)}
    ort_ms = _median_ms(lambda: session.run(None, feed), warmup, repeats)
    return {
        "params_m": model.num_parameters() / 1e6,
        "torch_ms": torch_ms,
        "ort_ms": ort_ms,
        "onnx_mb": path.stat().st_size / 1e6,
        "max_dlogit": parity.max_abs_logit_diff,
        "agreement_pct": 100 * parity.argmax_agreement,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    print(
        f"batch 1, {WIDTH}×{HEIGHT} px, CPU, {args.threads} thread(s), median of "
        f"{args.repeats} after {args.warmup} warm-up; torch {torch.__version__}"
    )
    header = (
        f"{'model':<7} {'params':>8} {'torch ms':>9} {'ORT ms':>8} {'onnx MB':>8} "
        f"{'max|Δlogit|':>12} {'argmax %':>9}"
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            r = bench(name, args.repeats, args.warmup, args.threads, Path(tmp))
            print(
                f"{name:<7} {r['params_m']:>7.2f}M {r['torch_ms']:>9.1f} {r['ort_ms']:>8.1f} "
                f"{r['onnx_mb']:>8.1f} {r['max_dlogit']:>12.2e} {r['agreement_pct']:>9.3f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
