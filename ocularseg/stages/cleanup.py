"""Optional anatomical clean-up of a predicted label map.

Raw label maps are always kept; the clean-up is a separate, recorded step (``cleaned``
flag in the report) because it changes what is measured. It enforces what
``docs/measurements.md`` says always holds:

1. One iris disc: only the largest 8-connected component of D = iris ∪ pupil is kept;
   other D blobs become sclera when they touch sclera, else background.
2. No pupil outside the disc: pupil pixels not enclosed by that component are removed
   (by rule 1) — and holes inside D (sclera or background islands) are filled with iris.
3. One opening: opening components (any class ≠ 0) other than the largest become
   background, so stray specks on the skin are not measured.
4. The caruncle sits at the inner corner (when the eye's side is known): caruncle pixels
   more than ``CARUNCLE_REACH`` of the opening's width from its medial end, and caruncle
   components that do not come within ``CARUNCLE_TOUCH`` of that end, become sclera. The
   medial end is the crop's right for the patient's right eye, its left for the left eye
   (crops are not mirrored). A model taught caruncle by pink tissue also paints the pink
   lid rims at the outer corner; no caruncle is ever there.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ocularseg.core.labels import Label

_EIGHT = np.ones((3, 3), bool)
#: Farthest a caruncle reaches from the medial end of the opening, and how near a caruncle
#: component must come to it, as fractions of the opening's width (columns).
CARUNCLE_REACH = 0.25
CARUNCLE_TOUCH = 0.1


def _largest_component(mask: np.ndarray) -> np.ndarray:
    components, count = ndimage.label(mask, structure=_EIGHT)
    if count <= 1:
        return mask.copy()
    sizes = np.bincount(components.ravel())
    sizes[0] = 0
    return components == int(np.argmax(sizes))


def clean_label_map(labels: np.ndarray, side: str | None = None) -> np.ndarray:
    """Return a cleaned copy of a uint8 label map (H, W); the input is not modified.

    ``side`` (``"right"`` / ``"left"``, the patient's) enables rule 4; None skips it.
    The rules run on the bounding box of everything not background, widened by one pixel
    (the same result as on the whole map: nothing outside it is ever changed).
    """
    out = labels.copy()
    rows = np.flatnonzero((labels != Label.BACKGROUND).any(axis=1))
    if not rows.size:
        if side is not None and side not in ("right", "left"):
            raise ValueError(f"side must be 'right' or 'left', got {side!r}")
        return out
    cols = np.flatnonzero((labels != Label.BACKGROUND).any(axis=0))
    box = (
        slice(max(0, rows[0] - 1), rows[-1] + 2),
        slice(max(0, cols[0] - 1), cols[-1] + 2),
    )
    out[box] = _clean(labels[box].copy(), side)
    return out


def _clean(out: np.ndarray, side: str | None) -> np.ndarray:
    """Rules 1–4 on ``out``, in place; returns it."""
    opening = out != Label.BACKGROUND
    if opening.any():
        out[opening & ~_largest_component(opening)] = Label.BACKGROUND
    disc = (out == Label.IRIS) | (out == Label.PUPIL)
    if disc.any():
        keep = _largest_component(disc)
        stray = disc & ~keep
        if stray.any():
            # A stray blob touching sclera is most likely mislabelled sclera (a shadow);
            # one that does not is on the skin. Decided per blob, not per pixel.
            near_sclera = ndimage.binary_dilation(out == Label.SCLERA, structure=_EIGHT)
            blobs, count = ndimage.label(stray, structure=_EIGHT)
            touches = np.zeros(count + 1, bool)
            touches[np.unique(blobs[near_sclera & stray])] = True
            touches[0] = False
            out[touches[blobs]] = Label.SCLERA
            out[stray & ~touches[blobs]] = Label.BACKGROUND
        holes = ndimage.binary_fill_holes(keep) & ~keep
        out[holes] = Label.IRIS
    if side is not None:
        _caruncle_at_inner_corner(out, side)
    return out


def _caruncle_at_inner_corner(out: np.ndarray, side: str) -> None:
    """Rule 4, in place."""
    if side not in ("right", "left"):
        raise ValueError(f"side must be 'right' or 'left', got {side!r}")
    caruncle = out == Label.CARUNCLE
    if not caruncle.any():
        return
    columns = np.flatnonzero((out != Label.BACKGROUND).any(axis=0))
    width = float(columns[-1] - columns[0] + 1)
    cols = np.arange(out.shape[1], dtype=float)[None, :]
    # Distance of each column from the medial end of the opening, in opening widths.
    from_medial = (columns[-1] - cols if side == "right" else cols - columns[0]) / width
    far = caruncle & (from_medial > CARUNCLE_REACH)
    blobs, count = ndimage.label(caruncle & ~far, structure=_EIGHT)
    near = np.zeros(count + 1, bool)
    near[np.unique(blobs[(blobs > 0) & (from_medial <= CARUNCLE_TOUCH)])] = True
    near[0] = False
    out[caruncle & ~near[blobs]] = Label.SCLERA
