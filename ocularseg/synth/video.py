"""Phantom face videos with exact per-frame ground truth (``ocularseg synth-video``).

A real face (scikit-image's astronaut photograph, see ``synth.face``) gets two phantom
eyes from ``synth.render`` blended in at dlib's eye landmarks, and is animated: small head
motion, gaze changes, one blink, a few blurred frames and the patient's LEFT upper lid
slowly drooping (a fatigability test) while the RIGHT eye stays steady.

Geometry (all transforms are similarities: rotation + uniform scale + translation):

* ``base`` frame px: the enlarged photograph before head motion; the dlib landmarks
  found on it place the eyes.
* ``crop`` px: the renderer's 480×320 eye crop. ``base_from_crop`` maps the phantom's
  canthi exactly onto the landmark canthi (36/39 for the patient's right eye, 45/42 for
  the left). The renderer draws with ``roll_deg = 0``, so the crop is already
  roll-corrected along the canthal line, like the eye-crop stage's crop.
* ``frame`` px: the final video frame; ``frame_from_base`` is the frame's head motion.

Ground truth is given in frame px of the final frame: points (iris centre, lids, canthi)
go through ``frame_from_crop = frame_from_base ∘ base_from_crop``; lengths (MRD1, MRD2,
fissure height, iris radius) are the renderer's crop-px values divided by the crop's
scale (crop px per frame px). MRD1/MRD2 therefore stay measured perpendicular to the
canthal line, as in the roll-corrected crop, even when the head rolls. Areas are divided
by the scale squared. ``visible_iris_fraction`` has no unit and is copied as is.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ocularseg.core.containers import CROP_HEIGHT_PX, CROP_WIDTH_PX, SIDES
from ocularseg.core.errors import ConfigError, InputError, ReportError
from ocularseg.io.atomic import atomic_path, write_text_atomic
from ocularseg.synth.face import PhantomFace, astronaut_face, local_skin_rgb, warp_source

log = logging.getLogger(__name__)

#: FourCC of the video codec: MPEG-4 Part 2, which OpenCV's headless wheel both writes
#: and reads back (its FFmpeg has no H.264 encoder).
VIDEO_FOURCC = "mp4v"
VIDEO_SUFFIX = ".mp4"
GT_FORMAT = "ocularseg-synth-video-gt"
GT_VERSION = 1

#: Points kept per lid curve in the ground truth (evenly re-sampled by index), enough to
#: draw the lid and small enough to keep a few hundred frames in a reviewable file.
_LID_POINTS = 17


@dataclass(frozen=True)
class SynthVideoSpec:
    """Everything that decides a phantom video; equal specs give identical files.

    Attributes:
        seconds: duration in s (> 0).
        fps: frames per second (> 0, at most 120).
        seed: seed of every random choice (eye appearance, motion, gaze, blink, blur).
        frame_size_px: (width, height) in frame px.
        subject_id: phantom subject whose traits (iris colour, lid shape) the eyes share.
        upper_lid_open_baseline: renderer lid opening of both eyes at rest (1 wide open,
            0 closed); the patient's right eye keeps it the whole video.
        upper_lid_open_droop_end: the left eye's opening at the last frame.
        droop_start_frac: fraction of the video before the left lid starts to fall
            (then linearly to ``upper_lid_open_droop_end`` at the end).
        head_shift_frac: head translation amplitude as a fraction of the frame width.
        head_roll_deg: head roll amplitude in degrees.
        head_scale: relative head scale amplitude (0.02 = ±2 %).
        noise_sigma: Gaussian sensor noise added to every frame, in 8-bit grey levels.
    """

    seconds: float = 8.0
    fps: float = 15.0
    seed: int = 0
    frame_size_px: tuple[int, int] = (640, 640)
    subject_id: int = 0
    upper_lid_open_baseline: float = 0.78
    upper_lid_open_droop_end: float = 0.35
    droop_start_frac: float = 0.15
    head_shift_frac: float = 0.01
    head_roll_deg: float = 2.5
    head_scale: float = 0.02
    noise_sigma: float = 0.6

    def __post_init__(self) -> None:
        if not (math.isfinite(self.seconds) and self.seconds > 0):
            raise ConfigError(f"--seconds must be > 0, got {self.seconds}")
        if not (math.isfinite(self.fps) and 0 < self.fps <= 120):
            raise ConfigError(f"--fps must be > 0 and at most 120, got {self.fps}")
        if self.frame_count < MIN_FRAMES:
            raise ConfigError(
                f"{self.seconds} s at {self.fps} fps gives {self.frame_count} frames; a phantom "
                f"video needs at least {MIN_FRAMES} (blink, blurred frames and droop)"
            )
        if self.frame_count > MAX_FRAMES:
            raise ConfigError(
                f"{self.seconds} s at {self.fps} fps gives {self.frame_count} frames, "
                f"above the {MAX_FRAMES}-frame limit"
            )
        if self.seed < 0:
            raise ConfigError(f"--seed must be >= 0, got {self.seed}")
        width, height = self.frame_size_px
        if not (128 <= width <= 2048 and 128 <= height <= 2048):
            raise ConfigError(f"frame size {width}×{height} px is outside 128–2048 px per side")
        for name in ("upper_lid_open_baseline", "upper_lid_open_droop_end"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {value}")
        if not 0.0 <= self.droop_start_frac < 1.0:
            raise ConfigError(f"droop_start_frac must be in [0, 1), got {self.droop_start_frac}")
        for name in ("head_shift_frac", "head_roll_deg", "head_scale", "noise_sigma"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")

    @property
    def frame_count(self) -> int:
        """Number of frames, ``round(seconds * fps)``."""
        return int(round(self.seconds * self.fps))


MIN_FRAMES = 12
MAX_FRAMES = 18_000


@dataclass(frozen=True)
class HeadPose:
    """Head motion of one frame: a similarity about the face centre (frame px, degrees)."""

    shift_x_px: float
    shift_y_px: float
    roll_deg: float
    scale: float


@dataclass(frozen=True)
class FramePlan:
    """What one frame shows, decided before anything is drawn.

    Attributes:
        index: frame number from 0.
        timestamp_s: ``index / fps``.
        head: head motion.
        gaze_x, gaze_y: gaze of both eyes in [-1, 1] (+x image right, +y down).
        upper_lid_open: renderer lid opening per patient side.
        blink: the frame is part of the blink (lids closing, closed or opening).
        blur: ``None`` or the blur applied to the whole frame (``kind`` ``motion`` with
            ``length_px``/``angle_deg``, or ``defocus`` with ``radius_px``; frame px).
    """

    index: int
    timestamp_s: float
    head: HeadPose
    gaze_x: float
    gaze_y: float
    upper_lid_open: dict[str, float]
    blink: bool
    blur: dict[str, Any] | None = None


@dataclass(frozen=True)
class VideoPlan:
    """The whole video's schedule: per-frame plans plus the schedule summary for the GT."""

    spec: SynthVideoSpec
    frames: tuple[FramePlan, ...]
    schedule: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- planning


