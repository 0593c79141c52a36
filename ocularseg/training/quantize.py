"""Static int8 quantisation of a model folder with ONNX Runtime (``ocularseg quantize``).

The float model folder stays the reference; the int8 folder is a second, self-describing
model folder (``model.onnx``, ``model.json``, ``MODEL_CARD.md``) that ``analyze --model``
runs like any other. Recipe, chosen on the bundled UNet (docs/experiments.md, "int8"):

* ``quant_pre_process`` (shape inference and graph fusion: BatchNorm folds into Conv);
* QDQ format, weights int8 per output channel, activations uint8 per tensor, MinMax
  calibration on crops drawn (seeded) from a dataset's non-test rows;
* the first convolution (raw normalised pixels) and the last one (class logits) stay in
  float. Quantising them cost the sclera about 1 Dice point; keeping them costs about
  nothing in speed, because they are the two thinnest layers.

No weights for fine-tuning are copied: ``train --init`` should start from the float folder.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from ocularseg.core.errors import ConfigError, DataError
from ocularseg.data.manifest import read_manifest
from ocularseg.io.atomic import replacing_folder, write_json_atomic, write_text_atomic
from ocularseg.io.images import read_image_rgb
from ocularseg.io.model_folder import (
    MODEL_JSON,
    MODEL_ONNX,
    InputSpec,
    load_model_spec,
    model_input,
    onnx_path,
)
from ocularseg.io.model_store import sha256_file

log = logging.getLogger(__name__)

DEFAULT_CALIBRATION_IMAGES = 128
AGREEMENT_IMAGES = 16


def calibration_rows(dataset: Path, count: int, seed: int) -> tuple[list, list]:
    """Seeded, disjoint (calibration rows, agreement rows) from a dataset's non-test rows."""
    rows = [row for row in read_manifest(dataset) if row.split != "test"]
    if len(rows) < 2:
        raise DataError(f"{dataset}: needs at least 2 non-test images for calibration")
    order = np.random.default_rng(seed).permutation(len(rows))
    n_calibration = min(count, len(rows) - 1)
    n_agreement = min(AGREEMENT_IMAGES, len(rows) - n_calibration)
    calibration = [rows[i] for i in sorted(order[:n_calibration])]
    agreement = [rows[i] for i in sorted(order[n_calibration : n_calibration + n_agreement])]
    return calibration, agreement


def _batch(dataset: Path, row, spec: InputSpec) -> np.ndarray:
    """The model's input for one crop, as analyze builds it (the landmark prior from the
    crop's dlib eye points when its metadata has them, else the template)."""
    image = read_image_rgb(dataset / row.image)
    if image.shape[:2] != (spec.height, spec.width):
        raise DataError(
            f"{dataset / row.image}: {image.shape[1]}×{image.shape[0]} px, but the model takes "
            f"{spec.width}×{spec.height} px crops"
        )
    points = None
    meta_path = dataset / row.meta
    if spec.prior is not None and meta_path.is_file():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if "dlib_eye_points_crop_px" in meta:
            points = np.asarray(meta["dlib_eye_points_crop_px"], float)
    return model_input(spec, [image], [points])


def _float_kept_nodes(model: Any) -> list[str]:
    """Names of the node reading the graph input and the node writing the graph output."""
    graph = model.graph
    input_name, output_name = graph.input[0].name, graph.output[0].name
    first = next(n.name for n in graph.node if input_name in n.input)
    last = next(n.name for n in graph.node if output_name in n.output)
    return list(dict.fromkeys([first, last]))


