"""Analyse one input: frames -> eye crops -> segmentation -> the per-eye chain -> rows.

:func:`process_input` is a sequence of small steps: collect the frames (one decoding pass,
``pipeline.frames``) → segment their eye crops in batches as they arrive → the per-eye chain
(``stages.eye``) → rows (with the time series' blinks, known once every frame is in) → the
shared-radius refit (new rows, ``stages.shared_radius``) → the between-frame agreement gates
→ usable-eye check → overlays → ``result.json`` (``pipeline.resume``).

Warnings are things a reader of the numbers should know that do not make the input fail:
several faces in a frame (the detector's highest-scoring face was measured), a header frame
rate that had to be assumed, key frames that all looked like blinks. Each names the file and
goes to ``warnings.csv``.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ocularseg.core.containers import SIDES, EyeCrop, EyeMeasurement, SegmentationResult
from ocularseg.core.errors import OcularsegError, ReportError
from ocularseg.core.records import (
    ErrorRecord,
    EyeRow,
    Flag,
    WarningRecord,
    count_reasons,
    plain_words,
)
from ocularseg.core.text import printable
from ocularseg.io.background import BackgroundWriter
from ocularseg.io.images import decode_png, encode_png, write_image_atomic
from ocularseg.pipeline.config import AnalyzeConfig
from ocularseg.pipeline.executors import FrameCallback
from ocularseg.pipeline.frames import AnalysedFrame, FrameStats, analysed_frames
from ocularseg.pipeline.inputs import InputItem
from ocularseg.pipeline.overlap import prefetched
from ocularseg.pipeline.resume import InputResult, save_result
from ocularseg.report.faces import FACES_PNG
from ocularseg.stages.eye import EyeResult, run_eye_chain
from ocularseg.stages.face import FaceDetector
from ocularseg.stages.gates import agreement_gates, frame_gates
from ocularseg.stages.keyframes import FrameScores, is_blink
from ocularseg.stages.landmark_gate import eye_points_in_crop
from ocularseg.stages.measure import FLAG_IRIS_FROM_LIMBUS, measure_eye_crop
from ocularseg.stages.segment import Segmenter
from ocularseg.stages.shared_radius import (
    FLAG_IRIS_RADIUS_SHARED,
    fit_centre_with_radius,
    reference_radii,
    shared_radius_frame_px,
    wants_refit,
)

log = logging.getLogger(__name__)

#: Flag on every row of a video that stopped decoding early (see ``io.video.DecodeReport``).
FLAG_PARTIAL_VIDEO = Flag.PARTIAL_VIDEO


@dataclass(frozen=True)
class _Packed:
    """A (H, W) uint8 label map kept zlib-packed (a long recording has thousands)."""

    shape: tuple[int, int]
    data: bytes

    @classmethod
    def of(cls, labels: np.ndarray) -> _Packed:
        data = zlib.compress(np.ascontiguousarray(labels, np.uint8).tobytes(), 1)
        return cls((int(labels.shape[0]), int(labels.shape[1])), data)

    def unpack(self) -> np.ndarray:
        return np.frombuffer(zlib.decompress(self.data), np.uint8).reshape(self.shape)


@dataclass(frozen=True)
class _Eye:
    """One measured eye crop and what the later steps need of it.

    Attributes:
        index / timestamp_s / scores: the frame's number, time (s) and key-frame scores.
        side / crop_flags / scale_crop_per_frame: the crop's (crop px per frame px).
        outline_px: (6, 2) dlib's eye points in crop px.
        crop_png: the crop, PNG-encoded (overlays, the refit's lid refinement).
        labels: the measured label map, packed.
        measurement / mirror_agreement / outline_agreement / quality / gates_failed /
            landmark_gate_removed_px: the per-eye chain's result (``stages.eye``).
        refit_candidate: its iris circle was fitted to a lid-cut limbus that covers too
            much for its own radius to be trusted (``stages.shared_radius``).
    """

    index: int
    timestamp_s: float
    scores: FrameScores
    side: str
    crop_flags: tuple[str, ...]
    scale_crop_per_frame: float
    outline_px: np.ndarray
    crop_png: bytes
    labels: _Packed
    measurement: EyeMeasurement
    mirror_agreement: float
    outline_agreement: float
    quality: float
    gates_failed: tuple[str, ...]
    landmark_gate_removed_px: int
    refit_candidate: bool

    @property
    def name(self) -> str:
        return f"f{self.index:06d}_{self.side}"


@dataclass
class _Timer:
    """Seconds per stage; stages on different threads overlap, so they may sum to more
    than the input's total."""

    totals: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, stage: str, began: float) -> None:
        elapsed = time.perf_counter() - began
        with self.lock:
            self.totals[stage] += elapsed


