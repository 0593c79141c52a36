"""The sample video's drooping eye: a shared iris radius keeps low MRD1 from reading high.

When the lid covers the top of the iris, the free circle fit comes out small and low and
MRD1 reads high — towards "no ptosis". With the radius of the recording's fully visible
irises, the frames of the drooping left eye with a true MRD1 under 2.5 mm must read closer
to the exact truth written by ``synth-video``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from ocularseg.pipeline.config import AnalyzeConfig
from ocularseg.pipeline.run import run_analysis
from ocularseg.stages.measure import MeasureParams
from ocularseg.stages.shared_radius import FLAG_IRIS_RADIUS_SHARED, SharedRadiusParams

IRIS_MM = 11.7


def _low_mrd1_errors(rows, truth) -> tuple[list[float], list]:
    errors, shared = [], []
    for row in rows:
        eye = truth[row.frame_index]["eyes"][row.side]
        if eye.get("mrd1_px") is None or not np.isfinite(row.value("mrd1_mm")):
            continue
        true_mm = eye["mrd1_px"] * IRIS_MM / (2 * eye["iris_radius_px"])
        if row.side == "left" and true_mm < 2.5 and not row.gates_failed:
            errors.append(row.value("mrd1_mm") - true_mm)
        if FLAG_IRIS_RADIUS_SHARED in row.flags:
            shared.append(row)
    return errors, shared


@pytest.mark.slow
def test_shared_radius_brings_the_drooping_eye_towards_truth(repo_root, tmp_path):
    video = repo_root / "sample_data" / "phantom_video.mp4"
    truth = {f["index"]: f for f in json.loads(video.with_suffix(".json").read_text())["frames"]}
    base = {"fps": 4.0, "overlays": False, "save_crops": False}
    with_sharing = run_analysis([video], tmp_path / "shared", AnalyzeConfig(**base))
    without = run_analysis(
        [video],
        tmp_path / "free",
        AnalyzeConfig(
            **base, measure=MeasureParams(shared_radius=SharedRadiusParams(enabled=False))
        ),
    )
    shared_errors, shared_rows = _low_mrd1_errors(with_sharing.rows, truth)
    free_errors, free_rows = _low_mrd1_errors(without.rows, truth)
    assert not free_rows
    assert shared_rows and {row.side for row in shared_rows} == {"left"}
    # The radius is the open right eye's, of the same moment (the head moves ±2 %).
    right = {r.frame_index: r for r in with_sharing.rows if r.side == "right"}
    for row in shared_rows:
        other = right[row.frame_index].value("iris_radius_frame_px")
        assert row.value("iris_radius_frame_px") == pytest.approx(other, rel=0.02)
    assert len(shared_errors) >= 5
    # Free fits read the droopy lid high (towards "no ptosis"); the shared radius does not.
    assert np.mean(free_errors) > 0.08
    assert abs(np.mean(shared_errors)) < np.mean(free_errors) / 2