def plan_video(spec: SynthVideoSpec) -> VideoPlan:
    """Decide head motion, gaze, blink, blur and lid opening for every frame.

    Every random choice comes from ``spec.seed`` through one generator, drawn in a fixed
    order, so a spec always gives the same plan.
    """
    rng = np.random.default_rng([spec.seed, 0x5EED])
    n, fps = spec.frame_count, spec.fps
    duration_s = n / fps
    times = np.arange(n) / fps

    head = _plan_head(spec, rng, times)
    gaze, gaze_targets = _plan_gaze(rng, times, duration_s)
    blink_factor, blink_info = _plan_blink(rng, n, fps)
    droop = _droop_schedule(spec, duration_s)
    blur_by_frame = _plan_blur(rng, n, blink_factor, spec.frame_size_px[0])

    frames = []
    for i, t in enumerate(times):
        left_open = _droop_open(droop, float(t))
        frames.append(
            FramePlan(
                index=i,
                timestamp_s=float(t),
                head=head[i],
                gaze_x=float(gaze[i, 0]),
                gaze_y=float(gaze[i, 1]),
                upper_lid_open={
                    "right": spec.upper_lid_open_baseline * float(blink_factor[i]),
                    "left": left_open * float(blink_factor[i]),
                },
                blink=bool(blink_factor[i] < 1.0),
                blur=blur_by_frame.get(i),
            )
        )
    schedule = {
        "droop": droop,
        "blink": blink_info,
        "gaze_fixations": gaze_targets,
        "blurred_frames": sorted(blur_by_frame),
        "head_motion": {
            "shift_amplitude_px": spec.head_shift_frac * spec.frame_size_px[0],
            "roll_amplitude_deg": spec.head_roll_deg,
            "scale_amplitude": spec.head_scale,
        },
    }
    return VideoPlan(spec=spec, frames=tuple(frames), schedule=schedule)


