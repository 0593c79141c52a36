"""``result.json``, the one owner of its format: what one input produced, saved so that
``--resume`` can reuse it.

Everything an input produces goes into its own folder ``OUT/inputs/<key>/``; its rows,
errors and warnings are also kept in ``result.json`` there, which marks the input as
finished (measurable or not). A saved result is reused only when its resume key (the
file's content, the model, the options that change results and the ocularseg version)
matches the run's.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from ocularseg import __version__
from ocularseg.core.containers import SIDES
from ocularseg.core.errors import InputError
from ocularseg.io.atomic import write_json_atomic
from ocularseg.io.files import sha256_regular
from ocularseg.pipeline.inputs import InputItem

log = logging.getLogger(__name__)

RESULT_JSON = "result.json"


@dataclass
class InputResult:
    """What one input produced (rows for measurements.csv, errors.csv and warnings.csv)."""

    label: str
    key: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)
    frames: dict[str, int] = field(default_factory=dict)
    resume_key: str = ""

    @property
    def failed(self) -> bool:
        return bool(self.errors)

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "key": self.key,
            "resume_key": self.resume_key,
            "rows": [{k: _json_value(v) for k, v in row.items()} for row in self.rows],
            "errors": self.errors,
            "warnings": self.warnings,
            "timings_s": self.timings_s,
            "frames": self.frames,
        }

    @classmethod
    def from_json(cls, data: Any) -> InputResult:
        """Rebuild from :meth:`to_json` output.

        Raises:
            ValueError: ``data`` does not have the shape of a saved result.
        """
        try:
            saved = _SavedResult.model_validate(data)
        except ValidationError as exc:
            raise ValueError(f"not a saved result ({exc.error_count()} problem(s))") from exc
        rows = [
            {k: (float("nan") if v is None else v) for k, v in row.items()} for row in saved.rows
        ]
        for row in rows:
            if not isinstance(row.get("input"), str) or row.get("side") not in SIDES:
                raise ValueError("a saved row lacks its input or side")
        return cls(
            label=saved.label,
            key=saved.key,
            rows=rows,
            errors=[e.model_dump() for e in saved.errors],
            warnings=[w.model_dump() for w in saved.warnings],
            timings_s=dict(saved.timings_s),
            frames=dict(saved.frames),
            resume_key=saved.resume_key,
        )


class _SavedError(BaseModel):
    model_config = ConfigDict(extra="forbid")
    input: str
    stage: str
    error: str
    frame_index: int | None = None


class _SavedWarning(BaseModel):
    model_config = ConfigDict(extra="forbid")
    input: str
    stage: str
    warning: str
    frame_index: int | None = None


class _SavedResult(BaseModel):
    """The schema of ``result.json``: anything else is treated as absent (re-analysed)."""

    model_config = ConfigDict(extra="ignore")
    label: str
    key: str
    resume_key: str
    rows: list[dict[str, str | bool | int | float | None]]
    errors: list[_SavedError]
    warnings: list[_SavedWarning] = []
    timings_s: dict[str, float]
    frames: dict[str, int]


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def resume_key_for(item: InputItem, model_sha: str, config_hash: str) -> str:
    """What must match for ``--resume`` to reuse a saved result: the file's content, the
    model, the options that change results and the ocularseg version."""
    try:
        content = sha256_regular(item.path)
    except InputError:
        content = "unreadable"  # analysed again every time; the error row says why
    return f"{content}:{model_sha}:{config_hash}:{__version__}"


def save_result(out_dir: Path, result: InputResult) -> None:
    """Write ``result`` as ``OUT/inputs/<key>/result.json`` (atomically: it marks the input
    as finished)."""
    write_json_atomic(out_dir / "inputs" / result.key / RESULT_JSON, result.to_json())


def load_result(out_dir: Path, item: InputItem) -> InputResult | None:
    """The saved result of ``item`` in ``out_dir``, or None when absent or unreadable."""
    path = out_dir / "inputs" / item.key / RESULT_JSON
    if not path.is_file():
        return None
    try:
        saved = InputResult.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, RecursionError) as exc:
        log.warning("%s: unreadable saved result (%s); the input will be analysed again", path, exc)
        return None
    if saved.key != item.key:
        log.warning("%s: saved for another input; the input will be analysed again", path)
        return None
    if saved.label != item.label:
        # The same file named another way this time ("./clinic" vs "clinic"): report it
        # under the name used now.
        saved.label = item.label
        for record in (*saved.rows, *saved.errors, *saved.warnings):
            record["input"] = item.label
    return saved
