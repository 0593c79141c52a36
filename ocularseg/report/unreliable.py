"""What the reports say about the classes the model marks unreliable.

A model folder may mark classes whose masks are not to be trusted (``model.json``
``output.unreliable_classes``: class name → one-line reason); ``run.json`` carries the
marks as ``unreliable_classes``. The page and the workbook say so in words, and label the
ratios that are built on those classes. Column names of the tables are never changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

#: The measures built on one class's mask (``core.records`` names, dimensionless).
RATIOS_OF_CLASS: dict[str, tuple[str, ...]] = {
    "caruncle": ("caruncle_opening_ratio",),
    "pupil": ("pupil_iris_ratio",),
}


def unreliable_line(marks: Mapping[str, str]) -> str | None:
    """One line for the report naming the marked classes and why; None when none are."""
    if not marks:
        return None
    parts = []
    for name, reason in marks.items():
        ratios = RATIOS_OF_CLASS.get(name, ())
        built = f" ({', '.join(ratios)} rests on it)" if ratios else ""
        parts.append(f"{name}: {reason}{built}")
    lead = "Unreliable in this model (do not trust their outlines or ratios): "
    return lead + "; ".join(parts) + "."


def column_notes(marks: Mapping[str, str], columns: Iterable[str]) -> dict[str, str]:
    """A note per table column built on a marked class (``pupil_iris_ratio``,
    ``pupil_iris_ratio_median`` …): "model marks pupil unreliable: <reason>"."""
    notes = {}
    for column in columns:
        for name, reason in marks.items():
            for ratio in RATIOS_OF_CLASS.get(name, ()):
                if column == ratio or column.startswith(ratio + "_"):
                    notes[column] = f"model marks {name} unreliable: {reason}"
    return notes


def run_marks(run_info: Mapping[str, object]) -> dict[str, str]:
    """The marks ``run.json`` recorded (an older run.json without them: none)."""
    marks = run_info.get("unreliable_classes")
    if not isinstance(marks, Mapping):
        return {}
    return {str(name): str(reason) for name, reason in marks.items()}