def _smooth_wobble(rng: np.random.Generator, times: np.ndarray) -> np.ndarray:
    # Two incommensurate slow sines: head sway of a seated patient, in [-1, 1].
    f1, f2 = rng.uniform(0.12, 0.3), rng.uniform(0.4, 0.7)
    p1, p2 = rng.uniform(0, 2 * np.pi, size=2)
    return 0.7 * np.sin(2 * np.pi * f1 * times + p1) + 0.3 * np.sin(2 * np.pi * f2 * times + p2)


def _plan_head(spec: SynthVideoSpec, rng: np.random.Generator, times: np.ndarray) -> list[HeadPose]:
    shift = spec.head_shift_frac * spec.frame_size_px[0]
    dx = shift * _smooth_wobble(rng, times)
    dy = shift * _smooth_wobble(rng, times)
    roll = spec.head_roll_deg * _smooth_wobble(rng, times)
    scale = 1.0 + spec.head_scale * _smooth_wobble(rng, times)
    return [
        HeadPose(float(a), float(b), float(c), float(d))
        for a, b, c, d in zip(dx, dy, roll, scale, strict=True)
    ]


def _plan_gaze(
    rng: np.random.Generator, times: np.ndarray, duration_s: float
) -> tuple[np.ndarray, list[dict[str, float]]]:
    """Fixations of about 1.5 s each, joined by quick saccades (~80 ms).

    The first and last fixations are straight ahead and the others stay moderate
    (|x| ≤ 0.5, |y| ≤ 0.15): MRD1 is read on the iris-centre column, so any gaze moves it
    a little along the curved lid, and a gaze trend would tilt the steady right eye's
    MRD1 series, which must stay flat. The lids follow vertical gaze fully (see
    ``_setup_eyes``).
    """
    n_fix = max(3, int(round(duration_s / 1.5)))
    starts = np.linspace(0.0, duration_s, n_fix, endpoint=False)
    targets = [(0.0, 0.0)]
    for _ in range(n_fix - 2):
        targets.append((float(rng.uniform(-0.5, 0.5)), float(rng.uniform(-0.15, 0.15))))
    targets.append((0.0, 0.0))
    saccade_s = 0.08
    gaze = np.zeros((len(times), 2))
    for i, t in enumerate(times):
        k = int(np.searchsorted(starts, t, side="right") - 1)
        current = np.array(targets[k])
        if k > 0 and t - starts[k] < saccade_s:
            w = (t - starts[k]) / saccade_s
            current = (1 - w) * np.array(targets[k - 1]) + w * current
        gaze[i] = current
    fixations = [
        {"start_s": float(s), "gaze_x": gx, "gaze_y": gy}
        for s, (gx, gy) in zip(starts, targets, strict=True)
    ]
    return gaze, fixations


