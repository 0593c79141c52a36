"""Typed records of an analysis: flags, gates, measurement rows, errors, warnings.

Every row of ``measurements.csv`` is an :class:`EyeRow`, every row of ``errors.csv`` an
:class:`ErrorRecord` and of ``warnings.csv`` a :class:`WarningRecord`. They are frozen: a
later step (the shared-radius refit, the between-frame gates, the overlay paths) returns a
new row with :func:`dataclasses.replace`. Flags and gate names are tuples of
:class:`Flag` / :class:`Gate` members (plain ``str`` subclasses, so they compare equal to
their names) and are joined with ``;`` only where a CSV cell is written.

The CSV columns come from the records: :data:`EYE_ROW_LEAD_COLUMNS`, the measurement
columns (``stages.measure.MEASUREMENT_COLUMNS``, the keys of ``EyeRow.values``) and
:data:`EYE_ROW_TAIL_COLUMNS`; :data:`ERROR_COLUMNS` and :data:`WARNING_COLUMNS`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from types import MappingProxyType

from ocularseg.core.exclusion import BLINK, EXCLUDING_FLAGS, row_exclusion_reasons


class Flag(StrEnum):
    """A note on one measurement row (``flags``); the excluding ones are
    ``core.exclusion.EXCLUDING_FLAGS``."""

    #: Crop flags (``stages.crop``): the crop box ran past the frame / the eye is small.
    AT_BORDER = "at_border"
    TOO_SMALL = "too_small"
    #: Measurement flags (``stages.measure``).
    EYE_CLOSED = "eye_closed"
    IRIS_FROM_LIMBUS = "iris_from_visible_limbus"
    IRIS_FROM_AMODAL = "iris_from_amodal_disc"
    IRIS_NOT_FOUND = "iris_not_found"
    #: Why the iris was not found (beside ``iris_not_found``).
    IRIS_ABSENT = "iris_absent"
    IRIS_TOO_FEW_LIMBUS_POINTS = "iris_too_few_limbus_points"
    IRIS_ARC_TOO_SHORT = "iris_arc_too_short"
    IRIS_FIT_FAILED = "iris_fit_failed"
    IRIS_RADIUS_OUT_OF_RANGE = "iris_radius_out_of_range"
    IRIS_POOR_FIT = "iris_poor_fit"
    #: Pupil check (``stages.pupil_check``) and corneal reflex (``stages.reflex``).
    PUPIL_NOT_VISIBLE = "pupil_not_visible"
    PUPIL_IMPLAUSIBLE = "pupil_implausible"
    REFLEX_ABSENT = "reflex_absent"
    REFLEX_OFF_CENTRE = "reflex_off_centre"
    #: The iris was refitted with the input's shared radius (``stages.shared_radius``).
    IRIS_RADIUS_SHARED = "iris_radius_shared"
    #: The video stopped decoding early (``io.video.DecodeReport``).
    PARTIAL_VIDEO = "partial_video"


class Gate(StrEnum):
    """A quality gate (``stages.gates``), in the order the gates are checked: the frame
    gates (``frame_gates``), then the between-frame gates (``agreement_gates``)."""

    EYE_TOO_SMALL = "eye_too_small"
    LOW_QUALITY = "low_quality"
    OPENING_OUTSIDE_EYE = "opening_outside_eye"
    LID_OFFSET = "lid_far_from_outline"
    GAZE_SIDEWAYS = "gaze_sideways"
    IRIS_SIZE = "iris_size_implausible"
    IRIS_ARC = "iris_arc_short"
    MRD1_RANGE = "mrd1_out_of_range"
    FISSURE_RANGE = "fissure_out_of_range"
    NEAR_BLINK = "near_blink"
    IRIS_SIZE_EYES = "iris_size_differs_between_eyes"
    BLURRED = "blurred"
    IRIS_SIZE_INCONSISTENT = "iris_size_inconsistent"
    MRD1_INCONSISTENT = "mrd1_inconsistent"


#: Plain-language words for every exclusion reason (the blink, the excluding flags, the
#: gates) and for the flags shown as notes, as a clinician reads them on an overlay, the
#: page and the workbook. The one word table: the report, the overlays and the analysis'
#: error messages all read it.
PLAIN_WORDS: Mapping[str, str] = MappingProxyType(
    {
        BLINK: "blink",
        Flag.EYE_CLOSED: "eye closed",
        Flag.IRIS_NOT_FOUND: "iris circle not found",
        Gate.EYE_TOO_SMALL: "eye too small in the image",
        Gate.LOW_QUALITY: "segmentation quality low",
        Gate.OPENING_OUTSIDE_EYE: "segmentation outside the eye outline",
        Gate.LID_OFFSET: "lid margin far from the landmark eye outline",
        Gate.GAZE_SIDEWAYS: "looking far to the side",
        Gate.IRIS_SIZE: "iris size implausible for the eye width",
        Gate.IRIS_ARC: "too little iris border visible",
        Gate.MRD1_RANGE: "MRD1 outside the plausible range",
        Gate.FISSURE_RANGE: "fissure height outside the plausible range",
        Gate.NEAR_BLINK: "next to a blink",
        Gate.IRIS_SIZE_EYES: "iris size differs from the other eye's",
        Gate.BLURRED: "frame blurred",
        Gate.IRIS_SIZE_INCONSISTENT: "iris size differs from the other frames",
        Gate.MRD1_INCONSISTENT: "MRD1 differs from the neighbouring frames",
        # Notes: flags that do not exclude a measurement.
        Flag.AT_BORDER: "eye at the frame edge",
        Flag.TOO_SMALL: "eye small in the frame",
        Flag.IRIS_RADIUS_SHARED: "iris size from the open eye",
        Flag.REFLEX_OFF_CENTRE: "light reflex off the iris centre",
        Flag.IRIS_FROM_AMODAL: "iris circle from the whole-iris output",
        Flag.IRIS_FROM_LIMBUS: "iris circle from the visible limbus",
        Flag.PUPIL_NOT_VISIBLE: "pupil not seen (no pupil ratio)",
        Flag.PUPIL_IMPLAUSIBLE: "pupil shape not a pupil (no pupil ratio)",
    }
)


def plain_word(name: str, words: Mapping[str, str] = PLAIN_WORDS) -> str:
    """The plain words for a reason or flag name (unknown names: underscores as spaces)."""
    return words.get(name, name.replace("_", " "))


def plain_words(names: Iterable[str]) -> list[str]:
    """:func:`plain_word` of each name, in order."""
    return [plain_word(name) for name in names]


def note_words(flags: Iterable[str]) -> list[str]:
    """The plain words of the flags that are notes: those in :data:`PLAIN_WORDS` that do
    not exclude a measurement (``core.exclusion.EXCLUDING_FLAGS``), in order."""
    return [PLAIN_WORDS[f] for f in flags if f in PLAIN_WORDS and f not in EXCLUDING_FLAGS]


def join_names(names: Iterable[str]) -> str:
    """``;``-joined names, the form of a CSV cell (``""`` when there are none)."""
    return ";".join(str(name) for name in names)


@dataclass(frozen=True)
class EyeRow:
    """One eye in one analysed frame: a row of ``measurements.csv``.

    Attributes:
        input: the input's label (as the user named the file).
        frame_index / timestamp_s: the frame's number (0-based) and time (s; 0 for a photo).
        side: ``"right"`` or ``"left"`` (the patient's).
        mode: ``"keyframes"`` or ``"timeseries"``.
        flags: crop and measurement flags (``Flag``), in the order they were raised.
        gates_failed: the quality gates the row failed (``Gate``), frame gates first.
        blink: the frame was judged a blink (landmark eye aspect ratio).
        sharpness: variance of the Laplacian around the eyes (grey levels²).
        ear: landmark eye aspect ratio of the frame (mean of both eyes).
        quality / mirror_agreement / outline_agreement: the segmentation's quality signal
            and its two parts (0–1; NaN when not computed).
        values: the measurements, ``stages.measure.MEASUREMENT_COLUMNS`` in order (units
            in the names; NaN where undefined).
        cleaned: the label map was cleaned up before measuring.
        landmark_gate_removed_px: crop px the landmark gate removed from the label map.
        overlay: the overlay PNG's path relative to the output folder (``""`` until drawn).
    """

    input: str
    frame_index: int
    timestamp_s: float
    side: str
    mode: str
    flags: tuple[str, ...]
    gates_failed: tuple[str, ...]
    blink: bool
    sharpness: float
    ear: float
    quality: float
    mirror_agreement: float
    outline_agreement: float
    values: Mapping[str, float] = field(repr=False)
    cleaned: bool
    landmark_gate_removed_px: int
    overlay: str = ""

    def value(self, name: str) -> float:
        """A measurement (NaN when undefined or not measured)."""
        return float(self.values.get(name, math.nan))

    def exclusion_reasons(
        self, exclude_flags: Iterable[str] = EXCLUDING_FLAGS, exclude_blinks: bool = True
    ) -> list[str]:
        """Why the row is not used (``core.exclusion``); empty when it is."""
        return row_exclusion_reasons(
            self.blink,
            self.flags,
            self.gates_failed,
            exclude_flags=tuple(exclude_flags),
            exclude_blinks=exclude_blinks,
        )

    def with_gates(self, *gates: str) -> EyeRow:
        """This row with ``gates`` appended to ``gates_failed`` (each once)."""
        added = tuple(g for g in dict.fromkeys(gates) if g not in self.gates_failed)
        return replace(self, gates_failed=(*self.gates_failed, *added)) if added else self

    def cells(self) -> dict[str, object]:
        """The row as table cells in column order (the measurements spread out); flags
        and gates stay tuples, joined by the CSV writer (``report.tables.write_csv``)."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "values":
                out.update(value)
            else:
                out[f.name] = value
        return out

    def to_json(self) -> dict[str, object]:
        """The row for ``result.json`` (non-finite numbers as None)."""
        out = {k: _json_number(v) for k, v in self.cells().items()}
        out["flags"] = list(self.flags)
        out["gates_failed"] = list(self.gates_failed)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, object], measurement_columns: Iterable[str]) -> EyeRow:
        """Rebuild a row saved by :meth:`to_json`.

        Raises:
            ValueError: a field is missing or of the wrong type (the field is named).
        """
        try:
            lead = {f.name: data[f.name] for f in fields(cls) if f.name not in ("values",)}
        except KeyError as exc:
            raise ValueError(f"a saved row lacks {exc.args[0]}") from exc
        if not isinstance(lead["input"], str) or lead["side"] not in ("right", "left"):
            raise ValueError("a saved row lacks its input or side")
        for name in ("flags", "gates_failed"):
            items = lead[name]
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise ValueError(f"a saved row's {name} is not a list of names")
        values = {name: _float(data.get(name), name) for name in measurement_columns}
        return cls(
            input=str(lead["input"]),
            frame_index=_int(lead["frame_index"], "frame_index"),
            timestamp_s=_float(lead["timestamp_s"], "timestamp_s"),
            side=str(lead["side"]),
            mode=str(lead["mode"]),
            flags=tuple(_known(Flag, n) for n in lead["flags"]),  # type: ignore[union-attr]
            gates_failed=tuple(_known(Gate, n) for n in lead["gates_failed"]),  # type: ignore[union-attr]
            blink=bool(lead["blink"]),
            sharpness=_float(lead["sharpness"], "sharpness"),
            ear=_float(lead["ear"], "ear"),
            quality=_float(lead["quality"], "quality"),
            mirror_agreement=_float(lead["mirror_agreement"], "mirror_agreement"),
            outline_agreement=_float(lead["outline_agreement"], "outline_agreement"),
            values=values,
            cleaned=bool(lead["cleaned"]),
            landmark_gate_removed_px=_int(
                lead["landmark_gate_removed_px"], "landmark_gate_removed_px"
            ),
            overlay=str(lead["overlay"] or ""),
        )


