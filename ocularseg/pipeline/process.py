"""Analyse one input: frames -> crops -> segmentation -> measurements, plus its images.

Everything an input produces goes into its own folder ``OUT/inputs/<key>/``; the rows,
errors and warnings are also kept in ``result.json`` there, which marks the input as
finished (measurable or not) and lets ``--resume`` reuse it.

Warnings are things a reader of the numbers should know that do not make the input fail:
several faces in a frame (the largest was measured), a header frame rate that had to be
assumed, key frames that all looked like blinks. Each names the file and goes to
``warnings.csv``.
"""

from __future__ import annotations

import logging
import math
import time
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from ocularseg.core.containers import SIDES, EyeCrop
from ocularseg.core.errors import OcularsegError
from ocularseg.core.text import printable
from ocularseg.io.atomic import write_json_atomic
from ocularseg.io.images import write_image_atomic
from ocularseg.pipeline.config import AnalyzeConfig
from ocularseg.pipeline.frames import AnalysedFrame, FrameStats, analysed_frames
from ocularseg.pipeline.inputs import InputItem
from ocularseg.stages.crop import crop_eye
from ocularseg.stages.eye import run_eye_chain
from ocularseg.stages.face import FaceDetector
from ocularseg.stages.gates import (
    agreement_gates,
    exclusion_reasons,
    exclusion_text,
    frame_gates,
)
from ocularseg.stages.landmark_gate import eye_points_in_crop
from ocularseg.stages.measure import FLAG_IRIS_FROM_LIMBUS, measure_eye_crop
from ocularseg.stages.quality import (
    mirror,
    mirror_points,
)
from ocularseg.stages.segment import Segmenter
from ocularseg.stages.shared_radius import (
    FLAG_IRIS_RADIUS_SHARED,
    fit_centre_with_radius,
    reference_radii,
    shared_radius_frame_px,
    wants_refit,
)

log = logging.getLogger(__name__)

RESULT_JSON = "result.json"
#: Flag on every row of a video that stopped decoding early (see ``io.video.DecodeReport``).
FLAG_PARTIAL_VIDEO = "partial_video"


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


class _Timer:
    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)

    def add(self, stage: str, began: float) -> None:
        self.totals[stage] += time.perf_counter() - began