def _plan_blink(rng: np.random.Generator, n: int, fps: float) -> tuple[np.ndarray, dict[str, Any]]:
    """One blink near the middle: lid factor 1 → 0 → 1 (closing ~100 ms, opening ~150 ms).

    Phases are at least one frame each and at least one frame is fully closed, so even a
    low frame rate shows a closed eye.
    """
    n_close = max(1, int(round(0.10 * fps)))
    n_closed = max(1, int(round(0.07 * fps)))
    n_open = max(1, int(round(0.15 * fps)))
    length = n_close + n_closed + n_open
    lo, hi = int(0.4 * n), int(0.6 * n) - length
    start = int(rng.integers(lo, max(lo, hi) + 1))
    factor = np.ones(n)
    ramp_down = [1.0 - (i + 1) / (n_close + 1) for i in range(n_close)]
    ramp_up = [(i + 1) / (n_open + 1) for i in range(n_open)]
    factor[start : start + length] = ramp_down + [0.0] * n_closed + ramp_up
    info = {
        "start_frame": start,
        "closing_frames": n_close,
        "closed_frames": n_closed,
        "opening_frames": n_open,
        "start_s": start / fps,
        "end_s": (start + length) / fps,
    }
    return factor, info


def _plan_blur(
    rng: np.random.Generator, n: int, blink_factor: np.ndarray, width_px: int
) -> dict[int, dict[str, Any]]:
    """A few frames (about one in 40, 2–6) with motion or defocus blur, away from the blink."""
    n_blur = int(np.clip(round(n / 40), 2, 6))
    blinking = np.flatnonzero(blink_factor < 1.0)
    banned = set(range(int(blinking.min()) - 1, int(blinking.max()) + 2)) | {0, n - 1}
    chosen: list[int] = []
    for i in rng.permutation(n):
        if int(i) in banned or any(abs(int(i) - c) < 3 for c in chosen):
            continue
        chosen.append(int(i))
        if len(chosen) == n_blur:
            break
    kinds = ["motion", "defocus"] if rng.random() < 0.5 else ["defocus", "motion"]
    out: dict[int, dict[str, Any]] = {}
    for j, i in enumerate(sorted(chosen)):
        kind = kinds[j % 2]
        if kind == "motion":
            out[i] = {
                "kind": "motion",
                "length_px": float(np.round(rng.uniform(0.025, 0.035) * width_px, 2)),
                "angle_deg": float(np.round(rng.uniform(0, 180), 2)),
            }
        else:
            out[i] = {
                "kind": "defocus",
                "radius_px": float(np.round(rng.uniform(0.006, 0.009) * width_px, 2)),
            }
    return out


def _droop_schedule(spec: SynthVideoSpec, duration_s: float) -> dict[str, Any]:
    return {
        "side": "left",
        "start_s": spec.droop_start_frac * duration_s,
        "end_s": duration_s,
        "upper_lid_open_start": spec.upper_lid_open_baseline,
        "upper_lid_open_end": spec.upper_lid_open_droop_end,
        "shape": "constant, then linear from start_s to end_s",
        "steady_side": "right",
    }


def _droop_open(droop: dict[str, Any], t: float) -> float:
    t0, t1 = droop["start_s"], droop["end_s"]
    a, b = droop["upper_lid_open_start"], droop["upper_lid_open_end"]
    w = float(np.clip((t - t0) / max(t1 - t0, 1e-9), 0.0, 1.0))
    return a + (b - a) * w


# --------------------------------------------------------------------------- geometry