_FIELD_NAMES = tuple(f.name for f in fields(EyeRow))
#: ``measurements.csv`` columns before and after the measurements (``EyeRow.values``),
#: from :class:`EyeRow`'s fields.
EYE_ROW_LEAD_COLUMNS: tuple[str, ...] = _FIELD_NAMES[: _FIELD_NAMES.index("values")]
EYE_ROW_TAIL_COLUMNS: tuple[str, ...] = _FIELD_NAMES[_FIELD_NAMES.index("values") + 1 :]


@dataclass(frozen=True)
class ErrorRecord:
    """A row of ``errors.csv``: why an input (or one frame of it) gave no measurement.

    Attributes:
        input: the input's label.
        stage: the step that failed (``"frames"``, ``"face"``, ``"measure"`` …).
        error: one line that names the file and the problem.
        frame_index: the frame concerned, or None when the error is not tied to one.
        input_failed: True when the input could not be read or analysed (the run exits
            1); False for an input that was analysed but in which an eye was never
            measurable (the reason is recorded; the run exits 0).
    """

    input: str
    stage: str
    error: str
    frame_index: int | None = None
    input_failed: bool = True


@dataclass(frozen=True)
class WarningRecord:
    """A row of ``warnings.csv``: something a reader of the numbers should know that does
    not make the input fail (fields as :class:`ErrorRecord`, ``warning`` the message)."""

    input: str
    stage: str
    warning: str
    frame_index: int | None = None