def process_input(
    item: InputItem,
    *,
    detector: FaceDetector,
    segmenter: Segmenter,
    config: AnalyzeConfig,
    out_dir: Path,
    resume_key: str,
    on_frame: FrameCallback | None = None,
) -> InputResult:
    """Analyse one input; never raises for a problem with the input itself.

    Problems with the input (unreadable, no face, eyes never usable) become error rows; the
    rows of frames that did work are kept. ``on_frame(frames looked at, frames expected or
    None)`` is called after each frame is looked at (progress; from the decoding thread).
    """
    began = time.perf_counter()
    result = InputResult(label=item.label, key=item.key, resume_key=resume_key)
    folder = out_dir / "inputs" / item.key
    timer, stats = _Timer(), FrameStats()
    eyes = _collect_eyes(item, detector, segmenter, config, folder, timer, stats, on_frame, result)
    partial = _decode_errors(item, stats, bool(eyes), result)
    _frame_warnings(item, stats, result)
    result.frames = {
        "decoded": stats.decoded,
        "no_face": stats.no_face,
        "several_faces": stats.several_faces,
        "analysed": len(eyes) // 2,
    }
    result.no_face_times_s = list(stats.no_face_times_s)
    t0 = time.perf_counter()
    rows = _rows(item, eyes, config, partial)
    rows = _share_iris_radius(rows, eyes, config, partial)
    timer.add("measure", t0)
    rows = agreement_gates(
        rows, timeseries=config.mode == "timeseries", params=config.measure.gates
    )
    _check_usable(item, rows, result)
    if config.overlays and eyes:
        t0 = time.perf_counter()
        unreliable = tuple(segmenter.spec.output.unreliable_classes)
        rows = _write_overlays(out_dir, folder, item, rows, eyes, unreliable)
        timer.add("write_images", t0)
    if config.overlays:
        _write_faces_thumbnail(folder, stats.faces_thumbnail)
    result.rows = rows
    result.timings_s = {k: round(v, 4) for k, v in timer.totals.items()}
    result.timings_s["total"] = round(time.perf_counter() - began, 4)
    save_result(out_dir, result)
    return result


def _write_faces_thumbnail(folder: Path, thumbnail: np.ndarray | None) -> None:
    """``faces.png`` when the input showed more than one face (``report.faces``); an
    earlier run's is removed otherwise, so the report never shows another run's faces."""
    path = folder / FACES_PNG
    if thumbnail is None:
        path.unlink(missing_ok=True)
        return
    folder.mkdir(parents=True, exist_ok=True)
    write_image_atomic(path, thumbnail)


