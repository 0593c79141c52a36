"""Benchmark model folders as ``analyze`` runs them: ONNX Runtime, 480×320 crops.

For each folder: ONNX size, and the median ms per crop at batch 1 and per crop at batch 8
(``--repeats`` runs after 2 warm-up runs, the folders interleaved so that machine load hits
them alike), plus the ratio to the first folder. Uses CUDA when ONNX Runtime offers it and
``--device`` allows, and then also reports crops/s. Nothing is written.

    python benchmarks/bench_model_folders.py models/ocularseg-unet-tiu \\
        models/ocularseg-unet-tiu-int8 [--threads 2] [--repeats 20] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ocularseg.io.model_folder import load_model_spec, onnx_path


def _session(path: Path, threads: int, device: str) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    providers = ["CPUExecutionProvider"]
    if device == "cuda":
        providers.insert(0, "CUDAExecutionProvider")
    return ort.InferenceSession(str(path), options, providers=providers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    args = parser.parse_args()

    specs = [load_model_spec(folder) for folder in args.folders]
    files = [onnx_path(folder, spec) for folder, spec in zip(args.folders, specs, strict=True)]
    sessions = [_session(path, args.threads, args.device) for path in files]
    height, width = specs[0].input.height, specs[0].input.width
    rng = np.random.default_rng(0)
    print(
        f"ONNX Runtime {ort.__version__}, {args.device}, {args.threads} thread(s), "
        f"providers {sessions[0].get_providers()[0]}, {args.repeats} repeats"
    )
    results: dict[int, list[float]] = {}
    for batch in (1, 8):
        # 3 channels (RGB) or 4 (RGB + landmark prior), as each model's input declares.
        inputs = [
            rng.normal(size=(batch, 4 if spec.input.prior else 3, height, width)).astype(np.float32)
            for spec in specs
        ]
        times: list[list[float]] = [[] for _ in sessions]
        for repeat in range(args.repeats + 2):
            for session, series, x in zip(sessions, times, inputs, strict=True):
                began = time.perf_counter()
                session.run(None, {session.get_inputs()[0].name: x})
                if repeat >= 2:
                    series.append(1e3 * (time.perf_counter() - began) / batch)
        results[batch] = [statistics.median(series) for series in times]
    print("| model | ONNX MB | ms/crop batch 1 | ms/crop batch 8 | crops/s batch 8 | ratio b1 |")
    print("|---|---:|---:|---:|---:|---:|")
    for i, (folder, path) in enumerate(zip(args.folders, files, strict=True)):
        b1, b8 = results[1][i], results[8][i]
        print(
            f"| {folder.name} | {path.stat().st_size / 1e6:.1f} | {b1:.1f} | {b8:.1f} | "
            f"{1e3 / b8:.1f} | {b1 / results[1][0]:.2f} |"
        )


if __name__ == "__main__":
    main()