#: Columns of ``errors.csv`` and ``warnings.csv``.
ERROR_COLUMNS: tuple[str, ...] = ("input", "stage", "frame_index", "error")
WARNING_COLUMNS: tuple[str, ...] = ("input", "stage", "frame_index", "warning")


@dataclass(frozen=True)
class FrameCounts:
    """Where every frame an input's analysis looked at went (see ``pipeline.frames``).

    Attributes:
        looked_at: frames the face detector looked at (time series: every sampled frame;
            key frames: the candidate frames; a photo: 1).
        no_face: of those, frames in which no face was found (not analysed).
        analysed: frames whose eyes were measured (rows in ``measurements.csv``).
        no_face_times_s: the times (s from the start) of the no-face frames.
    """

    looked_at: int = 0
    no_face: int = 0
    analysed: int = 0
    no_face_times_s: tuple[float, ...] = ()

    @property
    def not_chosen(self) -> int:
        """Frames with a face that were not analysed (key frames: not chosen)."""
        return max(0, self.looked_at - self.no_face - self.analysed)


@dataclass(frozen=True)
class ReasonCount:
    """How many of an eye's frames one exclusion reason removed."""

    reason: str
    frames: int


#: An eye's exclusion reasons with their frame counts, in the order first met.
ReasonCounts = tuple[ReasonCount, ...]


