"""Landmark-like eye outlines for phantoms: where dlib's six eye points would sit.

Real crops get their eye outline from dlib's 68-point model (points 36–41 / 42–47); a
rendered phantom has no face, so its outline is placed on the phantom's exact lids: the
two canthi, two points on the upper lid at 1/3 and 2/3 of the way across, two on the lower
lid. The quality gates and the quality signal (``stages.gates``, ``stages.quality``) can then
be exercised and benchmarked on phantoms with exact truth.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ocularseg.core.errors import InputError


def outline_from_truth(truth: Mapping[str, Any]) -> np.ndarray:
    """Six dlib-ordered eye points (6, 2) in crop px from a phantom's truth.

    Args:
        truth: ``render_eye(...).truth`` (``upper_lid_px``, ``lower_lid_px``,
            ``medial_canthus_px``, ``lateral_canthus_px`` in crop px).

    Returns:
        (x, y) points: p1 and p4 the canthi (image left, image right), p2 and p3 on the
        upper lid at 1/3 and 2/3 of the canthus-to-canthus width, p5 and p6 on the lower
        lid (right to left), as dlib orders them.

    Raises:
        InputError: the truth lacks the lids or canthi (e.g. a closed eye's empty curves).
    """
    try:
        upper = np.asarray(truth["upper_lid_px"], dtype=np.float64).reshape(-1, 2)
        lower = np.asarray(truth["lower_lid_px"], dtype=np.float64).reshape(-1, 2)
        corners = np.array([truth["medial_canthus_px"], truth["lateral_canthus_px"]], float)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"phantom truth lacks lids or canthi: {exc}") from exc
    if len(upper) < 2 or len(lower) < 2:
        raise InputError("phantom truth has no lid curves")
    left, right = corners[np.argsort(corners[:, 0])]
    width = right[0] - left[0]

    def on(curve: np.ndarray, x: float) -> list[float]:
        order = np.argsort(curve[:, 0])
        return [x, float(np.interp(x, curve[order, 0], curve[order, 1]))]

    xs = (left[0] + width / 3.0, left[0] + 2.0 * width / 3.0)
    return np.array(
        [left, on(upper, xs[0]), on(upper, xs[1]), right, on(lower, xs[1]), on(lower, xs[0])]
    )
