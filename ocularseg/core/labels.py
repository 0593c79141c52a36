"""The one label list of ocularseg.

Every mask, model and report uses these integer ids. ``model.json`` carries the same
mapping and is checked against it at load time (see ``label_mapping``).
"""

from __future__ import annotations

from enum import IntEnum


class Label(IntEnum):
    """Classes of an eye crop, as in docs/measurements.md."""

    BACKGROUND = 0
    SCLERA = 1
    IRIS = 2
    PUPIL = 3
    CARUNCLE = 4


NUM_CLASSES: int = len(Label)

#: Lower-case class name -> id, the form written into model.json and manifests.
LABEL_NAMES: dict[str, int] = {label.name.lower(): int(label) for label in Label}

#: RGB overlay colour per class, chosen to be told apart by colour-blind readers
#: (Okabe-Ito palette); background is black (transparent in overlays).
LABEL_COLOURS_RGB: dict[Label, tuple[int, int, int]] = {
    Label.BACKGROUND: (0, 0, 0),
    Label.SCLERA: (86, 180, 233),
    Label.IRIS: (0, 158, 115),
    Label.PUPIL: (230, 159, 0),
    Label.CARUNCLE: (204, 121, 167),
}


def label_mapping() -> dict[str, int]:
    """Return a fresh copy of the name -> id mapping (for model.json and manifests)."""
    return dict(LABEL_NAMES)


class PartialLabel(IntEnum):
    """Set-valued labels of *silver* masks, where a teacher knows only part of the classes.

    A real eye labelled from MediaPipe's lid contour and iris circle says "inside the
    opening, not the iris disc" (sclera or caruncle) and "iris disc" (iris or pupil), never
    which of the two. Silver masks hold these values beside ``Label.BACKGROUND``; the
    partial-label loss asks the network to put its probability anywhere in the set
    (:data:`LABEL_SETS`), and evaluation scores the unions (opening, iris disc).
    """

    OPENING_NOT_DISC = 10
    IRIS_DISC = 11
    IGNORE = 255


#: Every value a mask may hold -> the set of ``Label`` ids it allows (empty = ignored).
LABEL_SETS: dict[int, tuple[int, ...]] = {
    **{int(label): (int(label),) for label in Label},
    int(PartialLabel.OPENING_NOT_DISC): (int(Label.SCLERA), int(Label.CARUNCLE)),
    int(PartialLabel.IRIS_DISC): (int(Label.IRIS), int(Label.PUPIL)),
    int(PartialLabel.IGNORE): (),
}


def is_partial(values) -> bool:
    """True when a label array holds any partial (set-valued or ignored) label."""
    import numpy as np

    return bool(np.any(np.asarray(values) >= NUM_CLASSES))
