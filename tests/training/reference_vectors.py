"""The loss reference vectors: ``data/loss_vectors.json``, the repository's copy of the shared
reference file plus a ``provenance`` block per method (``test_reference_copy`` checks that the
two are byte-identical with those blocks left out; ``data/README.md`` says how to rebuild)."""

from __future__ import annotations

import json
from pathlib import Path

COPY = Path(__file__).resolve().parent / "data" / "loss_vectors.json"


def reference_vectors(loss: str) -> dict:
    """The reference entry of one loss (``"projected_pooling"``, ``"region_wise"``)."""
    return json.loads(COPY.read_text())[loss]
