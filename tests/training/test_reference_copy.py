"""The loss reference vectors the tests use are the project's shared reference file.

``tests/training/data/loss_vectors.json`` is a copy, so the reference tests never skip for want
of ``../shared``; where the shared folder is present (the development machines and CI), the
copy must be byte-identical to it, so an updated reference cannot be missed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.training.reference_vectors import COPY, reference_vectors

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "loss_vectors.json"


def test_copy_holds_every_loss_with_cases() -> None:
    for loss in ("projected_pooling", "region_wise"):
        assert reference_vectors(loss)["cases"], f"{COPY}: no {loss} cases"


def test_copy_is_the_shared_reference() -> None:
    if not SHARED.is_file():
        pytest.skip(f"no shared reference folder at {SHARED.parent} to compare the copy with")
    assert COPY.read_bytes() == SHARED.read_bytes(), (
        f"{COPY} differs from {SHARED}: copy the shared file over it"
    )
