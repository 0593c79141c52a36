"""One self-describing model folder: ``model.onnx`` + ``model.json`` (+ ``MODEL_CARD.md``).

Inference rebuilds everything (input size, channel order, normalisation, labels) from
``model.json``; nothing is hard-coded twice. The ONNX file's sha256 is checked at load so a
corrupted or swapped model is refused rather than producing wrong measurements.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ocularseg.core.errors import InputError, ModelError
from ocularseg.core.eye_prior import eye_prior_map, prior_channel
from ocularseg.core.labels import LABEL_NAMES
from ocularseg.io.files import check_regular_file, read_regular_bytes, sha256_regular
from ocularseg.io.model_store import sha256_file

MODEL_JSON = "model.json"
MODEL_ONNX = "model.onnx"
FORMAT_VERSION = 1
#: model.json is a few hundred kB at most; anything far larger is not one.
MAX_MODEL_JSON_BYTES = 16_000_000
_PLAIN_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class PriorSpec(BaseModel):
    """How the landmark-prior channel is built (``ocularseg.core.eye_prior``).

    Channel 4 = ``2·prior − 1`` where ``prior`` is 1 inside the hexagon of dlib's six eye
    points in crop px and ``exp(−d² / (2 (sigma_frac·w)²))`` at distance ``d`` outside it
    (``w`` = corner-to-corner distance); without landmarks the hexagon is
    ``template_points_crop_px``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str = Field("dlib6-hexagon", pattern="^dlib6-hexagon$")
    sigma_frac: float = Field(gt=0, le=1)
    template_points_crop_px: tuple[tuple[float, float], ...] = Field(min_length=6, max_length=6)
    channel: str = Field("2*prior-1", pattern=r"^2\*prior-1$")


class InputSpec(BaseModel):
    """How a crop becomes the network's input tensor (N, 3, height, width) float32."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    height: int = Field(gt=0, description="input rows, crop px")
    width: int = Field(gt=0, description="input columns, crop px")
    channel_order: str = Field("RGB", pattern="^(RGB|BGR)$")
    layout: str = Field("NCHW", pattern="^NCHW$")
    scale: float = Field(1.0 / 255.0, gt=0, description="multiplies uint8 pixel values")
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    prior: PriorSpec | None = Field(
        None, description="a fourth input channel from the eye landmarks (None = RGB only)"
    )

    @field_validator("scale")
    @classmethod
    def _finite_scale(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError(f"must be a finite number, got {value}")
        return value

    @field_validator("mean")
    @classmethod
    def _finite_mean(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if not all(math.isfinite(v) for v in value):
            raise ValueError(f"must be three finite numbers, got {list(value)}")
        return value

    @field_validator("std")
    @classmethod
    def _positive_std(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        # A zero std divides every pixel by zero: inf/NaN input, garbage masks, no error.
        if not all(math.isfinite(v) and v > 0 for v in value):
            raise ValueError(f"must be three finite numbers > 0, got {list(value)}")
        return value


class OutputSpec(BaseModel):
    """What the network's output tensor (N, C, H, W) holds beyond the class logits.

    Channels ``0 … len(labels) − 1`` are always the class logits (arg-max → label map).
    ``amodal_iris_disc_channel``: a further channel whose logit is > 0 (sigmoid > 0.5)
    inside the whole iris disc, including the part the lids cover.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    amodal_iris_disc_channel: int | None = Field(None, ge=0)


