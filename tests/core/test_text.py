"""Numbers as a user reads them: a value that rounds to zero carries no sign."""

from __future__ import annotations

import math

import pytest

from ocularseg.core.text import number_text

# (value, spec, text)
CASES = [
    (-0.04, ".1f", "0.0"),
    (-0.0, ".1f", "0.0"),
    (-0.004, "+.2f", "0.00"),
    (0.0, "+.2f", "0.00"),
    (0.004, "+.2f", "0.00"),
    (-0.06, ".1f", "-0.1"),
    (0.3, "+.1f", "+0.3"),
    (-1.25, ".2f", "-1.25"),
    (-1e-9, "g", "-1e-09"),
    (-math.inf, ".1f", "-inf"),
    (math.nan, ".1f", "nan"),
]


@pytest.mark.parametrize(("value", "spec", "text"), CASES)
def test_number_text(value, spec, text) -> None:
    assert number_text(value, spec) == text
