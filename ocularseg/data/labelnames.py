"""Annotation label names, their aliases, the paint priority and colour mappings.

Annotators name classes in many ways ("White", "lacrimal caruncle", "carnucle"). This
module is the one place that turns such names into ``Label`` ids, so the LabelMe importer,
the mask importer and the exporter agree.

Decisions (documented for clinicians in the docstrings below):

* Matching ignores case, surrounding spaces, and treats ``_``/``-``/repeated spaces as one
  space ("Lacrimal_Caruncle" == "lacrimal caruncle").
* ``plica`` / ``plica semilunaris`` map to **caruncle**: the 5-class scheme has no separate
  class for the conjunctival fold beside the caruncle, and it is pink medial-canthus tissue,
  not white sclera, so counting it as sclera would inflate the scleral show.
* ``cornea`` / ``limbus`` map to **iris**: annotators draw the corneal/limbal circle and
  the pupil on top of it, which is exactly how priority painting rebuilds iris + pupil.
* ``background`` / ``_background_`` shapes carve: they have the highest priority and set
  their pixels back to background (e.g. lashes drawn over the iris).
"""

from __future__ import annotations

import re

from ocularseg.core.errors import ConfigError
from ocularseg.core.labels import LABEL_COLOURS_RGB, Label

#: Accepted annotation names (normalised with ``normalise_name``) -> class.
LABEL_ALIASES: dict[str, Label] = {
    # background: carves (highest paint priority)
    "background": Label.BACKGROUND,
    "bg": Label.BACKGROUND,
    # sclera
    "sclera": Label.SCLERA,
    "white": Label.SCLERA,
    "eye white": Label.SCLERA,
    "eyewhite": Label.SCLERA,
    "white of eye": Label.SCLERA,
    "white of the eye": Label.SCLERA,
    # iris
    "iris": Label.IRIS,
    "cornea": Label.IRIS,
    "limbus": Label.IRIS,
    # pupil
    "pupil": Label.PUPIL,
    "pupilla": Label.PUPIL,
    # caruncle
    "caruncle": Label.CARUNCLE,
    "carnucle": Label.CARUNCLE,  # frequent typo in shared datasets
    "caruncula": Label.CARUNCLE,
    "lacrimal caruncle": Label.CARUNCLE,
    "caruncula lacrimalis": Label.CARUNCLE,
    "plica": Label.CARUNCLE,
    "plica semilunaris": Label.CARUNCLE,
}

#: Paint order, lowest priority first: a later class overwrites an earlier one where shapes
#: overlap, whatever the order of shapes in the file. Background last, so it carves.
PAINT_ORDER: tuple[Label, ...] = (
    Label.SCLERA,
    Label.CARUNCLE,
    Label.IRIS,
    Label.PUPIL,
    Label.BACKGROUND,
)

#: The name written for each class when exporting (LabelMe's own spelling for background).
EXPORT_NAMES: dict[Label, str] = {
    Label.BACKGROUND: "_background_",
    Label.SCLERA: "sclera",
    Label.IRIS: "iris",
    Label.PUPIL: "pupil",
    Label.CARUNCLE: "caruncle",
}


def normalise_name(name: str) -> str:
    """Lower-case ``name``, turn ``_``/``-`` into spaces, collapse and strip spaces."""
    # "_background_" (LabelMe's spelling) becomes "background" here.
    return re.sub(r"[\s_\-]+", " ", str(name).lower()).strip()


def resolve_label(name: str) -> Label | None:
    """Return the class for an annotation name, or ``None`` when the name is unknown."""
    return LABEL_ALIASES.get(normalise_name(name))


def accepted_names() -> str:
    """Accepted names grouped by class, for error messages.

    E.g. ``"sclera (white, ...); iris (cornea, limbus); ...; _background_ (bg)"``.
    """
    parts = []
    for label in (*PAINT_ORDER[:-1][::-1], Label.BACKGROUND):
        main = EXPORT_NAMES[label]
        others = [n for n, lab in LABEL_ALIASES.items() if lab == label and n != main.strip("_")]
        parts.append(f"{main} ({', '.join(others)})" if others else main)
    return "; ".join(parts)


def default_colour_mapping() -> dict[tuple[int, int, int], Label]:
    """RGB colour -> class for the package palette (``LABEL_COLOURS_RGB``)."""
    return {tuple(int(c) for c in rgb): label for label, rgb in LABEL_COLOURS_RGB.items()}


def parse_colour_mapping(text: str) -> dict[tuple[int, int, int], Label]:
    """Parse ``"R,G,B=sclera;#00AA55=iris;..."`` into RGB colour -> class.

    Colours are ``R,G,B`` (0..255 each) or ``#RRGGBB``; names go through the alias table.
    Black (0,0,0) maps to background unless the text maps it to something else.

    Raises:
        ConfigError: malformed entry, value out of range, unknown name, or a colour given
            twice with different classes.
    """
    mapping: dict[tuple[int, int, int], Label] = {}
    entries = [e.strip() for e in text.split(";") if e.strip()]
    if not entries:
        raise ConfigError(f"colour mapping {text!r} is empty; expected e.g. '86,180,233=sclera'")
    for entry in entries:
        if "=" not in entry:
            raise ConfigError(f"colour mapping entry {entry!r} lacks '='; expected 'R,G,B=name'")
        colour_text, name = (part.strip() for part in entry.split("=", 1))
        colour = _parse_colour(colour_text, entry)
        label = resolve_label(name)
        if label is None:
            raise ConfigError(
                f"colour mapping entry {entry!r}: unknown class {name!r} "
                f"(accepted: {accepted_names()})"
            )
        if colour in mapping and mapping[colour] != label:
            raise ConfigError(
                f"colour {colour} is mapped to both {mapping[colour].name.lower()} and "
                f"{label.name.lower()}"
            )
        mapping[colour] = label
    mapping.setdefault((0, 0, 0), Label.BACKGROUND)
    return mapping


def _parse_colour(text: str, entry: str) -> tuple[int, int, int]:
    if text.startswith("#"):
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", text):
            raise ConfigError(f"colour mapping entry {entry!r}: {text!r} is not #RRGGBB")
        return (int(text[1:3], 16), int(text[3:5], 16), int(text[5:7], 16))
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3 or not all(re.fullmatch(r"\d{1,3}", p) for p in parts):
        raise ConfigError(f"colour mapping entry {entry!r}: {text!r} is not 'R,G,B'")
    values = tuple(int(p) for p in parts)
    if any(v > 255 for v in values):
        raise ConfigError(f"colour mapping entry {entry!r}: channel values must be 0..255")
    return values  # type: ignore[return-value]
