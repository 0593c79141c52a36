"""Inputs for pipeline tests: real face images/videos made from the astronaut photograph."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.pipeline.media_helpers import write_video


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    import cv2
    from skimage import data

    # Enlarged 3×: in the 512 px original the eyes are ~17 px wide, below the quality
    # gates' 40 px minimum (1 px would be ~0.7 mm at the lid).
    return np.ascontiguousarray(
        cv2.resize(data.astronaut(), None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
    )


@pytest.fixture(scope="session")
def face_inputs(tmp_path_factory, astronaut) -> dict[str, Path]:
    """Good and bad input files, made once per session."""
    from ocularseg.io.images import write_image_atomic

    root = tmp_path_factory.mktemp("inputs")
    good = root / "clinic" / "patient-a"
    good.mkdir(parents=True)
    write_image_atomic(good / "face.png", astronaut)
    write_image_atomic(good / "face.jpg", astronaut)
    frames = [np.roll(astronaut, shift, axis=1) for shift in range(0, 12, 2)]
    write_video(good / "clip.mp4", frames)
    bad = root / "bad"
    bad.mkdir()
    (bad / "empty.mp4").write_bytes(b"")
    (bad / "notes.mp4").write_text("this is a text file, not a video\n")
    data = (good / "clip.mp4").read_bytes()
    (bad / "truncated.mp4").write_bytes(data[: len(data) // 3])
    from skimage import data as skdata

    write_image_atomic(bad / "coffee.png", np.ascontiguousarray(skdata.coffee()))
    return {
        "good_dir": good,
        "png": good / "face.png",
        "jpg": good / "face.jpg",
        "video": good / "clip.mp4",
        "empty": bad / "empty.mp4",
        "text": bad / "notes.mp4",
        "truncated": bad / "truncated.mp4",
        "no_face": bad / "coffee.png",
    }
