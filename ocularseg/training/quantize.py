"""Static int8 quantisation of a model folder with ONNX Runtime (``ocularseg quantize``).

The float model folder stays the reference; the int8 folder is a second, self-describing
model folder (``model.onnx``, ``model.json``, ``MODEL_CARD.md``) that ``analyze --model``
runs like any other. Recipe, chosen on the bundled UNet (docs/experiments.md, "int8"):

* ``quant_pre_process`` (shape inference and graph fusion: BatchNorm folds into Conv);
* QDQ format, weights int8 per output channel, activations uint8 per tensor, MinMax
  calibration on crops drawn (seeded) from a dataset's non-test rows;
* the first convolution (raw normalised pixels) and the last one (class logits) stay in
  float: they are the two thinnest layers, and quantising them cost the sclera Dice
  (docs/experiments.md, "int8").

No weights for fine-tuning are copied: ``train --init`` should start from the float folder.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from ocularseg.core.errors import ConfigError, DataError, ModelError
from ocularseg.data.eye_meta import read_eye_meta
from ocularseg.data.manifest import read_manifest
from ocularseg.io.atomic import replacing_folder
from ocularseg.io.files import sha256_regular
from ocularseg.io.images import read_image_rgb
from ocularseg.io.modelfolder import (
    MODEL_ONNX,
    Agreement,
    CardSection,
    EvaluationSection,
    FloatModelRef,
    InputSpec,
    ModelSpec,
    QuantComparison,
    QuantizationSection,
    load_model_spec,
    model_input,
    onnx_path,
    update_model_folder,
    write_model_folder,
)

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
        points = read_eye_meta(meta_path).dlib_points()
    return model_input(spec, [image], [points])


def _float_kept_nodes(model: Any) -> list[str]:
    """Names of the node reading the graph input and the node writing the graph output."""
    graph = model.graph
    input_name, output_name = graph.input[0].name, graph.output[0].name
    first = next(n.name for n in graph.node if input_name in n.input)
    last = next(n.name for n in graph.node if output_name in n.output)
    return list(dict.fromkeys([first, last]))


def _quant_tools() -> Any:
    """The onnx / onnxruntime.quantization entry points quantisation uses.

    Raises:
        ConfigError: onnx or onnxruntime is not installed.
    """
    try:
        import onnx
        import onnxruntime
        from onnxruntime import quantization
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError as exc:
        raise ConfigError(
            f"quantisation needs onnx and onnxruntime ({exc.name} is missing): install "
            "`pip install -e '.[cpu,train]'`"
        ) from None
    return SimpleNamespace(
        onnx=onnx, ort=onnxruntime, q=quantization, quant_pre_process=quant_pre_process
    )


def _quantize_onnx(
    tools: Any, float_onnx: Path, staging: Path, rows: list, data: Path, spec: InputSpec
) -> tuple[list[str], float]:
    """Write ``staging/model.onnx``, int8 from ``float_onnx`` calibrated on ``rows``.

    Returns:
        (names of the nodes kept in float, calibration seconds).
    """
    q = tools.q

    class _Reader(q.CalibrationDataReader):
        def __init__(self, input_name: str) -> None:
            self._rows = iter(rows)
            self._input_name = input_name

        def get_next(self) -> dict[str, np.ndarray] | None:
            row = next(self._rows, None)
            return None if row is None else {self._input_name: _batch(data, row, spec)}

    prepared = staging / "prepared.onnx"
    tools.quant_pre_process(str(float_onnx), str(prepared))
    prepared_model = tools.onnx.load(str(prepared))
    kept_float = _float_kept_nodes(prepared_model)
    began = time.perf_counter()
    q.quantize_static(
        str(prepared),
        str(staging / MODEL_ONNX),
        _Reader(prepared_model.graph.input[0].name),
        quant_format=q.QuantFormat.QDQ,
        per_channel=True,
        activation_type=q.QuantType.QUInt8,
        weight_type=q.QuantType.QInt8,
        calibrate_method=q.CalibrationMethod.MinMax,
        nodes_to_exclude=kept_float,
    )
    seconds = time.perf_counter() - began
    prepared.unlink()
    return kept_float, seconds


def _check_target(source: Path, target: Path, overwrite: bool) -> None:
    """Raise ``ConfigError`` if ``target`` is the float folder, or exists without overwrite."""
    if target.resolve() == source.resolve():
        raise ConfigError(f"{target}: the int8 folder must differ from the float one")
    if target.exists() and not overwrite:
        raise ConfigError(f"{target} already exists (pass --overwrite to replace it)")


def quantize_model_folder(
    model_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    calibration_data: str | os.PathLike[str],
    *,
    n_images: int = DEFAULT_CALIBRATION_IMAGES,
    seed: int = 0,
    name: str | None = None,
    overwrite: bool = False,
) -> ModelSpec:
    """Write an int8 copy of a float model folder; returns the new folder's spec.

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
    tools = _quant_tools()
    source, target, data = Path(model_dir), Path(out_dir), Path(calibration_data)
    _check_target(source, target, overwrite)
    spec = load_model_spec(source)
    calibration, agreement = calibration_rows(data, n_images, seed)
    with replacing_folder(target) as staging:
        float_onnx = onnx_path(source, spec)
        kept_float, seconds = _quantize_onnx(
            tools, float_onnx, staging, calibration, data, spec.input
        )
        agreement_score = _argmax_agreement(
            float_onnx, staging / MODEL_ONNX, data, agreement, spec.input
        )
        record = QuantizationSection(
            method="onnxruntime quantize_static, QDQ, MinMax calibration",
            weights="int8, per output channel",
            activations="uint8, per tensor",
            kept_float_nodes=tuple(kept_float),
            calibration_data=str(data),
            calibration_images=len(calibration),
            calibration_seed=seed,
            calibration_seconds=round(seconds, 1),
            float_model=FloatModelRef(name=spec.name, sha256=spec.sha256),
            agreement_with_float=agreement_score,
            onnxruntime_version=tools.ort.__version__,
        )
        int8 = write_model_folder(
            staging, quantized_spec(spec, staging, name or target.name, record)
        )
        load_model_spec(staging)  # the new folder must load like any other
    log.info("quantised %s -> %s (argmax agreement %.4f)", source, target, agreement_score.mean)
    return int8


