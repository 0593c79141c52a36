"""The bundled default model on a real face, and what its folder may be shared with.

The astronaut (scikit-image, NASA, public domain) is a real photograph that none of the
model's training or development data comes from. A clinician running ``ocularseg analyze``
on it expects both eyes measured with plausible numbers; the phantom-only model that
shipped before failed exactly this (skin labelled sclera, no eye measured).
"""

from __future__ import annotations

import json
import math

import pytest

from ocularseg.io.images import write_image_atomic
from ocularseg.pipeline.config import DEFAULT_MODEL_NAME
from ocularseg.pipeline.run import run_analysis
from tests.conftest import REPO_ROOT

MODEL_DIR = REPO_ROOT / "models" / DEFAULT_MODEL_NAME


def test_default_model_folder_is_verifiable_and_shareable() -> None:
    from ocularseg.io.model_store import sha256_file

    meta = json.loads((MODEL_DIR / "model.json").read_text(encoding="utf-8"))
    assert sha256_file(MODEL_DIR / meta["onnx_file"]) == meta["sha256"]
    card = (MODEL_DIR / "MODEL_CARD.md").read_text(encoding="utf-8")
    # The card carries the real-data numbers, not only phantom ones.
    assert "Real development set" in card
    # No machine paths leak into a folder that is meant to be shared.
    for path in MODEL_DIR.rglob("*"):
        if path.is_file() and path.suffix in {".json", ".md", ".csv", ".txt"}:
            text = path.read_text(encoding="utf-8")
            assert "/work/" not in text and "/home/" not in text, path


@pytest.mark.slow
def test_default_model_measures_both_eyes_of_a_real_face(tmp_path, astronaut) -> None:
    write_image_atomic(tmp_path / "face.png", astronaut)
    result = run_analysis([tmp_path / "face.png"], tmp_path / "out")
    rows = {row.side: row for row in result.rows}
    assert set(rows) == {"right", "left"}
    for side, row in rows.items():
        assert row.exclusion_reasons() == [], (side, row.exclusion_reasons())
        mrd1 = row.value("mrd1_mm")
        # An open, normal adult eye: MRD1 about 3-5 mm, most of the iris visible.
        assert math.isfinite(mrd1) and 1.0 < mrd1 < 7.0, (side, mrd1)
        assert row.value("visible_iris_fraction") > 0.6, side
