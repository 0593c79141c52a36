"""Key frames of the bundled phantom video avoid its blink and its blurred frames."""

from __future__ import annotations

import json

import pytest

from ocularseg.io.video import iter_frames
from ocularseg.stages.face import FaceDetector
from ocularseg.stages.keyframes import score_frame, select_keyframes


@pytest.mark.slow
def test_keyframes_skip_blink_and_blur(repo_root):
    video = repo_root / "sample_data" / "phantom_video.mp4"
    truth = json.loads(video.with_suffix(".json").read_text())
    bad = {f["index"] for f in truth["frames"] if f["blink"] or f["blurred"]}
    assert bad  # the video does contain a blink and blurred frames
    detector = FaceDetector()
    scores = [
        score_frame(f.index, f.timestamp_s, f.image, detector.detect(f.image))
        for f in iter_frames(video)
    ]
    chosen = [scores[i].index for i in select_keyframes(scores, 8)]
    assert len(chosen) == 8
    assert not set(chosen) & bad, f"chose blink/blurred frames {sorted(set(chosen) & bad)}"
    times = [scores[i].timestamp_s for i in select_keyframes(scores, 8)]
    assert times[-1] - times[0] > 0.6 * truth["video"]["duration_s"]  # spread over the video