def count_reasons(reasons_per_row: Iterable[Iterable[str]]) -> ReasonCounts:
    """Excluded frames per main exclusion reason over rows.

    Each excluded row counts once, under its first reason in the rule's order
    (``core.exclusion``: blink, then the excluding flags, then the failed gates in
    checking order), so the counts add up to the number of excluded frames; a row's
    other reasons stay in its ``flags`` / ``gates_failed`` cells and on its overlay.
    """
    counts: dict[str, int] = {}
    for reasons in reasons_per_row:
        main = next(iter(reasons), None)
        if main is not None:
            counts[main] = counts.get(main, 0) + 1
    return tuple(ReasonCount(reason, n) for reason, n in counts.items())


def reason_counts_cell(counts: ReasonCounts) -> str:
    """The CSV cell of ``counts``: ``"name n; name n"`` (``""`` when none)."""
    return "; ".join(f"{c.reason} {c.frames}" for c in counts)


def reason_counts_text(counts: ReasonCounts, words: Mapping[str, str] = PLAIN_WORDS) -> str:
    """``counts`` for a reader: ``"frame blurred (3), blink (1)"`` (:func:`plain_word`)."""
    return ", ".join(f"{plain_word(c.reason, words)} ({c.frames})" for c in counts)


def _known(kind: type[StrEnum], name: str) -> str:
    """``name`` as a member of ``kind`` when it is one (an older version's names stay str)."""
    try:
        return kind(name)
    except ValueError:
        return name


def _json_number(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    item = getattr(value, "item", None)  # numpy scalars
    return item() if callable(item) and not isinstance(value, str | tuple) else value


def _float(value: object, name: str) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"a saved row's {name} is not a number")
    return float(value)


def _int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"a saved row's {name} is not a whole number")
    return value
