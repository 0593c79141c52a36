"""Build the real development / training set: real faces → analyze's eye crops → silver labels.

For every image (or sampled video frame) of every source:

1. decode it as ``analyze`` does (``io.images``), find the face and its 68 landmarks with
   the same ``FaceDetector`` and cut both eyes with the same ``crop_eye`` — so the crops are
   exactly what the model sees in use;
2. run the teacher (MediaPipe Face Mesh + iris, :mod:`.teacher_mediapipe`) on the same
   decoded frame in its own Python environment, keep the mesh whose eye corners match
   dlib's, and map its lid contour and iris circle into each crop;
3. draw the silver label map (:mod:`.silver`), check the teacher against dlib and anatomy,
   and write the crop, the map and a metadata JSON (source, licence, both landmark sets in
   crop px) into a dataset folder (``ocularseg.data.manifest`` format, partial labels);
4. drop the samples listed by hand in an exclusion file (the teacher plainly wrong), split
   people into train / val / test(= the development set) per source, and draw contact
   sheets of what was kept and what was dropped.

Nothing leaves the machine; the images are read from local mirrors of public repositories.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ocularseg.core.containers import SIDES, EyeCrop, FaceLandmarks
from ocularseg.core.errors import DataError, OcularsegError
from ocularseg.data.eye_meta import RealEyeMeta, SilverImageEvidence
from ocularseg.data.manifest import ManifestRow
from ocularseg.data.split import split_rows
from ocularseg.data.writer import DatasetWriter
from ocularseg.io.atomic import write_text_atomic
from ocularseg.io.config_files import read_yaml_mapping
from ocularseg.io.images import decode_image_rgb, write_image_atomic
from ocularseg.realdata.relabel import image_silver_map
from ocularseg.realdata.silver import (
    DLIB_CORNERS,
    EyeCheckParams,
    TeacherEye,
    opening_height_to_width,
    silver_label_map,
    teacher_eye,
    teacher_eye_problems,
)
from ocularseg.realdata.sources import Source, SourceFile, list_files, load_sources, read_bytes

log = logging.getLogger(__name__)

TEACHER_SCRIPT = Path(__file__).with_name("teacher_mediapipe.py")
#: MediaPipe's eye corners (patient's right outer/inner, left outer/inner) used to match
#: its face to dlib's.
_MP_CORNERS = (33, 133, 263, 362)
_DLIB_CORNERS = (36, 39, 45, 42)
#: Frames larger than this (longest side, px) are shrunk before anything else: the teacher
#: and dlib gain nothing from 6000-px portraits and the work files stay small.
MAX_FRAME_SIDE_PX = 2000
#: A contact-sheet tile: the crop, its label map, the caption and whether it was kept.
SheetItem = tuple[np.ndarray, np.ndarray, str, bool]


@dataclass
class BuildReport:
    """Counts of what happened to every file and eye (written as build_report.json)."""

    files: Counter = field(default_factory=Counter)
    eyes: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    per_source: dict[str, Counter] = field(default_factory=dict)

    def count(self, source: str, key: str, n: int = 1) -> None:
        self.per_source.setdefault(source, Counter())[key] += n

    def to_json(self) -> dict[str, Any]:
        return {
            "files": dict(self.files),
            "eyes": dict(self.eyes),
            "per_source": {k: dict(v) for k, v in self.per_source.items()},
            "notes": self.notes,
        }


@dataclass(frozen=True)
class FrameJob:
    """One decoded frame waiting for the teacher."""

    item: SourceFile
    frame_id: str
    frame_index: int
    image: np.ndarray
    face: FaceLandmarks
    crops: dict[str, EyeCrop]


def build_real_set(
    sources_yaml: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    mirrors: str | os.PathLike[str] | None,
    teacher_python: str | os.PathLike[str],
    excluded_yaml: str | os.PathLike[str] | None = None,
    fractions: tuple[float, float, float] = (0.55, 0.05, 0.40),
    seed: int = 0,
    limit_per_source: int | None = None,
    check_params: EyeCheckParams | None = None,
) -> BuildReport:
    """Build the dataset folder ``out_dir`` (must be new or empty); returns the counts.

    Args:
        sources_yaml: the source list (see :mod:`.sources`).
        out_dir: dataset folder to create.
        mirrors: folder holding ``<owner>+<name>/repo`` bare mirrors of the git sources.
        teacher_python: Python of an environment with ``mediapipe==0.10.14``.
        excluded_yaml: ``{sample_name: reason}`` of crops to leave out (checked by eye).
        fractions: train / val / test shares of the people, applied within each source;
            ``test`` is the real development set.
        seed: seeds the split.
        limit_per_source: take at most this many files per source (tests, quick looks).
        check_params: thresholds of the teacher checks.

    Raises:
        ConfigError / DataError: bad sources, missing mirror, teacher failure.
    """
    sources = load_sources(sources_yaml)
    excluded = _read_excluded(excluded_yaml)
    mirror_root = Path(mirrors) if mirrors is not None else None
    report = BuildReport()
    jobs = _frame_jobs(sources.sources, mirror_root, limit_per_source, report)
    if not jobs:
        raise DataError("no face found in any source file")
    with tempfile.TemporaryDirectory(prefix="ocularseg-teacher-") as work:
        teacher = run_teacher(jobs, Path(work), Path(teacher_python))
    with DatasetWriter(out_dir) as writer:
        sheet_items = _add_eyes(
            writer, jobs, teacher["results"], excluded, check_params or EyeCheckParams(), report
        )
        rows = _split_per_source(writer.rows, fractions, seed)
        writer.rows[:] = rows
        report.count("_all", "people", len({r.subject for r in rows}))
        writer.write_json("build_report.json", report.to_json())
        writer.write_json("teacher.json", teacher["teacher"])
        _write_sources_table(writer.staging, jobs, sources.sources)
        draw_contact_sheets(writer.staging / "contact", sheet_items)
        writer.commit()
    return report


def _add_eyes(
    writer: DatasetWriter,
    jobs: list[FrameJob],
    results: dict[str, Any],
    excluded: dict[str, str],
    check: EyeCheckParams,
    report: BuildReport,
) -> list[SheetItem]:
    """Both eyes of every frame whose teacher face matches dlib's (:func:`_add_eye`)."""
    sheet_items: list[SheetItem] = []
    for job in jobs:
        match = match_teacher_face(results.get(job.frame_id, {}).get("faces", []), job.face)
        for side in SIDES:
            report.eyes["cropped"] += 1
            if match is None:
                report.eyes["teacher_no_face"] += 1
                report.count(job.item.source.name, "teacher_no_face")
                continue
            sheet_items.append(_add_eye(writer, job, side, match, excluded, check, report))
    return sheet_items


