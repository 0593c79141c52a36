"""One exclusion rule: the analysis and the report's ``used`` column agree row by row."""

from __future__ import annotations

import math

import pandas as pd

from ocularseg.core.exclusion import exclusion_reasons
from ocularseg.core.report_params import ReportParams
from ocularseg.report.summary import usable_mask

ROWS = [
    {"blink": False, "flags": "", "gates_failed": ""},
    {"blink": True, "flags": "", "gates_failed": ""},
    {"blink": False, "flags": "at_border;eye_closed", "gates_failed": ""},
    {"blink": False, "flags": "reflex_absent", "gates_failed": "low_quality;near_blink"},
    {"blink": False, "flags": math.nan, "gates_failed": math.nan},
]


def test_the_analysis_and_the_summary_exclude_the_same_rows():
    frame = pd.DataFrame(ROWS)
    expected = [not exclusion_reasons(row) for row in ROWS]
    assert expected == [True, False, False, False, True]
    assert usable_mask(frame).tolist() == expected


def test_the_reasons_name_blink_flags_then_gates():
    assert exclusion_reasons(ROWS[2]) == ["eye_closed"]  # at_border is a note
    assert exclusion_reasons(ROWS[3]) == ["low_quality", "near_blink"]
    lenient = ReportParams(exclude_blinks=False)
    assert usable_mask(pd.DataFrame(ROWS), lenient).tolist()[1] is True
