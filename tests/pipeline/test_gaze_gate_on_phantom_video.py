"""A phantom video whose eyes look far to the side: those frames are excluded as such.

In extreme sideways gaze the corner hides one side of the limbus and the iris circle comes
out too large, so MRD1 reads more than a millimetre low with a high quality signal (issue
20). ``synth-video`` seed 91 (6 s at 5 fps) fixates straight ahead, then far to the image
left — the patient's right eye looks laterally — then straight ahead again; its ground
truth gives every frame's gaze and MRD1.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from ocularseg.core.records import Gate
from ocularseg.pipeline.config import AnalyzeConfig
from ocularseg.pipeline.run import run_analysis
from ocularseg.synth.motion import SynthVideoSpec
from ocularseg.synth.video import write_synth_video

IRIS_MM = 11.7
SPEC = SynthVideoSpec(seconds=6.0, fps=5.0, seed=91)


@pytest.mark.slow
def test_frames_in_extreme_side_gaze_are_excluded_as_gaze(tmp_path) -> None:
    video = tmp_path / "side_gaze.mp4"
    write_synth_video(video, SPEC)
    truth = {f["index"]: f for f in json.loads(video.with_suffix(".json").read_text())["frames"]}
    far = [i for i, f in truth.items() if f["gaze"]["x"] <= -0.45]
    assert len(far) >= 10, "the plan no longer looks far to the side; pick another seed"
    result = run_analysis(
        [video], tmp_path / "out", AnalyzeConfig(fps=SPEC.fps, overlays=False, save_crops=False)
    )
    right = {row.frame_index: row for row in result.rows if row.side == "right"}
    wrong = []
    for index in far:
        row, eye = right.get(index), truth[index]["eyes"]["right"]
        if row is None or eye.get("mrd1_px") is None:
            continue
        true_mm = eye["mrd1_px"] * IRIS_MM / (2 * eye["iris_radius_px"])
        if np.isfinite(row.value("mrd1_mm")) and row.value("mrd1_mm") < true_mm - 1.0:
            wrong.append(row)
    # The failure the gate is for happens here, and each such frame carries its name.
    assert wrong
    assert all(Gate.GAZE_SIDEWAYS in row.gates_failed for row in wrong)
    ahead = [row for row in result.rows if truth[row.frame_index]["gaze"]["x"] == 0.0]
    assert ahead and not any(Gate.GAZE_SIDEWAYS in row.gates_failed for row in ahead)