def quantized_spec(
    float_spec: ModelSpec, folder: Path, name: str, record: QuantizationSection
) -> ModelSpec:
    """The int8 folder's spec: the float one's input, training and provenance, its own
    ONNX file and quantisation record. The float model's evaluation, parity and card text
    are left out (they describe the float network; evaluate this one)."""
    onnx_file = folder / MODEL_ONNX
    return float_spec.model_copy(
        update={
            "name": name,
            "onnx_file": MODEL_ONNX,
            "sha256": sha256_regular(onnx_file),
            "onnx_size_bytes": onnx_file.stat().st_size,
            "quantization": record,
            "evaluation": None,
            "parity": None,
            "card": CardSection(),
        }
    )


def _argmax_agreement(
    float_onnx: Path, int8_onnx: Path, data: Path, rows: list, spec: InputSpec
) -> Agreement:
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
    return Agreement(images=len(rows), mean=float(np.mean(shares)), min=float(np.min(shares)))


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
    ratio of the medians rather than the absolute numbers. ``channels`` is the models'
    input channels: 3 (normalised RGB) or 4 (RGB + the landmark-prior channel).
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


def attach_comparison(
    model_dir: str | os.PathLike[str],
    comparison: QuantComparison,
    evaluation: EvaluationSection | None,
) -> ModelSpec:
    """Record the float-vs-int8 comparison and the int8 evaluation in an int8 folder.

    The ONNX file is untouched, so its sha256 stays valid.

    Raises:
        ModelError: the folder does not load or is not an int8 folder.
    """
    spec = load_model_spec(model_dir, verify_checksum=False)
    if spec.quantization is None:
        raise ModelError(f"{model_dir}: not an int8 model folder (no quantization record)")
    record = spec.quantization.model_copy(update={"comparison": comparison})
    return update_model_folder(model_dir, quantization=record, evaluation=evaluation)