def _frame_jobs(
    sources: tuple[Source, ...],
    mirror_root: Path | None,
    limit_per_source: int | None,
    report: BuildReport,
) -> list[FrameJob]:
    """Every decoded frame with a dlib face and both eye crops, counted into ``report``."""
    from ocularseg.stages.crop import crop_eye
    from ocularseg.stages.face import FaceDetector

    detector = FaceDetector()
    jobs: list[FrameJob] = []
    for source in sources:
        files, notes = list_files(source, mirror_root)
        report.notes.extend(notes)
        report.count(source.name, "files_skipped", len(notes))
        if limit_per_source is not None:
            files = files[:limit_per_source]
        for item in files:
            report.files["listed"] += 1
            try:
                frames = _decode(item, mirror_root)
            except OcularsegError as exc:
                report.files["unreadable"] += 1
                report.notes.append(f"{item.source.name}:{item.path}: {exc}")
                continue
            for index, image in frames:
                frame_id = f"{item.stem}" if len(frames) == 1 else f"{item.stem}_f{index:05d}"
                try:
                    face = detector.detect(image)
                except OcularsegError:
                    report.files["no_face"] += 1
                    report.count(source.name, "no_face")
                    continue
                crops = {side: crop_eye(image, face, side) for side in SIDES}
                jobs.append(FrameJob(item, frame_id, index, image, face, crops))
                report.count(source.name, "frames")
    return jobs