def similarity_from_points(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The similarity (2, 3) that maps two points exactly onto two others.

    Args:
        src: (2, 2) points (x, y) in the source space.
        dst: (2, 2) matching points in the target space.

    Raises:
        ConfigError: the two source points coincide.
    """
    s = np.asarray(src, dtype=np.float64)
    d = np.asarray(dst, dtype=np.float64)
    zs = complex(*s[1]) - complex(*s[0])
    if abs(zs) < 1e-9:
        raise ConfigError("cannot fit a similarity to two coincident points")
    a = (complex(*d[1]) - complex(*d[0])) / zs
    b = complex(*d[0]) - a * complex(*s[0])
    return np.array([[a.real, -a.imag, b.real], [a.imag, a.real, b.imag]])


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """``outer ∘ inner`` for two (2, 3) affines (apply ``inner`` first)."""
    o = np.vstack([outer, [0.0, 0.0, 1.0]])
    i = np.vstack([inner, [0.0, 0.0, 1.0]])
    return (o @ i)[:2]


def invert(affine: np.ndarray) -> np.ndarray:
    """Inverse of a (2, 3) affine."""
    return np.linalg.inv(np.vstack([affine, [0.0, 0.0, 1.0]]))[:2]


def apply(affine: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map points (N, 2) (or one (2,)) through a (2, 3) affine."""
    p = np.asarray(points, dtype=np.float64)
    return p @ affine[:, :2].T + affine[:, 2]


def similarity_scale(affine: np.ndarray) -> float:
    """Uniform scale of a similarity (2, 3): output px per input px."""
    return float(math.hypot(affine[0, 0], affine[1, 0]))


def head_motion(pose: HeadPose, centre_px: np.ndarray) -> np.ndarray:
    """``frame_from_base`` (2, 3): roll and scale about ``centre_px``, then the shift."""
    angle = math.radians(pose.roll_deg)
    # Image y points down, so a positive roll is clockwise on screen; the sign only has to
    # be consistent, the ground truth goes through the same matrix.
    c, s = pose.scale * math.cos(angle), pose.scale * math.sin(angle)
    cx, cy = float(centre_px[0]), float(centre_px[1])
    return np.array(
        [
            [c, -s, cx - c * cx + s * cy + pose.shift_x_px],
            [s, c, cy - s * cx - c * cy + pose.shift_y_px],
        ]
    )


# --------------------------------------------------------------------------- eyes


def _renderer() -> tuple[Any, Any, Any]:
    # Imported late: the renderer is a sibling module and pulls in OpenCV/scikit-image.
    from ocularseg.synth.params import sample_eye_params, subject_traits
    from ocularseg.synth.render import render_eye

    return subject_traits, sample_eye_params, render_eye


#: Renderer fields switched to "off" so that the whole frame, not each eye crop, gets
#: one consistent set of degradations (blur, noise, compression, lighting).
_NEUTRAL_PHOTOMETRY: dict[str, Any] = {
    "blur_sigma_px": 0.0,
    "noise_sigma": 0.0,
    "jpeg_quality": 0,
    "illumination_strength": 0.0,
    "vignette_strength": 0.0,
    "colour_cast_strength": 0.0,
    "exposure": 1.0,
}

#: Geometry fixed for blending: the eye centred in the crop, the canthal line horizontal
#: (no head roll, no canthal tilt — the photograph's landmarks carry the real tilt), so
#: the crop is roll-corrected along the eye-corner line like the eye-crop stage's crop.
_FIXED_GEOMETRY: dict[str, Any] = {
    "roll_deg": 0.0,
    "canthal_tilt_deg": 0.0,
    "eye_dx_frac": 0.0,
    "eye_dy_frac": 0.0,
    "eye_width_frac": 0.6,
}


@dataclass(frozen=True)
class _EyeSetup:
    """Per-eye constants: renderer params at rest and the blending alpha in crop px."""

    side: str
    params: Any
    alpha_crop: np.ndarray  # float32 (320, 480) in [0, 1]


def _eye_params(base: Any, **changes: Any) -> Any:
    # Fields the renderer's EyeParams lacks are skipped (logged once per name), so a
    # renamed field degrades the blend instead of stopping the video.
    names = {f.name for f in dataclasses.fields(base)}
    for missing in sorted(set(changes) - names - _WARNED_FIELDS):
        _WARNED_FIELDS.add(missing)
        log.warning("EyeParams has no field %r; left at the renderer's value", missing)
    return dataclasses.replace(base, **{k: v for k, v in changes.items() if k in names})


_WARNED_FIELDS: set[str] = set()


def _setup_eyes(
    spec: SynthVideoSpec, face: PhantomFace, base_rgb: np.ndarray
) -> dict[str, _EyeSetup]:
    import cv2

    subject_traits, sample_eye_params, render_eye = _renderer()
    traits = subject_traits(spec.subject_id, spec.seed)
    rng = np.random.default_rng([spec.seed, 0xE7E])
    setups: dict[str, _EyeSetup] = {}
    for side in SIDES:
        sampled = sample_eye_params(traits, side, rng)
        skin = local_skin_rgb(base_rgb, face.landmarks, side)
        params = _eye_params(
            sampled,
            side=side,
            skin_rgb=skin,
            # The photograph's own skin tone around the eye decides the darkening.
            periorbital_darkening=0.0,
            gaze_x=0.0,
            gaze_y=0.0,
            upper_lid_open=1.0,
            # The upper lid tracks vertical gaze exactly, so MRD1 of the steady eye does
            # not move with it (the lower lid keeps the renderer's partial follow).
            upper_lid_follow=1.0,
            # A pupil of ordinary room light; the sampler also draws dilated ones.
            pupil_radius_frac=float(np.clip(sampled.pupil_radius_frac, 0.28, 0.4)),
            **_FIXED_GEOMETRY,
            **_NEUTRAL_PHOTOMETRY,
        )
        # The alpha covers the widest opening the video will show (lid fully open), the
        # photograph's own eye opening (so it disappears under the phantom) and a margin
        # of lid skin and lashes; outside it the face keeps its own skin and brow.
        ref = render_eye(params, width_px=CROP_WIDTH_PX, height_px=CROP_HEIGHT_PX)
        base_from_crop = _base_from_crop(ref.truth, face, side)
        real_eye_crop = apply(invert(base_from_crop), face.landmarks.eye_points_px(side))
        mask = (np.asarray(ref.labels) > 0).astype(np.uint8)
        cv2.fillPoly(mask, [np.round(real_eye_crop).astype(np.int32)], 1)
        canthal_crop = float(
            np.hypot(*np.subtract(ref.truth["medial_canthus_px"], ref.truth["lateral_canthus_px"]))
        )
        margin = max(3, int(round(0.1 * canthal_crop)))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1))
        mask = cv2.dilate(mask, kernel)
        alpha = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 0.45 * margin)
        setups[side] = _EyeSetup(side=side, params=params, alpha_crop=alpha)
    return setups


