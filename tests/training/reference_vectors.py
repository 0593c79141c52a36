"""The loss reference vectors: ``data/loss_vectors.json``, the repository's copy of the shared
reference file plus a ``provenance`` block per method (``test_reference_copy`` checks that the
two are byte-identical with those blocks left out; ``data/README.md`` says how to rebuild)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

COPY = Path(__file__).resolve().parent / "data" / "loss_vectors.json"


def reference_vectors(loss: str) -> dict:
    """The reference entry of one loss (``"projected_pooling"``, ``"region_wise"``)."""
    return json.loads(COPY.read_text())[loss]


def concentric_labels(batch: int, size: list[int], radii: list[float], shift=None) -> np.ndarray:
    """The input protocol's concentric labels: (B, 1, *S), label = Σ_j [r ≤ radii[j]]."""
    shift = shift or [[0.0] * len(size)] * batch
    grid = np.indices(size).astype(float)
    out = np.zeros((batch, 1, *size), dtype=np.int64)
    for b in range(batch):
        centre = [(s - 1) / 2 + shift[b][d] for d, s in enumerate(size)]
        r = np.sqrt(sum((grid[d] - centre[d]) ** 2 for d in range(len(size))))
        out[b, 0] = sum((r <= radius).astype(np.int64) for radius in radii)
    return out
