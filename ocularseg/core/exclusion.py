"""The one exclusion rule: why a measurement row is not used.

A row is excluded when it is a blink, carries an excluding measurement flag, or failed a
quality gate. The analysis (shared-radius references, the usable-eye check, overlay
labels) and the report (the ``used`` column, the summary, the page) all ask this module,
with the summary's thresholds where the report has them (``ReportParams``).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from typing import Any

#: Measurement flags that exclude a frame (the others, e.g. ``at_border``, are notes).
EXCLUDING_FLAGS: tuple[str, ...] = ("eye_closed", "iris_not_found")
#: The exclusion reason of a blink frame.
BLINK = "blink"


def split_names(value: Any) -> list[str]:
    """``;``-joined names (or a sequence, or None/NaN) as a list without empty items."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    items: Iterable[Any] = value.split(";") if isinstance(value, str) else value
    return [str(item).strip() for item in items if str(item).strip()]


def row_exclusion_reasons(
    blink: bool,
    flags: Iterable[str],
    gates_failed: Iterable[str],
    *,
    exclude_flags: Collection[str] = EXCLUDING_FLAGS,
    exclude_blinks: bool = True,
) -> list[str]:
    """The rule: why a row with these cells is excluded.

    Args:
        blink: the frame was judged a blink.
        flags: the row's measurement flags.
        gates_failed: the quality gates it failed.
        exclude_flags: the measurement flags that exclude a row.
        exclude_blinks: whether a blink frame is excluded.

    Returns:
        ``blink``, then the excluding flags (in the row's order), then the failed gates;
        empty when the row is used.
    """
    reasons = [BLINK] if exclude_blinks and blink else []
    reasons.extend(str(flag) for flag in flags if flag in exclude_flags)
    reasons.extend(str(gate) for gate in gates_failed)
    return reasons


def exclusion_reasons(
    row: Mapping[str, Any],
    *,
    exclude_flags: Collection[str] = EXCLUDING_FLAGS,
    exclude_blinks: bool = True,
) -> list[str]:
    """:func:`row_exclusion_reasons` of a table row (a ``measurements.csv`` row or a
    DataFrame row: ``blink``, ``flags`` and ``gates_failed`` as tuples or ``;``-joined text).

    ``ocularseg.core.records.EyeRow.exclusion_reasons`` is the same rule for a typed row.
    """
    return row_exclusion_reasons(
        is_true(row.get("blink")),
        split_names(row.get("flags")),
        split_names(row.get("gates_failed")),
        exclude_flags=exclude_flags,
        exclude_blinks=exclude_blinks,
    )


def is_true(value: Any) -> bool:
    """A bool-like cell: None and NaN are False."""
    return value is not None and value == value and bool(value)
