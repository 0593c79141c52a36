"""The loss reference vectors the tests use are the project's shared reference file.

``tests/training/data/loss_vectors.json`` is a copy, so the reference tests never skip for want
of ``../shared``; where the shared folder is present (the development machines and CI), the
copy must equal it, so an updated reference cannot be missed. The copy adds a ``provenance``
block per method (where each method's values come from, written by
``data/rebuild_loss_vectors.py``); the comparison leaves those blocks out and is otherwise
byte for byte (both files are ``json.dumps(..., indent=1)``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.training.reference_vectors import COPY, reference_vectors

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "loss_vectors.json"
METHODS = ("projected_pooling", "region_wise")


def without_provenance(text: str) -> str:
    """The file re-serialised as written, each method's ``provenance`` block left out."""
    data = json.loads(text)
    for method in METHODS:
        data.get(method, {}).pop("provenance", None)
    return json.dumps(data, indent=1)


def test_copy_holds_every_loss_with_cases() -> None:
    for loss in METHODS:
        assert reference_vectors(loss)["cases"], f"{COPY}: no {loss} cases"


def test_copy_says_where_each_method_comes_from() -> None:
    for loss in METHODS:
        provenance = reference_vectors(loss)["provenance"]
        assert {"repository", "commit", "file", "functions", "licence", "rebuilt"} <= set(
            provenance
        ), f"{COPY}: {loss} provenance incomplete"
        assert len(provenance["commit"]) == 40


def test_copy_is_written_as_the_rebuild_script_writes_it() -> None:
    text = COPY.read_text()
    assert text == json.dumps(json.loads(text), indent=1)


def test_copy_is_the_shared_reference() -> None:
    if not SHARED.is_file():
        pytest.skip(f"no shared reference folder at {SHARED.parent} to compare the copy with")
    assert without_provenance(COPY.read_text()) == without_provenance(SHARED.read_text()), (
        f"{COPY} differs from {SHARED} (provenance blocks aside): copy the shared file over it "
        "and keep the provenance blocks, or rebuild (tests/training/data/README.md)"
    )
