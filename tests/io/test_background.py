"""Image writes on worker threads: every file lands, and a failed write is not lost."""

from __future__ import annotations

import numpy as np
import pytest

from ocularseg.core.errors import ReportError
from ocularseg.io.background import BackgroundWriter
from ocularseg.io.images import decode_png, encode_png, read_image_rgb


def test_background_pngs_land_and_match_their_arrays(tmp_path):
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (20, 30, 3), dtype=np.uint8) for _ in range(100)]
    with BackgroundWriter(threads=2) as writer:
        for i, image in enumerate(images):
            writer.png(tmp_path / "sub" / f"{i}.png", encode_png(image))
    for i, image in enumerate(images):
        np.testing.assert_array_equal(read_image_rgb(tmp_path / "sub" / f"{i}.png"), image)
        np.testing.assert_array_equal(decode_png(encode_png(image)), image)


def test_a_failed_write_surfaces_when_the_writer_closes(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    writer = BackgroundWriter()
    writer.png(blocker / "x.png", encode_png(np.zeros((4, 4), np.uint8)))
    with pytest.raises((ReportError, OSError)):
        writer.close()
