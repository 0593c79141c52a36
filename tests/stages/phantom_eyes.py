"""Rendered phantom eyes with exact truth and a dlib-like landmark outline, for stage tests."""

from __future__ import annotations

import dataclasses

import numpy as np

from ocularseg.synth.dataset import sample_params
from ocularseg.synth.params import EyeParams
from ocularseg.synth.render import RenderedEye, render_eye

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


def outline_from_truth(truth: dict) -> np.ndarray:
    """Six dlib-like eye points (crop px) from a phantom's exact lids and canthi.

    dlib order: p1 and p4 are the canthi (image left, image right), p2 and p3 on the upper
    lid at 1/3 and 2/3 of the way across, p5 and p6 on the lower lid (right to left).
    """
    upper = np.asarray(truth["upper_lid_px"], dtype=np.float64)
    lower = np.asarray(truth["lower_lid_px"], dtype=np.float64)
    corners = np.array([truth["medial_canthus_px"], truth["lateral_canthus_px"]])
    left, right = corners[np.argsort(corners[:, 0])]
    width = right[0] - left[0]

    def on(curve: np.ndarray, x: float) -> list[float]:
        order = np.argsort(curve[:, 0])
        return [x, float(np.interp(x, curve[order, 0], curve[order, 1]))]

    xs = (left[0] + width / 3.0, left[0] + 2.0 * width / 3.0)
    return np.array(
        [left, on(upper, xs[0]), on(upper, xs[1]), right, on(lower, xs[1]), on(lower, xs[0])]
    )
