"""Save and load network weights as safetensors (never pickles).

The file holds the full ``state_dict`` (parameters and buffers such as batch-norm running
statistics) plus string metadata. :func:`save_weights` adds the registry name and the
constructor config of the network, so :func:`load_model` can rebuild it from the file alone.
Loading is strict: every key must be present with the same shape, and nothing extra.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

from ocularseg.core.errors import ModelError
from ocularseg.core.labels import NUM_CLASSES, Label
from ocularseg.io.atomic import atomic_path
from ocularseg.training.models import build_model

#: Metadata keys written by :func:`save_weights`; callers may not set them.
MODEL_NAME_KEY = "ocularseg.model"
MODEL_CONFIG_KEY = "ocularseg.config"
_RESERVED = (MODEL_NAME_KEY, MODEL_CONFIG_KEY)
#: How many key/shape problems an error message lists before summarising.
_MAX_LISTED = 10


def _as_text(value: Any) -> str:
    """Safetensors metadata is str → str; other values are stored as JSON."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def save_weights(
    model: nn.Module,
    path: str | os.PathLike[str],
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``model.state_dict()`` to a safetensors file, atomically.

    Args:
        model: Any module; for ocularseg networks its registry name and ``config()`` are
            recorded under ``"ocularseg.model"`` and ``"ocularseg.config"``.
        path: Target file (conventionally ``*.safetensors``); parent folders are created.
        metadata: Extra string-keyed metadata (epoch, commit, ...). Non-string values are
            stored as JSON text.

    Returns:
        The path written.

    Raises:
        ModelError: If ``metadata`` uses a reserved key.
        ReportError: If the file cannot be written.
    """
    meta: dict[str, str] = {}
    for key, value in (metadata or {}).items():
        if key in _RESERVED:
            raise ModelError(f"metadata key {key!r} is reserved; use another name")
        meta[str(key)] = _as_text(value)
    name = getattr(model, "name", "")
    if name and callable(getattr(model, "config", None)):
        meta[MODEL_NAME_KEY] = name
        meta[MODEL_CONFIG_KEY] = json.dumps(model.config(), sort_keys=True)
    # Detach, move to CPU and make contiguous: safetensors stores raw contiguous buffers and
    # refuses views that share memory.
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    target = Path(path)
    with atomic_path(target) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return target


def _read(path: Path, *, tensors: bool = True) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The file's tensors (none unless ``tensors``) and its string metadata."""
    if not path.is_file():
        raise ModelError(f"weights file {path} does not exist")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            loaded = {k: handle.get_tensor(k) for k in handle.keys()} if tensors else {}
            return loaded, dict(handle.metadata() or {})
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(f"weights file {path} is not a readable safetensors file: {exc}") from exc


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """String metadata of a safetensors weights file (without loading the tensors)."""
    return _read(Path(path), tensors=False)[1]


def _listed(items: list[str]) -> str:
    shown = "; ".join(items[:_MAX_LISTED])
    more = len(items) - _MAX_LISTED
    return shown + (f"; … and {more} more" if more > 0 else "")


def load_weights(
    model: nn.Module,
    path: str | os.PathLike[str],
    *,
    grow_input_channels: bool = False,
    grow_output_channels: bool = False,
) -> dict[str, str]:
    """Load a safetensors file into ``model`` in place, strictly.

    Every tensor of ``model.state_dict()`` must be in the file with the same shape, and the
    file may hold nothing else; dtypes are cast to the model's. Nothing is copied unless
    all checks pass.

    Args:
        model: The network to fill (built with the same config as the saved one).
        path: A file written by :func:`save_weights`.
        grow_input_channels: allow the network's first convolution(s) to take more input
            channels than the file's (an RGB model fine-tuned with the landmark-prior
            channel): the saved channels are copied and the new ones start at zero, so the
            grown network computes exactly what the saved one did.
        grow_output_channels: allow the network's output head (``head.weight`` /
            ``head.bias``) to have more channels than the file's (a model fine-tuned with
            the amodal iris-disc output): the saved class channels are copied; a new
            channel starts as "iris or pupil vs the rest" — the mean of the iris and pupil
            rows minus the mean of the other class rows — so the disc starts at the
            visible iris and learns what the lids cover.

    Returns:
        The file's string metadata.

    Raises:
        ModelError: If the file is missing or unreadable, or keys or shapes do not match;
            the message names the keys, the expected and the found shapes.
    """
    path = Path(path)
    tensors, metadata = _read(path)
    expected = model.state_dict()
    if grow_input_channels:
        tensors = _grown(tensors, expected)
    if grow_output_channels:
        tensors = _grown_head(tensors, expected)
    problems = _fit_problems(expected, tensors)
    if problems:
        saved = metadata.get(MODEL_NAME_KEY)
        hint = ""
        if saved is not None:
            hint = (
                f" (file was saved from model {saved!r} with config "
                f"{metadata.get(MODEL_CONFIG_KEY, '?')})"
            )
        raise ModelError(
            f"weights file {path} does not fit {type(model).__name__}{hint}: "
            + " | ".join(problems)
        )
    model.load_state_dict(tensors, strict=True)
    return metadata