def process_input(
    item: InputItem,
    *,
    detector: FaceDetector,
    segmenter: Segmenter,
    config: AnalyzeConfig,
    out_dir: Path,
    resume_key: str,
) -> InputResult:
    """Analyse one input; never raises for a problem with the input itself.

    Problems with the input (unreadable, no face, eyes never usable) become error rows; the
    rows of frames that did work are kept.
    """
    result = InputResult(label=item.label, key=item.key, resume_key=resume_key)
    folder = out_dir / "inputs" / item.key
    timer = _Timer()
    stats = FrameStats()
    crops: list[tuple[AnalysedFrame, EyeCrop]] = []
    began = time.perf_counter()
    try:
        frames_iter = analysed_frames(item, detector, config, stats)
        while True:
            t0 = time.perf_counter()
            analysed = next(frames_iter, None)
            timer.add("frames_and_face", t0)
            if analysed is None:
                break
            t0 = time.perf_counter()
            for side in SIDES:
                crops.append(
                    (analysed, crop_eye(analysed.frame.image, analysed.face, side, config.crop))
                )
            timer.add("crop", t0)
    except OcularsegError as exc:
        result.errors.append(_error(item, "frames", exc))
    partial = stats.decode is not None and stats.decode.stopped_early
    if partial and crops:
        span = stats.decode.last_timestamp_s
        result.errors.append(
            _error(
                item,
                "frames",
                f"{'; '.join(stats.decode.problems)}; the measurements cover only the first "
                f"{span:.1f} s and are flagged '{FLAG_PARTIAL_VIDEO}'",
            )
        )
    elif partial:
        result.errors.append(_error(item, "frames", "; ".join(stats.decode.problems)))
    _frame_warnings(item, stats, result)
    result.frames = {
        "decoded": stats.decoded,
        "no_face": stats.no_face,
        "several_faces": stats.several_faces,
        "analysed": len(crops) // 2,
    }
    gate_params = config.measure.gates
    # (row, crop image, measured label map): overlays are drawn once the between-frame
    # gates have run, so every overlay shows every reason its frame was excluded.
    drawn: list[tuple[dict[str, Any], np.ndarray, np.ndarray]] = []
    # Rows whose iris the lid covers, with what a shared-radius refit needs (the label map
    # zlib-packed: a long recording of a ptotic eye may have thousands).
    covered: list[_Covered] = []
    shared = config.measure.shared_radius
    for start in range(0, len(crops), config.batch_size):
        batch = crops[start : start + config.batch_size]
        images = [crop.image for _, crop in batch]
        t0 = time.perf_counter()
        # dlib's six eye points in crop px: the landmark prior of models that take one, the
        # landmark gate, and the gates' and quality signal's eye outline.
        outlines = [
            eye_points_in_crop(a.face.eye_points_px(crop.side), crop.crop_from_frame)
            for a, crop in batch
        ]
        segmented = segmenter.segment(images, outlines)
        mirrored = (
            segmenter.segment(
                [mirror(image) for image in images],
                [mirror_points(points, images[0].shape[1]) for points in outlines],
            )
            if gate_params.mirror_test
            else [None] * len(batch)
        )
        timer.add("segment", t0)
        for (analysed, crop), outline, seg, seg_mirror in zip(
            batch, outlines, segmented, mirrored, strict=True
        ):
            t0 = time.perf_counter()
            eye = run_eye_chain(
                seg,
                crop.image,
                crop.side,
                crop.scale_crop_per_frame,
                outline,
                mirrored=seg_mirror,
                measure=config.measure,
                landmark_gate=config.landmark_gate,
                cleanup=config.cleanup,
            )
            labels, measurement, quality = eye.labels, eye.measurement, eye.quality
            timer.add("measure", t0)
            name = f"f{analysed.frame.index:06d}_{crop.side}"
            row = {
                "input": item.label,
                "frame_index": analysed.frame.index,
                "timestamp_s": round(analysed.frame.timestamp_s, 4),
                "side": crop.side,
                "mode": config.mode,
                "sharpness": analysed.scores.sharpness,
                "ear": analysed.scores.ear,
                "blink": analysed.blink,
                "quality": quality,
                "mirror_agreement": eye.mirror_agreement,
                "outline_agreement": eye.outline_agreement,
                "cleaned": config.cleanup,
                "landmark_gate_removed_px": eye.landmark_gate_removed_px,
                "flags": _row_flags(crop, measurement.flags, partial),
                "gates_failed": ";".join(eye.gates_failed),
                "overlay": "",
                **measurement.values,
            }
            t0 = time.perf_counter()
            if config.save_crops:
                write_image_atomic(folder / "crops" / f"{name}.png", crop.image)
                write_image_atomic(folder / "masks" / f"{name}.png", seg.labels)
            timer.add("write_images", t0)
            if config.overlays:
                drawn.append((row, crop.image, labels))
            result.rows.append(row)
            fraction = measurement.values["visible_iris_fraction"]
            # A circle from the whole (amodal) disc already covers what the lid hides; the
            # shared-radius refit is for circles fitted to a lid-cut visible limbus.
            from_limbus = seg.amodal_disc is None or FLAG_IRIS_FROM_LIMBUS in measurement.flags
            if shared.enabled and from_limbus and fraction < shared.min_reference_fraction:
                covered.append(_Covered(row, _pack(labels), outline, quality, crop))
    if covered:
        t0 = time.perf_counter()
        _share_iris_radius(result.rows, covered, config, partial)
        timer.add("measure", t0)
    agreement_gates(result.rows, timeseries=config.mode == "timeseries", params=gate_params)
    _check_usable(item, result)
    if drawn:
        t0 = time.perf_counter()
        _write_overlays(out_dir, folder, item, drawn)
        timer.add("write_images", t0)
    result.timings_s = {k: round(v, 4) for k, v in timer.totals.items()}
    result.timings_s["total"] = round(time.perf_counter() - began, 4)
    write_json_atomic(folder / RESULT_JSON, result.to_json())
    return result


@dataclass
class _Covered:
    """A row with a lid-covered iris and what re-measuring it needs."""

    row: dict[str, Any]
    packed_labels: tuple[tuple[int, int], bytes]
    outline: np.ndarray
    quality: float
    crop: EyeCrop


def _pack(labels: np.ndarray) -> tuple[tuple[int, int], bytes]:
    return labels.shape, zlib.compress(np.ascontiguousarray(labels, np.uint8).tobytes(), 1)


def _unpack(packed: tuple[tuple[int, int], bytes]) -> np.ndarray:
    shape, data = packed
    return np.frombuffer(zlib.decompress(data), np.uint8).reshape(shape)


def _share_iris_radius(
    rows: list[dict[str, Any]], covered: list[_Covered], config: AnalyzeConfig, partial: bool
) -> None:
    """Refit lid-covered irises with the input's shared radius (``stages.shared_radius``).

    The reference is taken from the rows that pass every per-frame check before the
    between-frame gates run; a refitted row is measured and gated again and flagged
    ``iris_radius_shared``.
    """
    params = config.measure.shared_radius
    references = reference_radii(rows, params, lambda row: not exclusion_reasons(row))
    for item in covered:
        row, crop = item.row, item.crop
        shared_frame_px = shared_radius_frame_px(float(row["timestamp_s"]), references, params)
        if not wants_refit(row, shared_frame_px, params):
            continue
        labels = _unpack(item.packed_labels)
        circle = fit_centre_with_radius(
            labels,
            shared_frame_px * crop.scale_crop_per_frame,
            (float(row["iris_cx_px"]), float(row["iris_cy_px"])),
            config.measure.iris_fit,
        )
        if circle is None:
            continue
        measurement = measure_eye_crop(
            labels,
            crop.side,
            config.measure,
            crop.scale_crop_per_frame,
            circle=circle,
            image=crop.image,
        )
        gates = frame_gates(
            measurement.values,
            labels,
            item.outline,
            quality=item.quality,
            params=config.measure.gates,
        )
        row.update(measurement.values)
        row["flags"] = _row_flags(crop, (*measurement.flags, FLAG_IRIS_RADIUS_SHARED), partial)
        row["gates_failed"] = ";".join(gates)


