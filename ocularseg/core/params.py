"""Checks shared by the frozen pydantic ``Params`` models of the stages and the report."""

from __future__ import annotations

from pydantic import BaseModel


def require_order(params: BaseModel, low: str, high: str, *, equal_ok: bool = False) -> None:
    """Check that field ``low`` of ``params`` is below field ``high`` (or equal, with
    ``equal_ok``); for use inside a ``model_validator(mode="after")``.

    Raises:
        ValueError: the two are out of order, naming both values (pydantic reports it as a
            ``ValidationError`` like any other field).
    """
    low_value, high_value = getattr(params, low), getattr(params, high)
    if equal_ok and low_value > high_value:
        raise ValueError(f"{high} ({high_value}) must be >= {low} ({low_value})")
    if not equal_ok and low_value >= high_value:
        raise ValueError(f"{low} ({low_value}) must be below {high} ({high_value})")