def _base_from_crop(truth: dict[str, Any], face: PhantomFace, side: str) -> np.ndarray:
    lateral, medial = face.canthi_px(side)  # type: ignore[arg-type]
    src = np.array([truth["lateral_canthus_px"], truth["medial_canthus_px"]], dtype=np.float64)
    return similarity_from_points(src, np.array([lateral, medial]))


# --------------------------------------------------------------------------- frames


@functools.lru_cache(maxsize=4)
def _cached_face(frame_size_px: tuple[int, int]) -> PhantomFace:
    # dlib detection on the photograph takes about a second; tests build several videos.
    return astronaut_face(frame_size_px)


@functools.lru_cache(maxsize=4)
def _cached_setups(spec: SynthVideoSpec) -> dict[str, _EyeSetup]:
    face = _cached_face(tuple(spec.frame_size_px))
    return _setup_eyes(spec, face, face.base_frame())


def _blur_kernel(blur: dict[str, Any]) -> np.ndarray:
    import cv2

    if blur["kind"] == "motion":
        length = max(2.0, float(blur["length_px"]))
        size = int(math.ceil(length)) | 1
        kernel = np.zeros((size, size), np.float32)
        c = size // 2
        angle = math.radians(float(blur["angle_deg"]))
        dx, dy = math.cos(angle) * (length - 1) / 2, math.sin(angle) * (length - 1) / 2
        cv2.line(
            kernel,
            # shift=4: coordinates in 1/16 px, for a sub-pixel line through the centre.
            (int(round((c - dx) * 16)), int(round((c - dy) * 16))),
            (int(round((c + dx) * 16)), int(round((c + dy) * 16))),
            1.0,
            thickness=1,
            lineType=cv2.LINE_AA,
            shift=4,
        )
    else:
        radius = max(1.0, float(blur["radius_px"]))
        size = int(math.ceil(radius)) * 2 + 1
        yy, xx = np.mgrid[:size, :size] - size // 2
        kernel = (np.hypot(xx, yy) <= radius).astype(np.float32)
    return kernel / kernel.sum()


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


