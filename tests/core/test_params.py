from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from ocularseg.core.params import require_order
from ocularseg.core.report_params import ReportParams
from ocularseg.stages.iris_circle import IrisFitParams


class _Span(BaseModel):
    low: float
    high: float


CASES = [  # (low, high, equal_ok, message or None)
    (1.0, 2.0, False, None),
    (2.0, 2.0, False, "low (2.0) must be below high (2.0)"),
    (2.0, 2.0, True, None),
    (3.0, 2.0, True, "high (2.0) must be >= low (3.0)"),
]


@pytest.mark.parametrize(("low", "high", "equal_ok", "message"), CASES)
def test_require_order(low, high, equal_ok, message) -> None:
    span = _Span(low=low, high=high)
    if message is None:
        require_order(span, "low", "high", equal_ok=equal_ok)
    else:
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            require_order(span, "low", "high", equal_ok=equal_ok)


def test_params_models_report_the_order_as_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="min_radius_px"):
        IrisFitParams(min_radius_px=50.0, max_radius_px=40.0)
    with pytest.raises(ValidationError, match="asymmetry_marked_mm"):
        ReportParams(asymmetry_noticeable_mm=2.0, asymmetry_marked_mm=1.0)
