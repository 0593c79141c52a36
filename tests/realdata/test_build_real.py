"""The real-set builder on a package-shipped real face (scikit-image's astronaut).

The end-to-end test runs the real teacher (MediaPipe 0.10.14 in its own environment,
``.venv-teacher`` at the repository root or ``OCULARSEG_TEACHER_PYTHON``); CI creates it.
It is skipped, saying why, where that environment does not exist.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from ocularseg.core.containers import FaceLandmarks
from ocularseg.core.labels import Label
from ocularseg.data.manifest import ManifestRow, read_manifest
from ocularseg.io.images import read_image_rgb, read_image_unchanged
from ocularseg.pipeline.evaluate_real import region_maps
from ocularseg.realdata.build import _split_per_source, build_real_set, match_teacher_face
from tests.conftest import REPO_ROOT


def _teacher_python() -> Path | None:
    from ocularseg.realdata.build import main_teacher_available

    candidate = Path(
        os.environ.get("OCULARSEG_TEACHER_PYTHON", REPO_ROOT / ".venv-teacher" / "bin" / "python")
    )
    return candidate if candidate.exists() and main_teacher_available(str(candidate)) else None


TEACHER = _teacher_python()


def _astronaut_sources(tmp_path: Path) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(
        """
sources:
  - name: astronaut
    kind: skimage
    include: ["astronaut"]
    licence: public-domain
    evidence: "scikit-image data README: NASA, public domain"
""",
        encoding="utf-8",
    )
    return path


@pytest.mark.slow
@pytest.mark.skipif(TEACHER is None, reason="no teacher environment (.venv-teacher with mediapipe)")
def test_builds_analyze_crops_with_silver_labels_from_the_teacher(tmp_path: Path) -> None:
    import skimage.data

    from ocularseg.stages.crop import crop_eye
    from ocularseg.stages.face import FaceDetector

    out = tmp_path / "real"
    report = build_real_set(
        _astronaut_sources(tmp_path),
        out,
        mirrors=None,
        teacher_python=TEACHER,
        fractions=(0.0, 0.0, 1.0),
    )
    assert report.eyes["kept"] == 2 and report.eyes["kept_open"] == 2
    rows = read_manifest(out)
    assert {r.stem.rsplit("_", 1)[1] for r in rows} == {"right", "left"}
    assert {r.split for r in rows} == {"test"}
    image = skimage.data.astronaut()
    face = FaceDetector().detect(image)
    for row in rows:
        meta = json.loads((out / row.meta).read_text())
        assert meta["licence"] == "public-domain"
        # Exactly the crop analyze would make from this photo.
        expected = crop_eye(image, face, meta["side"]).image
        assert np.array_equal(read_image_rgb(out / row.image), expected)
        silver = read_image_unchanged(out / row.mask)
        opening_map, split_map = region_maps(silver)
        opening, disc = opening_map > 0, split_map == 2
        # The teacher's opening lies around dlib's eye polygon, and its iris is a
        # plausible adult iris: 40–55 % of the eye width wide, mostly visible.
        dlib_pts = np.asarray(meta["dlib_eye_points_crop_px"])
        centre = dlib_pts.mean(axis=0).round().astype(int)
        assert opening[centre[1], centre[0]]
        width = np.hypot(*(dlib_pts[3] - dlib_pts[0]))
        radius = meta["teacher"]["iris_radius_crop_px"]
        assert 0.35 < 2 * radius / width < 0.65
        assert 0.6 < disc.sum() / (np.pi * radius**2) <= 1.0
        # The second (image) teacher ran on the crop: this face is small in the photo
        # (an enlarged, soft crop), so no pupil is guessed, and the disc beyond the
        # largest pupil is iris in any eye.
        pupil = meta["silver_image"]["pupil"]
        assert not pupil["found"] and pupil["reason"] == "too_small"
        assert not (silver == Label.PUPIL).any()
        assert (silver == Label.IRIS).any()
    assert (out / "contact" / "page_001.png").is_file()
    assert "public-domain" in (out / "LICENCES.md").read_text()


def test_the_teacher_face_matching_dlib_is_chosen() -> None:
    points = np.zeros((68, 2))
    points[[36, 39, 42, 45]] = [[100, 100], [140, 100], [180, 100], [220, 100]]
    dlib = FaceLandmarks(points, (0, 0, 300, 300), 1.0)
    near = np.zeros((478, 2))
    near[[33, 133, 263, 362]] = [[102, 101], [139, 99], [221, 100], [181, 100]]
    far = near + 200
    assert match_teacher_face([far.tolist(), near.tolist()], dlib) is not None
    assert np.allclose(match_teacher_face([far.tolist(), near.tolist()], dlib), near)
    assert match_teacher_face([far.tolist()], dlib) is None


def test_people_stay_in_one_split_across_sources() -> None:
    rows = [
        ManifestRow(f"images/{g}{i}.png", f"masks/{g}{i}.png", f"london:{i:03d}", g)
        for g in ("london-neutral", "london-smiling")
        for i in range(40)
    ]
    split = _split_per_source(rows, (0.5, 0.1, 0.4), seed=0)
    by_person: dict[str, set[str]] = {}
    for row in split:
        by_person.setdefault(row.subject, set()).add(row.split)
    assert all(len(s) == 1 for s in by_person.values())
    assert {r.split for r in split} == {"train", "val", "test"}
