"""Phantom face videos with exact per-frame ground truth (``ocularseg synth-video``).

A real face (scikit-image's astronaut photograph, see ``synth.face``) gets two phantom
eyes from ``synth.render`` blended in at dlib's eye landmarks, and is animated: small head
motion, gaze changes, one blink, a few blurred frames and the patient's LEFT upper lid
slowly drooping (a fatigability test) while the RIGHT eye stays steady.

The work is split by concern; this module gathers the public names in one place:

* ``synth.motion``: the spec and the per-frame plan (head motion, gaze, blink, blur, droop);
* ``synth.affine``: the 2-D affine algebra (similarities between base, crop and frame px);
* ``synth.frames``: the eye set-up and the drawing of each frame;
* ``synth.video_truth``: the per-frame ground truth and the JSON file's layout;
* ``synth.encode``: the MPEG-4 file and its ground truth, written atomically.
"""

from __future__ import annotations

from ocularseg.synth.affine import apply, compose, invert, similarity_from_points, similarity_scale
from ocularseg.synth.encode import (
    VIDEO_FOURCC,
    VIDEO_SUFFIX,
    count_video_frames,
    write_synth_video,
)
from ocularseg.synth.frames import (
    _base_from_crop,
    _cached_face,
    _cached_setups,
    _eye_params,
    _renderer,
    render_frames,
)
from ocularseg.synth.motion import (
    MAX_FRAMES,
    MIN_FRAMES,
    FramePlan,
    HeadPose,
    SynthVideoSpec,
    VideoPlan,
    head_motion,
    plan_video,
)
from ocularseg.synth.video_truth import (
    GT_FORMAT,
    GT_VERSION,
    ground_truth_path,
    read_ground_truth,
)

__all__ = [
    "GT_FORMAT",
    "GT_VERSION",
    "MAX_FRAMES",
    "MIN_FRAMES",
    "VIDEO_FOURCC",
    "VIDEO_SUFFIX",
    "FramePlan",
    "HeadPose",
    "SynthVideoSpec",
    "VideoPlan",
    "_base_from_crop",
    "_cached_face",
    "_cached_setups",
    "_eye_params",
    "_renderer",
    "apply",
    "compose",
    "count_video_frames",
    "ground_truth_path",
    "head_motion",
    "invert",
    "plan_video",
    "read_ground_truth",
    "render_frames",
    "similarity_from_points",
    "similarity_scale",
    "write_synth_video",
]
