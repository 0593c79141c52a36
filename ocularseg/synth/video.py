"""Writing a phantom face video: the MPEG-4 file and its ground-truth JSON, both atomically.

``write_synth_video`` plans the video (``synth.motion``), draws it frame by frame
(``synth.frames``), encodes it with OpenCV, checks that it decodes to the same number of
frames and writes the ground truth beside it (``synth.video_truth``).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from ocularseg.core.errors import ConfigError, ReportError
from ocularseg.io.atomic import atomic_path, write_text_atomic
from ocularseg.synth.frames import _cached_face, _cached_setups, render_frames
from ocularseg.synth.motion import SynthVideoSpec, VideoPlan, plan_video
from ocularseg.synth.video_truth import dump_ground_truth, ground_truth, ground_truth_path

log = logging.getLogger(__name__)

#: FourCC of the video codec: MPEG-4 Part 2, which OpenCV's headless wheel both writes
#: and reads back (its FFmpeg has no H.264 encoder).
VIDEO_FOURCC = "mp4v"
VIDEO_SUFFIX = ".mp4"


def write_synth_video(
    out_path: str | os.PathLike[str], spec: SynthVideoSpec, *, overwrite: bool = False
) -> dict[str, Any]:
    """Render a phantom video and write it with its ground truth, both atomically.

    Args:
        out_path: the ``.mp4`` to write; the ground truth goes to the same name with
            ``.json``.
        spec: what to render.
        overwrite: replace existing files instead of refusing.

    Returns:
        The ground truth that was written (the JSON's content).

    Raises:
        ConfigError: wrong suffix, or a target exists and ``overwrite`` is False.
        ReportError: OpenCV cannot write the video, or reading it back gives a different
            frame count.
    """
    out = Path(out_path)
    if out.suffix.lower() != VIDEO_SUFFIX:
        raise ConfigError(f"{out}: the phantom video must be an {VIDEO_SUFFIX} file")
    gt_path = ground_truth_path(out)
    if not overwrite:
        for target in (out, gt_path):
            if target.exists():
                raise ConfigError(f"{target} already exists; pass --overwrite to replace it")

    plan = plan_video(spec)
    with atomic_path(out) as tmp:
        records = _encode(tmp, plan, out)
        decoded = count_video_frames(tmp)
        if decoded != spec.frame_count:
            raise ReportError(
                f"{out}: wrote {spec.frame_count} frames but OpenCV reads back {decoded}"
            )
        face = _cached_face(tuple(spec.frame_size_px))
        eye_params = {side: setup.params.to_dict() for side, setup in _cached_setups(spec).items()}
        gt = ground_truth(plan, face, out.name, VIDEO_FOURCC, eye_params, records)
        text = dump_ground_truth(gt)
        write_text_atomic(gt_path, text)
    log.info("wrote %s (%d frames) and %s", out, spec.frame_count, gt_path)
    return json.loads(text)


def _encode(tmp: Path, plan: VideoPlan, out: Path) -> list[dict[str, Any]]:
    """Draw and encode every planned frame into ``tmp``; return the per-frame records."""
    import cv2

    spec = plan.spec
    width, height = spec.frame_size_px
    records: list[dict[str, Any]] = []
    writer = cv2.VideoWriter(
        str(tmp),
        cv2.CAP_FFMPEG,
        cv2.VideoWriter_fourcc(*VIDEO_FOURCC),
        float(spec.fps),
        (int(width), int(height)),
    )
    if not writer.isOpened():
        raise ReportError(f"OpenCV cannot write {VIDEO_FOURCC} video to {out}")
    try:
        for frame, record in render_frames(plan):
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            records.append(record)
            if record["index"] % 50 == 0:
                log.info("synth-video: frame %d/%d", record["index"], spec.frame_count)
    finally:
        writer.release()
    return records


def count_video_frames(path: str | os.PathLike[str]) -> int:
    """Decode a video to the end and count its frames (container counts can be wrong)."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            return 0
        n = 0
        while cap.grab():
            n += 1
        return n
    finally:
        cap.release()