def _eye_truth(
    truth: dict[str, Any], frame_from_crop: np.ndarray, plan_open: float
) -> dict[str, Any]:
    """Renderer truth (crop px) expressed in frame px of the final frame."""
    per_crop = similarity_scale(frame_from_crop)  # frame px per crop px
    out: dict[str, Any] = {
        "upper_lid_open": _round(plan_open, 4),
        "eye_closed": bool(truth.get("eye_closed", False)),
        "visible_iris_fraction": _round(truth.get("visible_iris_fraction", float("nan")), 4),
        "scale_crop_per_frame": _round(1.0 / per_crop, 5),
        "crop_from_frame": [[_round(v, 6) for v in row] for row in invert(frame_from_crop)],
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


def render_frames(plan: VideoPlan) -> Iterator[tuple[np.ndarray, dict[str, Any]]]:
    """Draw the planned frames one by one.

    Yields:
        (frame, truth): the frame as RGB uint8 (H, W, 3) and its ground-truth record
        (frame px of this frame; see the module docstring).
    """
    spec = plan.spec
    _, _, render_eye = _renderer()
    face = _cached_face(tuple(spec.frame_size_px))
    setups = _cached_setups(spec)
    width, height = face.frame_size_px
    size = (width, height)
    centre = face.landmarks.points_px[36:48].mean(axis=0)
    for fp in plan.frames:
        frame_from_base = head_motion(fp.head, centre)
        canvas = warp_source(
            face.source_rgb, compose(frame_from_base, face.frame_from_source), size
        ).astype(np.float32)
        eyes: dict[str, Any] = {}
        for side in SIDES:
            setup = setups[side]
            params = _eye_params(
                setup.params,
                gaze_x=fp.gaze_x,
                gaze_y=fp.gaze_y,
                upper_lid_open=fp.upper_lid_open[side],
            )
            eye = render_eye(params, width_px=CROP_WIDTH_PX, height_px=CROP_HEIGHT_PX)
            frame_from_crop = compose(frame_from_base, _base_from_crop(eye.truth, face, side))
            canvas = _blend_phantom(canvas, eye.image, setup.alpha_crop, frame_from_crop, size)
            eyes[side] = _eye_truth(eye.truth, frame_from_crop, fp.upper_lid_open[side])
        yield _finish_frame(canvas, fp, spec), _frame_record(fp, frame_from_base, eyes)


def _blend_phantom(
    canvas: np.ndarray,
    image: np.ndarray,
    alpha_crop: np.ndarray,
    frame_from_crop: np.ndarray,
    size: tuple[int, int],
) -> np.ndarray:
    """``canvas`` (float32 (H, W, 3)) with the phantom crop ``image`` warped in and blended
    by ``alpha_crop``; ``size`` is the frame's (width, height)."""
    import cv2

    per_crop = similarity_scale(frame_from_crop)
    # Low-pass before shrinking (about 1/5 in the default video) so the phantom
    # does not alias, and a little more so it is as soft as the enlarged photo.
    sigma_crop = math.hypot(0.5, _PHANTOM_SOFTNESS_PX) / per_crop
    phantom = cv2.GaussianBlur(np.asarray(image), (0, 0), sigma_crop)
    warped = cv2.warpAffine(
        phantom.astype(np.float32),
        frame_from_crop,
        size,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    alpha = cv2.warpAffine(
        alpha_crop,
        frame_from_crop,
        size,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0.0,
    )[..., None]
    return canvas * (1.0 - alpha) + warped * alpha


def _finish_frame(canvas: np.ndarray, fp: FramePlan, spec: SynthVideoSpec) -> np.ndarray:
    """The frame's blur and sensor noise, then RGB uint8 (H, W, 3)."""
    import cv2

    if fp.blur is not None:
        canvas = cv2.filter2D(canvas, -1, _blur_kernel(fp.blur), borderType=cv2.BORDER_REFLECT101)
    if spec.noise_sigma > 0:
        noise_rng = np.random.default_rng([spec.seed, 0x401, fp.index])
        canvas = canvas + noise_rng.normal(0.0, spec.noise_sigma, canvas.shape).astype(np.float32)
    return np.clip(np.round(canvas), 0, 255).astype(np.uint8)


def _frame_record(
    fp: FramePlan, frame_from_base: np.ndarray, eyes: dict[str, Any]
) -> dict[str, Any]:
    """Ground-truth record of one frame (``eyes``: per side, from ``_eye_truth``)."""
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
        "frame_from_base": [[_round(v, 6) for v in row] for row in frame_from_base],
        "eyes": eyes,
    }


#: Extra Gaussian softness of the phantom in frame px, matching the enlarged photograph.
_PHANTOM_SOFTNESS_PX = 0.9


# --------------------------------------------------------------------------- files


def ground_truth_path(video_path: str | os.PathLike[str]) -> Path:
    """The ground-truth file written beside ``video_path`` (same name, ``.json``)."""
    return Path(video_path).with_suffix(".json")


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
        records = _encode_frames(tmp, out, plan)
        decoded = count_video_frames(tmp)
        if decoded != spec.frame_count:
            raise ReportError(
                f"{out}: wrote {spec.frame_count} frames but OpenCV reads back {decoded}"
            )
        face = _cached_face(tuple(spec.frame_size_px))
        text = _dump_gt(_ground_truth(spec, plan, face, out, records))
        write_text_atomic(gt_path, text)
    log.info("wrote %s (%d frames) and %s", out, spec.frame_count, gt_path)
    return json.loads(text)


def _encode_frames(tmp: Path, out: Path, plan: VideoPlan) -> list[dict[str, Any]]:
    """Render ``plan`` into the video file ``tmp`` (for ``out``); return the frame records.

    Raises:
        ReportError: OpenCV cannot open a video writer.
    """
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


def _ground_truth(
    spec: SynthVideoSpec,
    plan: VideoPlan,
    face: PhantomFace,
    out: Path,
    records: list[dict[str, Any]],
) -> dict[str, Any]:
    width, height = spec.frame_size_px
    return {
        "format": GT_FORMAT,
        "version": GT_VERSION,
        "video": {
            "file": out.name,
            "codec": VIDEO_FOURCC,
            "fps": spec.fps,
            "frame_count": spec.frame_count,
            "duration_s": spec.frame_count / spec.fps,
            "width_px": int(width),
            "height_px": int(height),
            "seed": spec.seed,
        },
        "spec": dataclasses.asdict(spec),
        "schedule": plan.schedule,
        "source": {
            **face.attribution,
            "frame_from_source": [[_round(v, 6) for v in row] for row in face.frame_from_source],
        },
        "base_landmarks_px": _points(face.landmarks.points_px),
        "base_landmarks_detector_score": face.landmarks.detector_score,
        "eye_params": {
            side: dataclasses.asdict(setup.params) for side, setup in _cached_setups(spec).items()
        },
        "eye_params_note": "renderer EyeParams per side at rest; each frame replaces gaze_x, "
        "gaze_y and upper_lid_open with the frame's values",
        "conventions": {
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
        },
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


def _dump_gt(gt: dict[str, Any]) -> str:
    # Header pretty-printed with number arrays on one line, then one compact line per
    # frame: readable, diff-friendly and small enough to keep in the repository.
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
