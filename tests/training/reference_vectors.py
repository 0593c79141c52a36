"""The loss reference vectors: ``data/loss_vectors.json``, the repository's copy of the shared
reference file (``test_reference_copy`` checks that the two are byte-identical)."""

from __future__ import annotations

import json
from pathlib import Path

COPY = Path(__file__).resolve().parent / "data" / "loss_vectors.json"


def reference_vectors(loss: str) -> dict:
    """The reference entry of one loss (``"projected_pooling"``, ``"region_wise"``)."""
    return json.loads(COPY.read_text())[loss]
