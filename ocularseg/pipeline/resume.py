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
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ocularseg import __version__
from ocularseg.core.containers import SIDES
from ocularseg.core.errors import InputError
from ocularseg.core.exclusion import EXCLUDING_FLAGS
from ocularseg.core.records import ErrorRecord, EyeRow, FrameCounts, WarningRecord
from ocularseg.io.atomic import write_json_atomic
from ocularseg.io.files import sha256_regular
from ocularseg.pipeline.inputs import InputItem
from ocularseg.stages.measure import MEASUREMENT_COLUMNS

log = logging.getLogger(__name__)

RESULT_JSON = "result.json"


#: The version of ``result.json``'s layout; a result saved with another is analysed again.
RESULT_SCHEMA = 3


@dataclass
class InputResult:
    """What one input produced: its ``measurements.csv``, ``errors.csv`` and
    ``warnings.csv`` rows, seconds per stage and frame counts (``decoded``, ``no_face``,
    ``several_faces``, ``analysed``) with the times (s) of the frames with no face."""

    label: str
    key: str
    rows: list[EyeRow] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)
    warnings: list[WarningRecord] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)
    frames: dict[str, int] = field(default_factory=dict)
    no_face_times_s: list[float] = field(default_factory=list)
    resume_key: str = ""

    @property
    def failed(self) -> bool:
        """The input could not be read or analysed (an error that fails it; an eye that
        was analysed but never measurable does not)."""
        return any(e.input_failed for e in self.errors)

    def frame_counts(self) -> FrameCounts:
        """Where the frames this input's analysis looked at went."""
        return FrameCounts(
            looked_at=self.frames.get("decoded", 0),
            no_face=self.frames.get("no_face", 0),
            analysed=self.frames.get("analysed", 0),
            no_face_times_s=tuple(self.no_face_times_s),
        )

    def measured_sides(
        self, exclude_flags: Iterable[str] = EXCLUDING_FLAGS, exclude_blinks: bool = True
    ) -> tuple[str, ...]:
        """The eyes (``right``, ``left``) with at least one used frame (``core.exclusion``)."""
        flags = tuple(exclude_flags)
        return tuple(
            side
            for side in SIDES
            if any(
                row.side == side and not row.exclusion_reasons(flags, exclude_blinks)
                for row in self.rows
            )
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": RESULT_SCHEMA,
            "label": self.label,
            "key": self.key,
            "resume_key": self.resume_key,
            "rows": [row.to_json() for row in self.rows],
            "errors": [asdict(e) for e in self.errors],
            "warnings": [asdict(w) for w in self.warnings],
            "timings_s": self.timings_s,
            "frames": self.frames,
            "no_face_times_s": self.no_face_times_s,
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
        if saved.schema_ != RESULT_SCHEMA:
            raise ValueError(f"saved in layout {saved.schema_}, this version reads {RESULT_SCHEMA}")
        return cls(
            label=saved.label,
            key=saved.key,
            rows=[EyeRow.from_json(row, MEASUREMENT_COLUMNS) for row in saved.rows],
            errors=[ErrorRecord(**e.model_dump()) for e in saved.errors],
            warnings=[WarningRecord(**w.model_dump()) for w in saved.warnings],
            timings_s=dict(saved.timings_s),
            frames=dict(saved.frames),
            no_face_times_s=list(saved.no_face_times_s),
            resume_key=saved.resume_key,
        )

    def relabelled(self, label: str) -> InputResult:
        """This result under another label (the same file named another way)."""
        return replace(
            self,
            label=label,
            rows=[replace(r, input=label) for r in self.rows],
            errors=[replace(e, input=label) for e in self.errors],
            warnings=[replace(w, input=label) for w in self.warnings],
        )


class _SavedRecord(BaseModel):
    """The fields a saved error and a saved warning share."""

    model_config = ConfigDict(extra="forbid")
    input: str
    stage: str
    frame_index: int | None = None


class _SavedError(_SavedRecord):
    error: str
    input_failed: bool = True


class _SavedWarning(_SavedRecord):
    warning: str


class _SavedResult(BaseModel):
    """The schema of ``result.json``: anything else is treated as absent (re-analysed)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    schema_: int = Field(default=1, alias="schema")
    label: str
    key: str
    resume_key: str
    rows: list[dict[str, str | bool | int | float | list[str] | None]]
    errors: list[_SavedError]
    warnings: list[_SavedWarning] = []
    timings_s: dict[str, float]
    frames: dict[str, int]
    no_face_times_s: list[float] = []


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
        return saved.relabelled(item.label)
    return saved
