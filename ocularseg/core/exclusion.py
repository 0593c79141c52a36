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


def exclusion_reasons(
    row: Mapping[str, Any],
    *,
    exclude_flags: Collection[str] = EXCLUDING_FLAGS,
    exclude_blinks: bool = True,
) -> list[str]:
    """Why a measurement row is excluded: ``blink``, excluding flags, failed gates (names).

    Args:
        row: a measurement row (or table row) with ``blink``, ``flags`` and
            ``gates_failed``.
        exclude_flags: the measurement flags that exclude a row.
        exclude_blinks: whether a blink frame is excluded.

    Returns:
        Reason names in that order (flags in the row's order); empty when the row is used.
    """
    reasons = [BLINK] if exclude_blinks and is_true(row.get("blink")) else []
    reasons.extend(flag for flag in split_names(row.get("flags")) if flag in exclude_flags)
    reasons.extend(split_names(row.get("gates_failed")))
    return reasons


def is_true(value: Any) -> bool:
    """A bool-like cell: None and NaN are False."""
    return value is not None and value == value and bool(value)