def _add_eye(
    writer: DatasetWriter,
    job: FrameJob,
    side: str,
    match: np.ndarray,
    excluded: dict[str, str],
    check: EyeCheckParams,
    report: BuildReport,
) -> SheetItem:
    """Check one eye against dlib, draw its silver map and add it to ``writer`` unless it is
    dropped (a teacher problem, or excluded by hand); returns its contact-sheet tile."""
    name = f"{job.frame_id}_{side}"
    crop = job.crops[side]
    source = job.item.source.name
    eye = teacher_eye(match, side).transformed(crop.crop_from_frame)
    dlib_corners = _to_crop(job.face.points_px[list(DLIB_CORNERS[side])], crop.crop_from_frame)
    problems = teacher_eye_problems(eye, dlib_corners, check)
    labels = silver_label_map(eye, crop.image.shape[:2])
    labels, evidence = image_silver_map(crop.image, eye, labels, crop.scale_crop_per_frame)
    if problems:
        for problem in problems:
            report.eyes[problem] += 1
            report.count(source, problem)
        return crop.image, labels, f"{name} {','.join(problems)}", False
    if name in excluded:
        report.eyes["excluded_by_hand"] += 1
        report.count(source, "excluded_by_hand")
        return crop.image, labels, f"{name} excluded", False
    ratio = opening_height_to_width(eye)
    meta = eye_meta(job, side, eye, ratio, bool(ratio >= check.closed_height_to_width), evidence)
    writer.add(
        name,
        crop.image,
        labels,
        subject=job.item.subject,
        group=source,
        source=f"{source}:{job.item.path}",
        partial=True,
    )
    writer.write_json(f"meta/{name}.json", meta.to_json())
    report.eyes["pupil_labelled" if evidence.pupil.found else "pupil_unknown"] += 1
    report.eyes["caruncle_labelled" if evidence.caruncle.found else "caruncle_unknown"] += 1
    report.eyes["kept"] += 1
    report.eyes["kept_open" if meta.open else "kept_closed"] += 1
    report.count(source, "eyes_kept")
    return crop.image, labels, name, True