def quantize_model_folder(
    model_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    calibration_data: str | os.PathLike[str],
    *,
    n_images: int = DEFAULT_CALIBRATION_IMAGES,
    seed: int = 0,
    name: str | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write an int8 copy of a float model folder; returns the new ``model.json`` content.

    Args:
        model_dir: Float model folder (its sha256 is checked first).
        out_dir: Folder to create, e.g. ``models/ocularseg-unet-tiu-int8``.
        calibration_data: Dataset whose non-test crops calibrate the activation ranges.
        n_images: Calibration crops (seeded choice).
        seed: Seed of that choice.
        name: Model name (default: the folder name).
        overwrite: Replace an existing ``out_dir``.

    Raises:
        ConfigError: ``out_dir`` exists without ``overwrite``, or onnx is not installed.
        ModelError: the float folder is missing, corrupt or fails its checksum.
        DataError: unusable calibration data.
    """
    try:
        import onnx
        import onnxruntime as ort
        from onnxruntime.quantization import (
            CalibrationDataReader,
            CalibrationMethod,
            QuantFormat,
            QuantType,
            quantize_static,
        )
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError as exc:
        raise ConfigError(
            f"quantisation needs onnx and onnxruntime ({exc.name} is missing): install "
            "`pip install -e '.[cpu,train]'`"
        ) from None

    source, target, data = Path(model_dir), Path(out_dir), Path(calibration_data)
    if target.resolve() == source.resolve():
        raise ConfigError(f"{target}: the int8 folder must differ from the float one")
    if target.exists() and not overwrite:
        raise ConfigError(f"{target} already exists (pass --overwrite to replace it)")
    spec = load_model_spec(source)
    calibration, agreement = calibration_rows(data, n_images, seed)

    class _Reader(CalibrationDataReader):
        def __init__(self, input_name: str) -> None:
            self._rows = iter(calibration)
            self._input_name = input_name

        def get_next(self) -> dict[str, np.ndarray] | None:
            row = next(self._rows, None)
            return None if row is None else {self._input_name: _batch(data, row, spec.input)}

    with replacing_folder(target) as staging:
        prepared = staging / "prepared.onnx"
        quant_pre_process(str(onnx_path(source, spec)), str(prepared))
        prepared_model = onnx.load(str(prepared))
        kept_float = _float_kept_nodes(prepared_model)
        began = time.perf_counter()
        quantize_static(
            str(prepared),
            str(staging / MODEL_ONNX),
            _Reader(prepared_model.graph.input[0].name),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            nodes_to_exclude=kept_float,
        )
        calibrate_s = time.perf_counter() - began
        prepared.unlink()
        agreement_score = _argmax_agreement(
            onnx_path(source, spec), staging / MODEL_ONNX, data, agreement, spec.input
        )
        content = json.loads((source / MODEL_JSON).read_text(encoding="utf-8"))
        content.pop("evaluation", None)  # the float model's numbers; re-evaluate this one
        content.pop("parity", None)  # PyTorch parity belongs to the float export
        content.update(
            name=name or target.name,
            onnx_file=MODEL_ONNX,
            sha256=sha256_file(staging / MODEL_ONNX),
            onnx_size_bytes=(staging / MODEL_ONNX).stat().st_size,
            quantization={
                "method": "onnxruntime quantize_static, QDQ, MinMax calibration",
                "weights": "int8, per output channel",
                "activations": "uint8, per tensor",
                "kept_float_nodes": kept_float,
                "calibration_data": str(data),
                "calibration_images": len(calibration),
                "calibration_seed": seed,
                "calibration_seconds": round(calibrate_s, 1),
                "float_model": {"name": spec.name, "sha256": spec.sha256},
                "agreement_with_float": agreement_score,
                "onnxruntime_version": ort.__version__,
            },
        )
        write_json_atomic(staging / MODEL_JSON, content)
        write_text_atomic(staging / "MODEL_CARD.md", quantized_card(content, None, None))
        load_model_spec(staging)  # the new folder must load like any other
    log.info("quantised %s -> %s (argmax agreement %.4f)", source, target, agreement_score["mean"])
    return content


def _argmax_agreement(
    float_onnx: Path, int8_onnx: Path, data: Path, rows: list, spec: InputSpec
) -> dict[str, Any]:
    """Share of pixels where both models pick the same class, on crops not calibrated on."""
    import onnxruntime as ort

    sessions = [
        ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        for path in (float_onnx, int8_onnx)
    ]
    shares = []
    for row in rows:
        batch = _batch(data, row, spec)
        labels = [s.run(None, {s.get_inputs()[0].name: batch})[0].argmax(1) for s in sessions]
        shares.append(float(np.mean(labels[0] == labels[1])))
    return {"images": len(rows), "mean": float(np.mean(shares)), "min": float(np.min(shares))}


def measure_latency_ms(
    onnx_files: list[Path],
    height: int,
    width: int,
    *,
    channels: int = 3,
    runs: int = 20,
    threads: int = 2,
) -> list[float]:
    """Median CPU latency (ms) of one crop per model, runs interleaved so load hits all alike.

    A measurement for a model card, not a test: these machines are noisy, so compare the
    ratio of the medians rather than the absolute numbers.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    sessions = [
        ort.InferenceSession(str(p), options, providers=["CPUExecutionProvider"])
        for p in onnx_files
    ]
    batch = np.random.default_rng(0).normal(size=(1, channels, height, width)).astype(np.float32)
    times: list[list[float]] = [[] for _ in sessions]
    for repeat in range(runs + 2):
        for session, series in zip(sessions, times, strict=True):
            began = time.perf_counter()
            session.run(None, {session.get_inputs()[0].name: batch})
            if repeat >= 2:  # the first runs allocate and tune
                series.append(1000 * (time.perf_counter() - began))
    return [float(np.median(series)) for series in times]


def quantized_card(
    content: dict[str, Any], comparison_markdown: str | None, evaluation_markdown: str | None
) -> str:
    """MODEL_CARD.md of an int8 folder: what it is, how it was made, how it compares."""
    q = content["quantization"]
    agreement = q["agreement_with_float"]
    lines = [
        f"# Model card: {content['name']}",
        "",
        f"The int8-quantised variant of `{q['float_model']['name']}` (sha256 "
        f"`{q['float_model']['sha256'][:12]}…`): the same network, task, training data and "
        "limitations — read that model's card first. **A measurement aid, not a diagnostic "
        "device.** Use it with `ocularseg analyze --model <this folder>`; fine-tune from the "
        "float folder, not this one.",
        "",
        "## Quantisation",
        f"- {q['method']}; weights {q['weights']}, activations {q['activations']}",
        f"- Kept in float: {', '.join(q['kept_float_nodes'])} (first and last layer)",
        f"- Calibration: {q['calibration_images']} crops of `{q['calibration_data']}` "
        f"(non-test rows, seed {q['calibration_seed']}), ONNX Runtime {q['onnxruntime_version']}",
        f"- ONNX sha256 `{content['sha256']}` ({content['onnx_size_bytes'] / 1e6:.1f} MB)",
        f"- Agreement with the float model on {agreement['images']} other crops: "
        f"{100 * agreement['mean']:.2f} % of pixels get the same class (worst crop "
        f"{100 * agreement['min']:.2f} %)",
        "",
        "## Compared with the float model",
        comparison_markdown.strip() if comparison_markdown else "Not compared at export time.",
        "",
        "## Evaluation",
        evaluation_markdown.strip() if evaluation_markdown else "Not evaluated at export time.",
        "",
    ]
    return "\n".join(lines)


def attach_comparison(
    model_dir: str | os.PathLike[str],
    comparison: dict[str, Any],
    comparison_markdown: str,
    evaluation: dict[str, Any],
    evaluation_markdown: str,
) -> None:
    """Record the float-vs-int8 comparison and the evaluation in model.json and the card.

    The ONNX file is untouched, so its sha256 stays valid.
    """
    folder = Path(model_dir)
    content = json.loads((folder / MODEL_JSON).read_text(encoding="utf-8"))
    content["quantization"]["comparison"] = comparison
    content["evaluation"] = evaluation
    write_json_atomic(folder / MODEL_JSON, content)
    write_text_atomic(
        folder / "MODEL_CARD.md", quantized_card(content, comparison_markdown, evaluation_markdown)
    )