class ModelSpec(BaseModel):
    """The contents of ``model.json`` that inference relies on (other keys are kept as info)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    format_version: int = FORMAT_VERSION
    name: str
    onnx_file: str = MODEL_ONNX
    sha256: str = Field(pattern="^[0-9a-f]{64}$")
    opset: int
    input: InputSpec
    labels: dict[str, int]
    output: OutputSpec = Field(default_factory=OutputSpec)
    architecture: dict[str, Any] = Field(default_factory=dict)
    provenance: str | None = Field(
        None,
        description="one line for every report: what the model was trained and validated "
        "on, e.g. 'trained on 4,750 synthetic phantom eye crops; validated on 500 phantoms "
        "of unseen phantom people; not validated on real patients'",
    )

    @field_validator("onnx_file")
    @classmethod
    def _inside_folder(cls, value: str) -> str:
        # A file name only: "../../etc/x" or "/dev/zero" must be refused before anything
        # is opened, not after.
        if not _PLAIN_FILE_NAME.match(value) or value in (".", ".."):
            raise ValueError(
                f"must be a file name inside the model folder (letters, digits, . _ -), "
                f"got {value!r}"
            )
        return value


def model_provenance(spec: ModelSpec) -> str:
    """The provenance line printed in every report for a model.

    ``model.json``'s ``provenance`` string when present; otherwise a line assembled from
    what ``model.json`` records of its training run (``training.run``: image and subject
    counts, ``training.config.data``) and evaluation (``evaluation.settings``), ending with
    a pointer to the model card. Never empty.
    """
    if spec.provenance and spec.provenance.strip():
        return f"Model {spec.name}: {spec.provenance.strip()}"
    extra = spec.model_extra or {}
    training = extra.get("training") if isinstance(extra.get("training"), dict) else {}
    run = training.get("run") if isinstance(training.get("run"), dict) else {}
    config = training.get("config") if isinstance(training.get("config"), dict) else {}
    evaluation = extra.get("evaluation") if isinstance(extra.get("evaluation"), dict) else {}
    settings = evaluation.get("settings") if isinstance(evaluation.get("settings"), dict) else {}
    parts = []
    if run.get("train_images"):
        what = f"{run['train_images']} images"
        if run.get("train_subjects"):
            what += f" of {run['train_subjects']} subjects"
        if config.get("data"):
            what += f" ({Path(str(config['data'])).name})"
        parts.append(f"trained on {what}")
    if settings.get("images"):
        what = f"{settings['images']} images"
        if settings.get("data"):
            what += f" ({Path(str(settings['data'])).name})"
        parts.append(f"validated on {what}")
    if not parts:
        return (
            f"Model {spec.name}: training and validation data not recorded in model.json; "
            "see its MODEL_CARD.md"
        )
    return f"Model {spec.name}: " + "; ".join(parts) + " (details in its MODEL_CARD.md)"


def load_model_spec(
    model_dir: str | os.PathLike[str], *, verify_checksum: bool = True
) -> ModelSpec:
    """Read and check a model folder.

    Raises:
        ModelError: the folder, ``model.json`` or the ONNX file is missing; the JSON is
            invalid; the labels differ from ``ocularseg.core.Label``; or the sha256 differs.
    """
    folder = Path(model_dir)
    if not folder.is_dir():
        raise ModelError(f"{folder}: model folder not found")
    json_path = folder / MODEL_JSON
    if not os.path.lexists(json_path):
        raise ModelError(f"{folder}: no {MODEL_JSON} (not an ocularseg model folder)")
    try:
        raw = read_regular_bytes(json_path, max_bytes=MAX_MODEL_JSON_BYTES)
        spec = ModelSpec.model_validate(json.loads(raw.decode("utf-8-sig")))
    except InputError as exc:
        raise ModelError(str(exc)) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{json_path}: not valid JSON ({exc})") from exc
    except RecursionError as exc:
        raise ModelError(f"{json_path}: not a model.json (nested too deeply)") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ModelError(f"{json_path}: invalid field '{where}': {message}") from exc
    if spec.format_version > FORMAT_VERSION:
        raise ModelError(
            f"{json_path}: format_version {spec.format_version} is newer than this ocularseg "
            f"understands ({FORMAT_VERSION}); upgrade ocularseg"
        )
    if {k.lower(): v for k, v in spec.labels.items()} != LABEL_NAMES:
        raise ModelError(f"{json_path}: labels {spec.labels} differ from ocularseg's {LABEL_NAMES}")
    onnx_path = folder / spec.onnx_file
    if not os.path.lexists(onnx_path):
        raise ModelError(f"{folder}: {spec.onnx_file} is missing")
    try:
        check_regular_file(onnx_path)  # a FIFO here would hang ONNX Runtime's read
    except InputError as exc:
        raise ModelError(str(exc)) from exc
    if verify_checksum:
        try:
            actual = sha256_regular(onnx_path)
        except InputError as exc:
            raise ModelError(str(exc)) from exc
        if actual != spec.sha256:
            raise ModelError(
                f"{onnx_path}: sha256 {actual[:12]}… does not match model.json "
                f"({spec.sha256[:12]}…); the file is corrupt or was replaced"
            )
    return spec


def onnx_path(model_dir: str | os.PathLike[str], spec: ModelSpec) -> Path:
    """Path of the ONNX file of a loaded spec."""
    return Path(model_dir) / spec.onnx_file


def build_model_json(
    model_dir: str | os.PathLike[str],
    *,
    name: str,
    opset: int,
    input_spec: InputSpec,
    architecture: dict[str, Any] | None = None,
    output_spec: OutputSpec | None = None,
    **info: Any,
) -> dict[str, Any]:
    """The ``model.json`` mapping for the ONNX file already in ``model_dir``.

    ``info`` adds free-form sections (training config, git commit, evaluation summary).
    The result validates as a :class:`ModelSpec`.
    """
    folder = Path(model_dir)
    content: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "name": name,
        "onnx_file": MODEL_ONNX,
        "sha256": sha256_file(folder / MODEL_ONNX),
        "opset": opset,
        "input": input_spec.model_dump(mode="json"),
        "labels": dict(LABEL_NAMES),
        **({"output": output_spec.model_dump(mode="json")} if output_spec else {}),
        "architecture": architecture or {},
        **info,
    }
    ModelSpec.model_validate(content)
    return content


def model_input(
    spec: InputSpec,
    crops: Sequence[np.ndarray],
    eye_points: Sequence[np.ndarray | None] | None = None,
) -> np.ndarray:
    """uint8 (H, W, 3) RGB crops -> float32 (N, C, H, W) as model.json's ``input`` says.

    ``eye_points``: per crop, dlib's six eye points in crop px (or None), used only by
    models with a landmark prior; a crop without points gets the template's prior. Also
    what int8 calibration feeds the network (``training.quantize``).

    Raises:
        InputError: a crop is not (H, W, 3) uint8 of the model's size.
    """
    channels = 3 + (spec.prior is not None)
    batch = np.empty((len(crops), channels, spec.height, spec.width), np.float32)
    # (byte × scale − mean) / std in float32 for every byte value: a look-up per channel
    # gives the same numbers as the arithmetic on the whole crop, several times faster.
    levels = np.arange(256, dtype=np.float32)[:, None] * np.float32(spec.scale)
    table = ((levels - np.asarray(spec.mean, np.float32)) / np.asarray(spec.std, np.float32)).T
    for i, crop in enumerate(crops):
        if crop.shape != (spec.height, spec.width, 3) or crop.dtype != np.uint8:
            raise InputError(
                f"crop {i} is {crop.shape} {crop.dtype}; the model needs "
                f"({spec.height}, {spec.width}, 3) uint8"
            )
        image = crop[..., ::-1] if spec.channel_order == "BGR" else crop
        for channel in range(3):
            np.take(table[channel], image[..., channel], out=batch[i, channel])
        if spec.prior is not None:
            points = None if eye_points is None else eye_points[i]
            prior = eye_prior_map(
                points,
                (spec.height, spec.width),
                spec.prior.sigma_frac,
                template=np.asarray(spec.prior.template_points_crop_px, float),
            )
            batch[i, 3] = prior_channel(prior)
    return batch