def run_teacher(jobs: list[FrameJob], work: Path, python: Path) -> dict[str, Any]:
    """Write every frame as PNG, run the teacher script once on all of them, read its JSON.

    Raises:
        DataError: the teacher environment is missing or the script failed.
    """
    if not Path(python).exists():
        raise DataError(
            f"teacher Python {python} not found: create it with `python3 -m venv "
            ".venv-teacher && .venv-teacher/bin/pip install mediapipe==0.10.14`"
        )
    images = []
    for job in jobs:
        path = work / f"{job.frame_id}.png"
        write_image_atomic(path, job.image)
        images.append({"id": job.frame_id, "path": str(path)})
    request, result = work / "request.json", work / "result.json"
    request.write_text(json.dumps({"images": images}), encoding="utf-8")
    log.info("teacher: %d frames", len(images))
    completed = subprocess.run(
        [str(python), str(TEACHER_SCRIPT), str(request), str(result)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONNOUSERSITE": "1"},
    )
    if completed.returncode or not result.is_file():
        tail = "\n".join(completed.stderr.strip().splitlines()[-5:])
        raise DataError(f"teacher failed (exit {completed.returncode}): {tail}")
    return json.loads(result.read_text(encoding="utf-8"))


def match_teacher_face(
    faces: list[list[list[float]]], face: FaceLandmarks, max_offset: float = 0.25
) -> np.ndarray | None:
    """The teacher's face whose four eye corners lie nearest dlib's, or None.

    ``max_offset`` is the largest mean corner distance accepted, as a fraction of dlib's
    distance between the two eyes' outer corners.
    """
    dlib = face.points_px[list(_DLIB_CORNERS)]
    scale = float(np.hypot(*(dlib[0] - dlib[2])))
    best, best_offset = None, np.inf
    for points in faces:
        array = np.asarray(points, dtype=np.float64)
        if array.shape[0] < 478:
            continue
        offset = float(np.mean(np.hypot(*(array[list(_MP_CORNERS)] - dlib).T))) / max(scale, 1)
        if offset < best_offset:
            best, best_offset = array, offset
    return best if best_offset <= max_offset else None


def _decode(item: SourceFile, mirrors: Path | None) -> list[tuple[int, np.ndarray]]:
    """(frame index, RGB image) pairs of one file: one for a photo, several for a video."""
    data = read_bytes(item, mirrors)
    if item.source.media == "photo":
        return [(0, _shrink(decode_image_rgb(data, f"{item.source.name}:{item.path}")))]
    import cv2

    with tempfile.NamedTemporaryFile(suffix=Path(item.path).suffix) as handle:
        handle.write(data)
        handle.flush()
        capture = cv2.VideoCapture(handle.name)
        try:
            count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
            if count <= 0:
                raise DataError(f"{item.source.name}:{item.path}: no frames")
            wanted = np.linspace(0, count - 1, item.source.frames_per_video).round().astype(int)
            frames = []
            for index in sorted(set(wanted.tolist())):
                capture.set(cv2.CAP_PROP_POS_FRAMES, index)
                ok, bgr = capture.read()
                if ok:
                    frames.append((index, _shrink(np.ascontiguousarray(bgr[..., ::-1]))))
        finally:
            capture.release()
    return frames


def _shrink(image: np.ndarray) -> np.ndarray:
    import cv2

    height, width = image.shape[:2]
    factor = MAX_FRAME_SIDE_PX / max(height, width)
    if factor >= 1:
        return image
    size = (round(width * factor), round(height * factor))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _to_crop(points: np.ndarray, affine: np.ndarray) -> np.ndarray:
    return np.asarray(points, float) @ affine[:, :2].T + affine[:, 2]


def eye_meta(
    job: FrameJob,
    side: str,
    eye: TeacherEye,
    ratio: float,
    is_open: bool,
    evidence: SilverImageEvidence,
) -> RealEyeMeta:
    """The metadata of one kept eye (``eye`` in crop px; see ``data.eye_meta``)."""
    source, crop = job.item.source, job.crops[side]
    return RealEyeMeta(
        source=source.name,
        repo=source.repo,
        commit=source.commit,
        path=job.item.path,
        frame_index=job.frame_index,
        licence=source.licence,
        attribution=source.attribution,
        side=side,
        subject=job.item.subject,
        crop_flags=tuple(crop.flags),
        scale_crop_per_frame=crop.scale_crop_per_frame,
        crop_from_frame=np.asarray(crop.crop_from_frame).tolist(),
        dlib_eye_points_crop_px=_to_crop(
            job.face.eye_points_px(side), crop.crop_from_frame
        ).tolist(),
        teacher=eye.geometry(),
        opening_height_to_width=ratio,
        open=is_open,
        silver_image=evidence,
    )


def _split_per_source(
    rows: list[ManifestRow], fractions: tuple[float, ...], seed: int
) -> list[ManifestRow]:
    """Split people within each source so every source is in train and in the dev set.

    Sources are told apart by the subject prefix, so two sources of the same people
    (London neutral and smiling) are split together and nobody is in two splits.
    """
    by_group: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_group.setdefault(row.subject.split(":", 1)[0], []).append(i)
    out = list(rows)
    for group, indices in sorted(by_group.items()):
        split = split_rows([rows[i] for i in indices], fractions, seed=seed)
        for i, row in zip(indices, split, strict=True):
            out[i] = replace(rows[i], split=row.split)
        log.info("%s: %d eyes", group, len(indices))
    return out


def _read_excluded(path: str | os.PathLike[str] | None) -> dict[str, str]:
    if path is None:
        return {}
    raw = read_yaml_mapping(path)
    entries = raw.get("excluded") or {}
    if not isinstance(entries, dict):
        raise DataError(f"{path}: 'excluded' must map sample names to reasons")
    return {str(k): str(v) for k, v in entries.items()}


def _write_sources_table(folder: Path, jobs: list[FrameJob], sources: tuple[Source, ...]) -> None:
    """sources.csv: one line per file used, with its repository, commit, path and licence."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["frame_id", "source", "repo", "commit", "path", "licence", "attribution"])
    seen = set()
    for job in jobs:
        if job.frame_id in seen:
            continue
        seen.add(job.frame_id)
        s = job.item.source
        writer.writerow(
            [job.frame_id, s.name, s.repo, s.commit, job.item.path, s.licence, s.attribution]
        )
    write_text_atomic(folder / "sources.csv", buffer.getvalue())
    licences = "\n".join(
        f"- {s.name}: {s.licence} — {s.attribution or s.repo} ({s.evidence})" for s in sources
    )
    write_text_atomic(folder / "LICENCES.md", f"# Sources and licences\n\n{licences}\n")


def draw_contact_sheets(
    folder: Path,
    items: list[SheetItem],
    *,
    columns: int = 6,
    rows: int = 6,
    tile_wh: tuple[int, int] = (240, 160),
) -> list[Path]:
    """Pages of crops with the silver opening (cyan) and iris disc (yellow) outlined.

    Pixels of a single class (the second teacher's pupil, iris, caruncle and sclera) are
    tinted in the class colours of the reports. Dropped samples get a red frame. Returns the
    written page paths.
    """
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    per_page = columns * rows
    pages = []
    for start in range(0, len(items), per_page):
        chunk = items[start : start + per_page]
        tile_w, tile_h = tile_wh
        sheet = np.full((rows * (tile_h + 14), columns * tile_w, 3), 255, np.uint8)
        for k, (image, labels, caption, kept) in enumerate(chunk):
            tile = _silver_tile(image, labels, tile_wh)
            if not kept:
                cv2.rectangle(tile, (0, 0), (tile_w - 1, tile_h - 1), (255, 0, 0), 3)
            r, c = divmod(k, columns)
            y, x = r * (tile_h + 14), c * tile_w
            sheet[y : y + tile_h, x : x + tile_w] = tile
            cv2.putText(
                sheet,
                caption[-34:],
                (x + 2, y + tile_h + 11),
                cv2.FONT_HERSHEY_PLAIN,
                0.75,
                (0, 0, 0),
                1,
                cv2.LINE_AA,
            )
        path = folder / f"page_{start // per_page + 1:03d}.png"
        write_image_atomic(path, sheet)
        pages.append(path)
    return pages


def _silver_tile(image: np.ndarray, labels: np.ndarray, tile_wh: tuple[int, int]) -> np.ndarray:
    """One contact-sheet tile: class tints, then the opening and disc outlines."""
    import cv2

    from ocularseg.core.labels import LABEL_COLOURS_RGB, Label, PartialLabel

    tile = cv2.resize(image, tile_wh, interpolation=cv2.INTER_AREA).astype(np.float32)
    small = cv2.resize(labels, tile_wh, interpolation=cv2.INTER_NEAREST)
    for label in (Label.SCLERA, Label.IRIS, Label.PUPIL, Label.CARUNCLE):
        region = small == label
        tile[region] = 0.55 * tile[region] + 0.45 * np.asarray(LABEL_COLOURS_RGB[label])
    tile = tile.astype(np.uint8)
    opening = (small != Label.BACKGROUND) & (small != PartialLabel.IGNORE)
    disc = np.isin(small, (Label.IRIS, Label.PUPIL, PartialLabel.IRIS_DISC))
    for region, colour in ((opening, (0, 255, 255)), (disc, (255, 220, 0))):
        contours, _ = cv2.findContours(
            region.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE
        )
        cv2.drawContours(tile, contours, -1, colour, 1)
    return tile


def main_teacher_available(python: str) -> bool:
    """True when ``python`` can import mediapipe (used by tests to skip without it)."""
    try:
        done = subprocess.run(
            [python, "-c", "import mediapipe"], capture_output=True, check=False, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0