def _row_flags(crop: EyeCrop, measurement_flags: Sequence[str], partial: bool) -> str:
    """A row's ``flags``: the crop's, the measurement's, and ``partial_video`` if so."""
    return ";".join([*crop.flags, *measurement_flags, *([FLAG_PARTIAL_VIDEO] if partial else [])])


def _check_usable(item: InputItem, result: InputResult) -> None:
    """Record an error when no frame gave a usable measurement of an eye, saying why."""
    if not result.rows:
        return
    for side in SIDES:
        side_rows = [r for r in result.rows if r["side"] == side]
        if any(not exclusion_reasons(r) for r in side_rows):
            continue
        counts: dict[str, int] = {}
        for row in side_rows:
            for reason in exclusion_text(exclusion_reasons(row)):
                counts[reason] = counts.get(reason, 0) + 1
        why = ", ".join(f"{reason} in {n}" for reason, n in counts.items())
        result.errors.append(
            {
                "input": item.label,
                "stage": "measure",
                "error": f"{item.label}: {side} eye not measurable in any of the "
                f"{len(side_rows)} analysed frame(s): {why}",
                "frame_index": None,
            }
        )


def _write_overlays(
    out_dir: Path,
    folder: Path,
    item: InputItem,
    drawn: list[tuple[dict[str, Any], np.ndarray, np.ndarray]],
) -> None:
    """One overlay PNG per analysed eye and paged contact sheets of them."""
    from ocularseg.report.overlay import CONTACT_SHEET_STEM, contact_sheet_pages, render_overlay

    tiles: list[np.ndarray] = []
    captions: list[str] = []
    for row, crop_image, labels in drawn:
        reasons = exclusion_text(exclusion_reasons(row))
        overlay = render_overlay(crop_image, labels, row, row["side"], excluded=reasons)
        name = f"f{row['frame_index']:06d}_{row['side']}"
        relative = Path("inputs") / item.key / "overlays" / f"{name}.png"
        write_image_atomic(out_dir / relative, overlay)
        row["overlay"] = relative.as_posix()
        tiles.append(overlay)
        eye = "OD" if row["side"] == "right" else "OS"
        captions.append(
            f"{row['timestamp_s']:.2f} s  frame {row['frame_index']}  {eye}"
            + ("  EXCLUDED" if reasons else "")
        )
    for old in folder.glob(f"{CONTACT_SHEET_STEM}*.png"):
        old.unlink()  # a resumed run with fewer frames must not leave stale pages
    for number, page in enumerate(contact_sheet_pages(tiles, captions), start=1):
        write_image_atomic(folder / f"{CONTACT_SHEET_STEM}_{number:02d}.png", page)


def _error(item: InputItem, stage: str, exc: Exception | str) -> dict[str, Any]:
    return {"input": item.label, "stage": stage, "error": _named(item, exc), "frame_index": None}


def _warning(item: InputItem, stage: str, text: str) -> dict[str, Any]:
    return {"input": item.label, "stage": stage, "warning": _named(item, text), "frame_index": None}


def _named(item: InputItem, exc: Exception | str) -> str:
    """The message, valid UTF-8, starting with the file's name unless it already names it."""
    message = printable(str(exc))
    if item.label in message:
        return message
    # Lower layers name the resolved path (a link's target); the user named the label.
    resolved = printable(item.path)
    if message.startswith(resolved):
        return item.label + message[len(resolved) :]
    return f"{item.label}: {message}"


def _frame_warnings(item: InputItem, stats: FrameStats, result: InputResult) -> None:
    if stats.several_faces:
        result.warnings.append(
            _warning(
                item,
                "face",
                f"{stats.several_faces} of {stats.decoded} frame(s) show more than one face "
                f"(up to {stats.most_faces}, first in frame {stats.first_several_faces}); "
                "one face was measured in each: check the overlays show the patient",
            )
        )
    for text in stats.warnings:
        result.warnings.append(_warning(item, "frames", text))
    for text in result.warnings:
        log.info("%s", text["warning"])  # the CLI prints them; API users read result.warnings


def load_result(out_dir: Path, item: InputItem) -> InputResult | None:
    """The saved result of ``item`` in ``out_dir``, or None when absent or unreadable."""
    import json

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