def _collect_eyes(
    item: InputItem,
    detector: FaceDetector,
    segmenter: Segmenter,
    config: AnalyzeConfig,
    folder: Path,
    timer: _Timer,
    stats: FrameStats,
    on_frame: FrameCallback | None,
    result: InputResult,
) -> list[_Eye]:
    """Every analysed eye of ``item``; a problem with the input is an error in ``result``.

    Three things at once: the next frames are decoded and their faces found (prefetched),
    this thread runs the network on a batch, and the batch before is measured on another.
    """
    eyes: list[_Eye] = []
    with BackgroundWriter() as writer, ThreadPoolExecutor(1, "ocularseg-measure") as measurer:
        pending: Future[list[_Eye]] | None = None
        try:
            frames = prefetched(analysed_frames(item, detector, config, stats, on_frame), depth=8)
            timed = _timed(frames, timer)
            for batch in _batches(timed, max(1, config.batch_size // 2)):
                segmented = _segment_batch(batch, segmenter, config, timer)
                if pending is not None:
                    eyes.extend(pending.result())
                pending = measurer.submit(_measure_batch, segmented, config, folder, writer, timer)
        except ReportError:
            raise  # an output that cannot be written stops the run, not just this input
        except OcularsegError as exc:
            result.errors.append(_error(item, "frames", exc))
        if pending is not None:
            eyes.extend(pending.result())
    return eyes


def _timed(frames: Iterator[AnalysedFrame], timer: _Timer) -> Iterator[AnalysedFrame]:
    """``frames``, with the time spent waiting for them added to ``frames_and_face``."""
    while True:
        t0 = time.perf_counter()
        frame = next(frames, None)
        timer.add("frames_and_face", t0)
        if frame is None:
            return
        yield frame


def _batches(frames: Iterable[AnalysedFrame], size: int) -> Iterator[list[AnalysedFrame]]:
    """``frames`` in lists of ``size`` (the last may be shorter)."""
    batch: list[AnalysedFrame] = []
    for frame in frames:
        batch.append(frame)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass(frozen=True)
class _Segmented:
    """A batch's eye crops with their eye outlines (crop px) and the network's results."""

    pairs: list[tuple[AnalysedFrame, EyeCrop]]
    outlines: list[np.ndarray]
    segmented: list[SegmentationResult]
    mirrored: list[SegmentationResult | None]


def _segment_batch(
    batch: list[AnalysedFrame], segmenter: Segmenter, config: AnalyzeConfig, timer: _Timer
) -> _Segmented:
    """Segment the eye crops of ``batch`` and, for the quality signal, their mirrors."""
    pairs = [(frame, crop) for frame in batch for crop in frame.crops]
    images = [crop.image for _, crop in pairs]
    # dlib's six eye points in crop px: the landmark prior of models that take one, the
    # landmark gate, and the gates' and quality signal's eye outline.
    outlines = [
        eye_points_in_crop(frame.face.eye_points_px(crop.side), crop.crop_from_frame)
        for frame, crop in pairs
    ]
    t0 = time.perf_counter()
    mirrored: list[SegmentationResult | None]
    if config.measure.gates.mirror_test:
        segmented, found = segmenter.segment_with_mirror(images, outlines)
        mirrored = list(found)
    else:
        segmented, mirrored = segmenter.segment(images, outlines), [None] * len(pairs)
    timer.add("segment", t0)
    return _Segmented(pairs, outlines, segmented, mirrored)


def _measure_batch(
    batch: _Segmented,
    config: AnalyzeConfig,
    folder: Path,
    writer: BackgroundWriter,
    timer: _Timer,
) -> list[_Eye]:
    """The per-eye chain on every crop of a segmented batch; queues its crop and mask PNGs."""
    eyes: list[_Eye] = []
    for (frame, crop), outline, seg, seg_mirror in zip(
        batch.pairs, batch.outlines, batch.segmented, batch.mirrored, strict=True
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
        timer.add("measure", t0)
        t0 = time.perf_counter()
        crop_png = _queue_images(frame, crop, seg, config, folder, writer)
        timer.add("write_images", t0)
        eyes.append(_eye_record(frame, crop, outline, seg, eye, crop_png, config))
    return eyes


def _queue_images(
    frame: AnalysedFrame,
    crop: EyeCrop,
    seg: SegmentationResult,
    config: AnalyzeConfig,
    folder: Path,
    writer: BackgroundWriter,
) -> bytes:
    """Queue the crop and raw mask PNGs (``save_crops``); the crop's PNG bytes, kept for
    the overlays and the shared-radius refit (which measures with the image whatever the
    image options, so they never change a number)."""
    crop_png = encode_png(crop.image)
    if config.save_crops:
        name = f"f{frame.index:06d}_{crop.side}"
        writer.png(folder / "crops" / f"{name}.png", crop_png)
        raw = seg.labels
        writer.run(lambda p=folder / "masks" / f"{name}.png", m=raw: write_image_atomic(p, m))
    return crop_png


def _eye_record(
    frame: AnalysedFrame,
    crop: EyeCrop,
    outline: np.ndarray,
    seg: SegmentationResult,
    eye: EyeResult,
    crop_png: bytes,
    config: AnalyzeConfig,
) -> _Eye:
    """What the later steps keep of one measured eye."""
    shared = config.measure.shared_radius
    # A circle from the whole (amodal) disc already covers what the lid hides; the
    # shared-radius refit is for circles fitted to a lid-cut visible limbus.
    from_limbus = seg.amodal_disc is None or FLAG_IRIS_FROM_LIMBUS in eye.measurement.flags
    fraction = eye.measurement.values["visible_iris_fraction"]
    return _Eye(
        index=frame.index,
        timestamp_s=frame.timestamp_s,
        scores=frame.scores,
        side=crop.side,
        crop_flags=tuple(crop.flags),
        scale_crop_per_frame=crop.scale_crop_per_frame,
        outline_px=outline,
        crop_png=crop_png,
        labels=_Packed.of(eye.labels),
        measurement=eye.measurement,
        mirror_agreement=eye.mirror_agreement,
        outline_agreement=eye.outline_agreement,
        quality=eye.quality,
        gates_failed=eye.gates_failed,
        landmark_gate_removed_px=eye.landmark_gate_removed_px,
        refit_candidate=shared.enabled and from_limbus and fraction < shared.min_reference_fraction,
    )


def _rows(item: InputItem, eyes: list[_Eye], config: AnalyzeConfig, partial: bool) -> list[EyeRow]:
    """One measurement row per eye; a time series' blinks are judged over all its frames."""
    frame_scores = {eye.index: eye.scores for eye in eyes}
    if config.mode == "timeseries" and frame_scores:
        flags = is_blink(list(frame_scores.values()), config.keyframe)
        blinks = {index: bool(b) for index, b in zip(frame_scores, flags, strict=True)}
    else:
        blinks = dict.fromkeys(frame_scores, False)
    return [
        EyeRow(
            input=item.label,
            frame_index=eye.index,
            timestamp_s=round(eye.timestamp_s, 4),
            side=eye.side,
            mode=config.mode,
            flags=_row_flags(eye.crop_flags, eye.measurement.flags, partial),
            gates_failed=eye.gates_failed,
            blink=blinks[eye.index],
            sharpness=eye.scores.sharpness,
            ear=eye.scores.ear,
            quality=eye.quality,
            mirror_agreement=eye.mirror_agreement,
            outline_agreement=eye.outline_agreement,
            values=eye.measurement.values,
            cleaned=config.cleanup,
            landmark_gate_removed_px=eye.landmark_gate_removed_px,
        )
        for eye in eyes
    ]


def _share_iris_radius(
    rows: list[EyeRow], eyes: list[_Eye], config: AnalyzeConfig, partial: bool
) -> list[EyeRow]:
    """``rows`` with lid-covered irises refitted to the input's shared radius
    (``stages.shared_radius``); the other rows are returned as they were.

    The reference is taken from the rows that pass every per-frame check before the
    between-frame gates run; a refitted row is measured and gated again and flagged
    ``iris_radius_shared``.
    """
    if not any(eye.refit_candidate for eye in eyes):
        return rows
    references = reference_radii(rows, config.measure.shared_radius)
    out: list[EyeRow] = []
    for row, eye in zip(rows, eyes, strict=True):
        refitted = _refit(row, eye, references, config, partial) if eye.refit_candidate else None
        out.append(row if refitted is None else refitted)
    return out


def _refit(
    row: EyeRow,
    eye: _Eye,
    references: tuple[np.ndarray, np.ndarray],
    config: AnalyzeConfig,
    partial: bool,
) -> EyeRow | None:
    """A new row for ``eye`` measured with the shared radius, or None when it keeps its own."""
    params = config.measure.shared_radius
    shared_frame_px = shared_radius_frame_px(row.timestamp_s, references, params)
    if not wants_refit(row, shared_frame_px, params):
        return None
    labels = eye.labels.unpack()
    circle = fit_centre_with_radius(
        labels,
        shared_frame_px * eye.scale_crop_per_frame,
        (row.value("iris_cx_px"), row.value("iris_cy_px")),
        config.measure.iris_fit,
    )
    if circle is None:
        return None
    measurement = measure_eye_crop(
        labels,
        eye.side,
        config.measure,
        eye.scale_crop_per_frame,
        circle=circle,
        image=decode_png(eye.crop_png),
    )
    gates = frame_gates(
        measurement.values, labels, eye.outline_px, quality=eye.quality, params=config.measure.gates
    )
    return replace(
        row,
        values=measurement.values,
        flags=_row_flags(eye.crop_flags, (*measurement.flags, FLAG_IRIS_RADIUS_SHARED), partial),
        gates_failed=gates,
    )


def _row_flags(
    crop_flags: Sequence[str], measurement_flags: Sequence[str], partial: bool
) -> tuple[str, ...]:
    """A row's ``flags``: the crop's, the measurement's, and ``partial_video`` if so."""
    return (*crop_flags, *measurement_flags, *((FLAG_PARTIAL_VIDEO,) if partial else ()))


def _decode_errors(item: InputItem, stats: FrameStats, any_eyes: bool, result: InputResult) -> bool:
    """Record a video that stopped decoding early; True when its rows must be flagged."""
    decode = stats.decode
    if decode is None or not decode.stopped_early:
        return False
    problems = "; ".join(decode.problems)
    if not any_eyes:
        result.errors.append(_error(item, "frames", problems))
        return True
    result.errors.append(
        _error(
            item,
            "frames",
            f"{problems}; the measurements cover only the first {decode.last_timestamp_s:.1f} s "
            f"and are flagged '{FLAG_PARTIAL_VIDEO}'",
        )
    )
    return True


def _check_usable(item: InputItem, rows: list[EyeRow], result: InputResult) -> None:
    """Record an error when no frame gave a usable measurement of an eye, saying why."""
    if not rows:
        return
    for side in SIDES:
        side_rows = [r for r in rows if r.side == side]
        if any(not r.exclusion_reasons() for r in side_rows):
            continue
        counts = count_reasons(plain_words(r.exclusion_reasons()) for r in side_rows)
        why = ", ".join(f"{c.reason} in {c.frames}" for c in counts)
        result.errors.append(
            ErrorRecord(
                input=item.label,
                stage="measure",
                error=f"{item.label}: {side} eye not measurable in any of the "
                f"{len(side_rows)} analysed frame(s): {why}",
                input_failed=False,  # the input was analysed; the reason is recorded
            )
        )


def _write_overlays(
    out_dir: Path,
    folder: Path,
    item: InputItem,
    rows: list[EyeRow],
    eyes: list[_Eye],
    unreliable: tuple[str, ...] = (),
) -> list[EyeRow]:
    """One overlay PNG per analysed eye and paged contact sheets of them; returns the rows
    with their overlay's path. Drawn a page at a time on two threads (memory stays one page).
    ``unreliable``: the classes the model marks unreliable (named so in each legend)."""
    from ocularseg.report.overlay import CONTACT_SHEET_STEM, SHEET_TILES

    for old in folder.glob(f"{CONTACT_SHEET_STEM}*.png"):
        old.unlink()  # a resumed run with fewer frames must not leave stale pages
    paths = [Path("inputs") / item.key / "overlays" / f"{eye.name}.png" for eye in eyes]
    rows = [replace(r, overlay=p.as_posix()) for r, p in zip(rows, paths, strict=True)]
    with BackgroundWriter(threads=2) as writer:
        for number, start in enumerate(range(0, len(eyes), SHEET_TILES), start=1):
            page = slice(start, start + SHEET_TILES)
            sheet = folder / f"{CONTACT_SHEET_STEM}_{number:02d}.png"
            writer.run(
                lambda r=rows[page], e=eyes[page], p=paths[page], s=sheet: _overlay_page(
                    out_dir, r, e, p, s, unreliable
                )
            )
    return rows


def _overlay_page(
    out_dir: Path,
    rows: list[EyeRow],
    eyes: list[_Eye],
    paths: list[Path],
    sheet: Path,
    unreliable: tuple[str, ...],
) -> None:
    """The overlays of one contact-sheet page, and the page."""
    from ocularseg.report.overlay import (
        SHEET_COLUMNS,
        SHEET_TILE_WIDTH_PX,
        contact_sheet,
        render_overlay,
    )

    tiles: list[np.ndarray] = []
    captions: list[str] = []
    for row, eye, relative in zip(rows, eyes, paths, strict=True):
        reasons = plain_words(row.exclusion_reasons())
        overlay = render_overlay(
            decode_png(eye.crop_png),
            eye.labels.unpack(),
            row.values,
            eye.side,
            excluded=reasons,
            flags=row.flags,
            unreliable=unreliable,
        )
        write_image_atomic(out_dir / relative, overlay)
        tiles.append(overlay)
        side = "OD" if eye.side == "right" else "OS"
        captions.append(
            f"{row.timestamp_s:.2f} s  frame {row.frame_index}  {side}"
            + ("  EXCLUDED" if reasons else "")
        )
    page = contact_sheet(tiles, captions, columns=SHEET_COLUMNS, tile_width=SHEET_TILE_WIDTH_PX)
    write_image_atomic(sheet, page)


def _error(item: InputItem, stage: str, exc: Exception | str) -> ErrorRecord:
    return ErrorRecord(input=item.label, stage=stage, error=_named(item, exc))


def _warning(item: InputItem, stage: str, text: str) -> WarningRecord:
    return WarningRecord(input=item.label, stage=stage, warning=_named(item, text))


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
        log.info("%s", text.warning)  # the CLI prints them; API users read result.warnings
