"""Ground truth of a phantom face video: per-frame records and the JSON file's layout.

Ground truth is given in frame px of the final frame: points (iris centre, lids, canthi)
go through ``frame_from_crop = frame_from_base ∘ base_from_crop``; lengths (MRD1, MRD2,
fissure height, iris radius) are the renderer's crop-px values divided by the crop's
scale (crop px per frame px). MRD1/MRD2 therefore stay measured perpendicular to the
canthal line, as in the roll-corrected crop, even when the head rolls. Areas are divided
by the scale squared. ``visible_iris_fraction`` has no unit and is copied as is.

The file is written by ``synth.video`` as :func:`dump_ground_truth` lays it out: a
pretty-printed header, then one compact JSON line per frame.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ocularseg.core.errors import InputError
from ocularseg.synth.affine import apply, invert, similarity_scale
from ocularseg.synth.face import PhantomFace
from ocularseg.synth.motion import FramePlan, SynthVideoSpec, VideoPlan

GT_FORMAT = "ocularseg-synth-video-gt"
GT_VERSION = 1

#: Points kept per lid curve in the ground truth (evenly re-sampled by index), enough to
#: draw the lid and small enough to keep a few hundred frames in a reviewable file.
_LID_POINTS = 17


def _round(value: float, digits: int = 3) -> float | None:
    v = float(value)
    return round(v, digits) if math.isfinite(v) else None


def _points(points: Any) -> list[list[float | None]]:
    return [[_round(x), _round(y)] for x, y in np.asarray(points, dtype=np.float64).reshape(-1, 2)]


#: Renderer truth lengths in crop px, converted to frame px by the crop's scale.
_LENGTH_KEYS = (
    "mrd1_px",
    "mrd2_px",
    "fissure_height_px",
    "superior_scleral_show_px",
    "iris_radius_px",
    "pupil_radius_px",
)


def eye_truth(
    truth: dict[str, Any], frame_from_crop: np.ndarray, plan_open: float
) -> dict[str, Any]:
    """Renderer truth (crop px) expressed in frame px of the final frame."""
    per_crop = similarity_scale(frame_from_crop)  # frame px per crop px
    out: dict[str, Any] = {
        "upper_lid_open": _round(plan_open, 4),
        "eye_closed": bool(truth.get("eye_closed", False)),
        "visible_iris_fraction": _round(truth.get("visible_iris_fraction", float("nan")), 4),
        "scale_crop_per_frame": _round(1.0 / per_crop, 5),
        "crop_from_frame": _matrix(invert(frame_from_crop)),
    }
    for key in _LENGTH_KEYS:
        if key in truth and truth[key] is not None:
            out[key] = _round(float(truth[key]) * per_crop)
    for key, value in truth.items():
        # The crop's background count depends on the crop's framing, not on the eye.
        if key.startswith("area_") and key != "area_background_px" and value is not None:
            out[key] = _round(float(value) * per_crop**2, 2)
    for key in ("iris_center_px", "pupil_center_px", "medial_canthus_px", "lateral_canthus_px"):
        if key in truth and truth[key] is not None:
            out[key] = _points(apply(frame_from_crop, np.asarray(truth[key], dtype=np.float64)))[0]
    for key in ("upper_lid_px", "lower_lid_px"):
        curve = np.asarray(truth.get(key) or [], dtype=np.float64).reshape(-1, 2)
        if len(curve):
            keep = np.unique(np.round(np.linspace(0, len(curve) - 1, _LID_POINTS)).astype(int))
            out[key] = _points(apply(frame_from_crop, curve[keep]))
    out["crop"] = {
        key: _points(truth[key])[0] if np.ndim(truth[key]) else _round(truth[key])
        for key in ("mrd1_px", "mrd2_px", "iris_radius_px", "iris_center_px")
        if key in truth and truth[key] is not None
    }
    return out


def frame_record(
    fp: FramePlan, frame_from_base: np.ndarray, eyes: dict[str, Any]
) -> dict[str, Any]:
    """The ground-truth record of one frame (``eyes``: :func:`eye_truth` per side)."""
    return {
        "index": fp.index,
        "timestamp_s": _round(fp.timestamp_s, 6),
        "blink": fp.blink,
        "blurred": fp.blur is not None,
        "blur": fp.blur,
        "gaze": {"x": _round(fp.gaze_x, 4), "y": _round(fp.gaze_y, 4)},
        "head": {
            "shift_x_px": _round(fp.head.shift_x_px),
            "shift_y_px": _round(fp.head.shift_y_px),
            "roll_deg": _round(fp.head.roll_deg, 4),
            "scale": _round(fp.head.scale, 5),
        },
        "frame_from_base": _matrix(frame_from_base),
        "eyes": eyes,
    }


def _matrix(affine: np.ndarray) -> list[list[float | None]]:
    return [[_round(v, 6) for v in row] for row in affine]


def ground_truth_path(video_path: str | os.PathLike[str]) -> Path:
    """The ground-truth file written beside ``video_path`` (same name, ``.json``)."""
    return Path(video_path).with_suffix(".json")


#: How to read the file, written into its header.
_CONVENTIONS: dict[str, str] = {
    "sides": "right/left = the patient's side; landmarks 36-41 (patient's right eye) "
    "appear on the image left, 42-47 (patient's left eye) on the image right",
    "units": "every *_px value of a frame's eye is in px of that final frame, except "
    "under 'crop' (px of the renderer's 480x320 crop); areas are frame px squared",
    "mrd": "MRD1/MRD2/fissure height are the renderer's crop-px distances, measured "
    "perpendicular to the canthal line in the roll-corrected crop, divided by "
    "scale_crop_per_frame (crop px per frame px)",
    "geometry": "frame = frame_from_base(head motion) o base_from_crop; base landmarks "
    "are dlib's on the base frame; map them with a frame's frame_from_base",
    "gaze": "x, y in [-1, 1]; +x image right, +y down; both eyes",
    "null": "a value that is undefined for the frame (e.g. iris hidden) is null",
}


def ground_truth(
    plan: VideoPlan,
    face: PhantomFace,
    video_name: str,
    codec: str,
    eye_params: dict[str, dict[str, Any]],
    records: list[dict[str, Any]],
) -> dict[str, Any]:
    """The whole ground-truth document of a video (header and ``records`` per frame).

    Args:
        plan: the video's plan (its spec and schedule).
        face: the base frame the eyes were placed on.
        video_name: the video's file name.
        codec: its FourCC.
        eye_params: the renderer parameters per side at rest, flat JSON-ready dicts.
        records: :func:`frame_record` of every frame.
    """
    spec: SynthVideoSpec = plan.spec
    width, height = spec.frame_size_px
    return {
        "format": GT_FORMAT,
        "version": GT_VERSION,
        "video": {
            "file": video_name,
            "codec": codec,
            "fps": spec.fps,
            "frame_count": spec.frame_count,
            "duration_s": spec.frame_count / spec.fps,
            "width_px": int(width),
            "height_px": int(height),
            "seed": spec.seed,
        },
        "spec": dataclasses.asdict(spec),
        "schedule": plan.schedule,
        "source": {**face.attribution, "frame_from_source": _matrix(face.frame_from_source)},
        "base_landmarks_px": _points(face.landmarks.points_px),
        "base_landmarks_detector_score": face.landmarks.detector_score,
        "eye_params": eye_params,
        "eye_params_note": "renderer EyeParams per side at rest; each frame replaces gaze_x, "
        "gaze_y and upper_lid_open with the frame's values",
        "conventions": dict(_CONVENTIONS),
        "frames": records,
    }


def _round_floats(obj: Any) -> Any:
    # Schedule times such as 4.800000000000001 would otherwise leak float noise.
    if isinstance(obj, float):
        return _round(obj, 6)
    if isinstance(obj, dict):
        return {k: _round_floats(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_round_floats(v) for v in obj]
    return obj


#: An innermost JSON array that holds only numbers (and nulls), as ``indent`` spreads it.
_NUMBER_ARRAY = re.compile(r"\[\s*((?:-?[\d.eE+-]+|null)(?:,\s*(?:-?[\d.eE+-]+|null))*)\s*\]")


def dump_ground_truth(gt: dict[str, Any]) -> str:
    """The file's text: header pretty-printed, number arrays on one line, a line per frame."""
    # Readable, diff-friendly and small enough to keep in the repository.
    head = _round_floats({k: v for k, v in gt.items() if k != "frames"})
    text = json.dumps(head, indent=2, sort_keys=True, allow_nan=False)
    text = _NUMBER_ARRAY.sub(lambda m: "[" + ", ".join(re.split(r",\s*", m.group(1))) + "]", text)
    lines = [
        "    " + json.dumps(r, sort_keys=True, separators=(",", ":"), allow_nan=False)
        for r in gt["frames"]
    ]
    return text[:-2] + ',\n  "frames": [\n' + ",\n".join(lines) + "\n  ]\n}\n"


def read_ground_truth(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a phantom video's ground-truth JSON (``InputError`` if missing or unreadable)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read ground truth {path}: {exc}") from exc
