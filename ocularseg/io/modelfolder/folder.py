"""Read and write a model folder: ``model.onnx`` + ``model.json`` + ``MODEL_CARD.md``.

The only code that reads or writes ``model.json`` and ``MODEL_CARD.md``: export, quantize,
the CLI and the benchmarks go through :func:`load_model_spec`, :func:`write_model_folder`
and :func:`update_model_folder`. The ONNX file's sha256 is checked at load so a corrupted
or swapped model is refused rather than producing wrong measurements.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ocularseg.core.errors import InputError, ModelError
from ocularseg.core.labels import LABEL_NAMES
from ocularseg.io.atomic import write_json_atomic, write_text_atomic
from ocularseg.io.files import check_regular_file, read_regular_bytes, sha256_regular
from ocularseg.io.modelfolder.card import render_card
from ocularseg.io.modelfolder.document import (
    FORMAT_VERSION,
    MODEL_CARD,
    MODEL_JSON,
    MODEL_ONNX,
    ModelSpec,
    upgrade_v1,
)
from ocularseg.io.modelfolder.sections import Architecture
from ocularseg.io.modelfolder.spec import InputSpec, OutputSpec
from ocularseg.io.share import without_paths

#: model.json is a few hundred kB at most; anything far larger is not one.
MAX_MODEL_JSON_BYTES = 16_000_000


def _invalid(json_path: Path, exc: ValidationError) -> ModelError:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    return ModelError(f"{json_path}: invalid field '{where}': {message}")


def _parse(json_path: Path) -> ModelSpec:
    """The ``model.json`` at ``json_path`` as a spec; format 1 is upgraded on the way."""
    try:
        data = read_regular_bytes(json_path, max_bytes=MAX_MODEL_JSON_BYTES)
        raw = json.loads(data.decode("utf-8-sig"))
    except InputError as exc:
        raise ModelError(str(exc)) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{json_path}: not valid JSON ({exc})") from exc
    except RecursionError as exc:
        raise ModelError(f"{json_path}: not a model.json (nested too deeply)") from exc
    if not isinstance(raw, dict):
        raise ModelError(f"{json_path}: not a model.json (a JSON object is expected)")
    version = raw.get("format_version", 1)
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise ModelError(
            f"{json_path}: format_version {version} is newer than this ocularseg "
            f"understands ({FORMAT_VERSION}); upgrade ocularseg"
        )
    if version == 1:
        raw = upgrade_v1(raw, str(json_path))
    try:
        return ModelSpec.model_validate(raw)
    except ValidationError as exc:
        raise _invalid(json_path, exc) from exc


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
    spec = _parse(json_path)
    if {k.lower(): v for k, v in spec.labels.items()} != LABEL_NAMES:
        raise ModelError(f"{json_path}: labels {spec.labels} differ from ocularseg's {LABEL_NAMES}")
    onnx_file = folder / spec.onnx_file
    if not os.path.lexists(onnx_file):
        raise ModelError(f"{folder}: {spec.onnx_file} is missing")
    try:
        check_regular_file(onnx_file)  # a FIFO here would hang ONNX Runtime's read
        actual = sha256_regular(onnx_file) if verify_checksum else spec.sha256
    except InputError as exc:
        raise ModelError(str(exc)) from exc
    if actual != spec.sha256:
        raise ModelError(
            f"{onnx_file}: sha256 {actual[:12]}… does not match model.json "
            f"({spec.sha256[:12]}…); the file is corrupt or was replaced"
        )
    return spec


def onnx_path(model_dir: str | os.PathLike[str], spec: ModelSpec) -> Path:
    """Path of the ONNX file of a loaded spec."""
    return Path(model_dir) / spec.onnx_file


def new_model_spec(
    model_dir: str | os.PathLike[str],
    *,
    name: str,
    opset: int,
    input_spec: InputSpec,
    architecture: Architecture | dict[str, Any] | None = None,
    output_spec: OutputSpec | None = None,
    **sections: Any,
) -> ModelSpec:
    """The spec of the ONNX file already in ``model_dir`` (its sha256 and size measured).

    ``sections``: further :class:`ModelSpec` fields (training, parity, evaluation, …).
    """
    onnx_file = Path(model_dir) / MODEL_ONNX
    return ModelSpec.model_validate(
        {
            "name": name,
            "sha256": sha256_regular(onnx_file),
            "onnx_size_bytes": onnx_file.stat().st_size,
            "opset": opset,
            "input": input_spec,
            "labels": dict(LABEL_NAMES),
            "output": output_spec or OutputSpec(),
            "architecture": architecture or Architecture(),
            **sections,
        }
    )


def build_model_json(model_dir: str | os.PathLike[str], **fields: Any) -> dict[str, Any]:
    """``new_model_spec(model_dir, **fields)`` as the JSON mapping (for test fixtures)."""
    return new_model_spec(model_dir, **fields).to_json()


def write_model_folder(model_dir: str | os.PathLike[str], spec: ModelSpec) -> ModelSpec:
    """Write ``model.json`` and the MODEL_CARD.md built from it into ``model_dir``.

    The spec is validated again first (a ``model_copy`` skips validation); the ONNX file
    is not touched.
    """
    folder = Path(model_dir)
    checked = ModelSpec.model_validate(spec.to_json())
    write_json_atomic(folder / MODEL_JSON, checked.to_json())
    write_text_atomic(folder / MODEL_CARD, render_card(checked))
    return checked


def update_model_folder(model_dir: str | os.PathLike[str], **changes: Any) -> ModelSpec:
    """Replace top-level fields of a folder's ``model.json`` and rebuild its card.

    Raises:
        ModelError: the folder does not load (its checksum is not re-read here).
    """
    spec = load_model_spec(model_dir, verify_checksum=False)
    return write_model_folder(model_dir, spec.model_copy(update=changes))


def make_shareable(model_dir: str | os.PathLike[str]) -> ModelSpec:
    """Cut every data-set or machine path in ``model.json`` (and so the card) to its last
    component (``ocularseg.io.share.without_paths``; README, Privacy)."""
    spec = load_model_spec(model_dir, verify_checksum=False)
    return write_model_folder(model_dir, ModelSpec.model_validate(without_paths(spec.to_json())))


def model_provenance(spec: ModelSpec) -> str:
    """The provenance line printed in every report for a model.

    ``model.json``'s ``provenance`` string when present; otherwise a line assembled from
    what it records of its training run (image and subject counts, the training data) and
    evaluation (image count and data set), ending with a pointer to the model card.
    Never empty.
    """
    if spec.provenance and spec.provenance.strip():
        return f"Model {spec.name}: {spec.provenance.strip()}"
    parts = []
    run = spec.training.run if spec.training else None
    if run is not None and run.train_images:
        what = f"{run.train_images} images"
        if run.train_subjects:
            what += f" of {run.train_subjects} subjects"
        if spec.training is not None and spec.training.config.data:
            what += f" ({Path(spec.training.config.data).name})"
        parts.append(f"trained on {what}")
    settings = spec.evaluation.settings if spec.evaluation else None
    if settings is not None and settings.images:
        what = f"{settings.images} images"
        if settings.data:
            what += f" ({Path(settings.data).name})"
        parts.append(f"validated on {what}")
    if not parts:
        return (
            f"Model {spec.name}: training and validation data not recorded in model.json; "
            "see its MODEL_CARD.md"
        )
    return f"Model {spec.name}: " + "; ".join(parts) + " (details in its MODEL_CARD.md)"
