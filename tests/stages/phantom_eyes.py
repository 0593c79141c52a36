"""Rendered phantom eyes with exact truth, for stage tests (outline: ``synth.landmarks``)."""

from __future__ import annotations

import dataclasses

from ocularseg.synth.dataset import sample_params
from ocularseg.synth.landmarks import outline_from_truth
from ocularseg.synth.params import EyeParams
from ocularseg.synth.render import RenderedEye, render_eye

__all__ = ["BASE_SEED", "outline_from_truth", "phantom"]

#: A phantom with a normal, open eye in primary gaze (seeded, so always the same picture).
BASE_SEED = 11


def phantom(**changes: object) -> tuple[EyeParams, RenderedEye]:
    """Render phantom 0 of ``BASE_SEED`` with ``changes`` applied to its parameters.

    By default the eye is open (``upper_lid_open`` 0.78), in primary gaze, without roll,
    so every gate passes; pass e.g. ``gaze_y=1.0`` or ``upper_lid_open=0.0``.
    """
    params = sample_params(0, seed=BASE_SEED, n_subjects=1)
    base = {
        "gaze_x": 0.0,
        "gaze_y": 0.0,
        "upper_lid_open": 0.78,
        "roll_deg": 0.0,
        "canthal_tilt_deg": 0.0,
        "eye_dx_frac": 0.0,
        "eye_dy_frac": 0.0,
        "eye_width_frac": 0.6,
        "side": "right",
    }
    params = dataclasses.replace(params, **{**base, **changes})
    return params, render_eye(params)
