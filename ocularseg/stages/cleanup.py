"""Optional anatomical clean-up of a predicted label map.

Raw label maps are always kept; the clean-up is a separate, recorded step (``cleaned``
flag in the report) because it changes what is measured. It enforces what CLINICAL.md says
always holds:

1. One iris disc: only the largest 8-connected component of D = iris ∪ pupil is kept;
   other D blobs become sclera when they touch sclera, else background.
2. No pupil outside the disc: pupil pixels not enclosed by that component are removed
   (by rule 1) — and holes inside D (sclera or background islands) are filled with iris.
3. One opening: opening components (any class ≠ 0) other than the largest become
   background, so stray specks on the skin are not measured.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ocularseg.core.labels import Label

_EIGHT = np.ones((3, 3), bool)


def _largest_component(mask: np.ndarray) -> np.ndarray:
    components, count = ndimage.label(mask, structure=_EIGHT)
    if count <= 1:
        return mask.copy()
    sizes = np.bincount(components.ravel())
    sizes[0] = 0
    return components == int(np.argmax(sizes))


def clean_label_map(labels: np.ndarray) -> np.ndarray:
    """Return a cleaned copy of a uint8 label map (H, W); the input is not modified."""
    out = labels.copy()
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
    return out
