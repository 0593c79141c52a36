"""The plan of a phantom face video: its spec and, per frame, head motion, gaze, blink, blur.

Everything a phantom video shows is decided here before anything is drawn
(:func:`plan_video`), from ``SynthVideoSpec.seed`` through one generator drawn in a fixed
order. ``head_motion`` turns a frame's :class:`HeadPose` into the ``frame_from_base``
similarity (frame px). Rendering lives in ``synth.frames``, the ground truth in
``synth.video_truth``, the file writing in ``synth.video``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ocularseg.core.errors import ConfigError
from ocularseg.synth.affine import similarity_about

MIN_FRAMES = 12
MAX_FRAMES = 18_000


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


def head_motion(pose: HeadPose, centre_px: np.ndarray) -> np.ndarray:
    """``frame_from_base`` (2, 3): roll and scale about ``centre_px``, then the shift."""
    return similarity_about(
        centre_px, pose.roll_deg, pose.scale, (pose.shift_x_px, pose.shift_y_px)
    )
