"""``analyze`` and the real-set evaluation measure one crop the same way (issue 18).

The analysis segments crops and their mirrors in one pass (``segment_with_mirror``) and
keeps its eyes packed; the evaluation segments them separately and calls
``stages.eye.run_eye_chain`` with the stage defaults. Same crop, same numbers.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from ocularseg.io.background import BackgroundWriter
from ocularseg.pipeline.config import AnalyzeConfig
from ocularseg.pipeline.frames import FrameStats, _Looker
from ocularseg.pipeline.process import _measure_batch, _segment_batch, _Timer
from ocularseg.stages.eye import run_eye_chain
from ocularseg.stages.face import FaceDetector
from ocularseg.stages.landmark_gate import eye_points_in_crop
from ocularseg.stages.quality import mirror, mirror_points
from ocularseg.stages.segment import Segmenter

REPO = Path(__file__).resolve().parents[2]


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.slow
@pytest.mark.parametrize("side_index", [0, 1])
def test_analyze_and_evaluation_give_the_same_eye(astronaut, tmp_path, side_index):
    from ocularseg.core.containers import Frame

    config = AnalyzeConfig(save_crops=False)
    segmenter = Segmenter(REPO / "models" / "ocularseg-unet-real", device="cpu")
    frame = _Looker(FaceDetector(), config, FrameStats()).look(
        Frame("astronaut", 0, 0.0, astronaut)
    )
    assert frame is not None
    with BackgroundWriter() as writer:
        timer = _Timer()
        segmented = _segment_batch([frame], segmenter, config, timer)
        analysed = _measure_batch(segmented, config, tmp_path, writer, timer)
    eye = analysed[side_index]

    crop = frame.crops[side_index]
    outline = eye_points_in_crop(frame.face.eye_points_px(crop.side), crop.crop_from_frame)
    seg = segmenter.segment([crop.image], [outline])[0]
    seg_mirror = segmenter.segment(
        [mirror(crop.image)], [mirror_points(outline, crop.image.shape[1])]
    )[0]
    # The stage defaults (measure and landmark_gate left None), as the docstring says.
    reference = run_eye_chain(
        seg, crop.image, crop.side, crop.scale_crop_per_frame, outline, mirrored=seg_mirror
    )
    assert eye.side == crop.side
    np.testing.assert_array_equal(eye.labels.unpack(), reference.labels)
    assert eye.measurement.flags == reference.measurement.flags
    values, expected = eye.measurement.values, reference.measurement.values
    assert values.keys() == expected.keys()
    assert all(_same(values[k], expected[k]) for k in values), {
        k: (values[k], expected[k]) for k in values if not _same(values[k], expected[k])
    }
    assert math.isfinite(values["mrd1_mm"])  # a real measurement, not two empty ones
    assert eye.mirror_agreement == reference.mirror_agreement
    assert eye.quality == reference.quality
    assert eye.gates_failed == reference.gates_failed