def _fit_problems(
    expected: Mapping[str, torch.Tensor], tensors: Mapping[str, torch.Tensor]
) -> list[str]:
    """Missing keys, unexpected keys and shape mismatches of ``tensors`` against a model."""
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong_shape = [
        f"{k}: model {tuple(expected[k].shape)} vs file {tuple(tensors[k].shape)}"
        for k in sorted(set(expected) & set(tensors))
        if expected[k].shape != tensors[k].shape
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing key(s): {_listed(missing)}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected key(s): {_listed(unexpected)}")
    if wrong_shape:
        problems.append(f"{len(wrong_shape)} shape mismatch(es): {_listed(wrong_shape)}")
    return problems


def _grown(tensors: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> dict:
    """Conv weights (out, in, k, k) widened to the model's input channels with zeros."""
    out = dict(tensors)
    for key, target in expected.items():
        saved = tensors.get(key)
        if (
            saved is not None
            and saved.dim() == 4
            and target.dim() == 4
            and saved.shape[0] == target.shape[0]
            and saved.shape[2:] == target.shape[2:]
            and saved.shape[1] < target.shape[1]
        ):
            grown = torch.zeros(target.shape, dtype=saved.dtype)
            grown[:, : saved.shape[1]] = saved
            out[key] = grown
    return out


def _grown_head(tensors: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> dict:
    """The output head widened to the model's channels (see ``load_weights``)."""
    out = dict(tensors)
    for key in ("head.weight", "head.bias"):
        saved, target = tensors.get(key), expected.get(key)
        if saved is None or target is None or saved.shape[0] >= target.shape[0]:
            continue
        if saved.shape[1:] != target.shape[1:] or saved.shape[0] != NUM_CLASSES:
            continue
        grown = torch.zeros(target.shape, dtype=saved.dtype)
        grown[:NUM_CLASSES] = saved
        disc = [int(Label.IRIS), int(Label.PUPIL)]
        rest = [c for c in range(NUM_CLASSES) if c not in disc]
        grown[NUM_CLASSES:] = saved[disc].mean(dim=0) - saved[rest].mean(dim=0)
        out[key] = grown
    return out


def load_model(path: str | os.PathLike[str]) -> nn.Module:
    """Rebuild an ocularseg network from the name and config in a weights file, then load it.

    Raises:
        ModelError: If the file lacks the model name/config metadata or does not load.
    """
    path = Path(path)
    metadata = read_metadata(path)
    if MODEL_NAME_KEY not in metadata or MODEL_CONFIG_KEY not in metadata:
        raise ModelError(
            f"weights file {path} has no {MODEL_NAME_KEY!r}/{MODEL_CONFIG_KEY!r} metadata; "
            "build the model yourself and use load_weights"
        )
    try:
        config = json.loads(metadata[MODEL_CONFIG_KEY])
    except json.JSONDecodeError as exc:
        raise ModelError(f"weights file {path} has unreadable model config: {exc}") from exc
    model = build_model(metadata[MODEL_NAME_KEY], **config)
    load_weights(model, path)
    return model
