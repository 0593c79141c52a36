"""The reliability audit as tests: each case must end ``ok`` or as a ``clear error``.

A traceback, a hang, a lost input or a wrong value reported as right fails its test with the
case's note. The cases (``reliability_cases.py``) run the installed CLI in subprocesses, so the
module is slow; ``benchmarks/audit_reliability.py`` prints the same cases as a table.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.audit.reliability_cases import Audit, Case, all_cases, run_case

pytestmark = pytest.mark.slow

AUDIT = Audit()
CASES = all_cases(AUDIT)


@pytest.fixture(scope="module", autouse=True)
def shared_media(tmp_path_factory) -> None:
    """The face photo and clip the cases share, written on first use into a fresh folder."""
    AUDIT.media = tmp_path_factory.mktemp("audit-media")


@pytest.mark.parametrize("case", CASES, ids=[case.test_id for case in CASES])
def test_case(case: Case, tmp_path: Path) -> None:
    outcome = run_case(case, tmp_path / "case")
    if outcome.category == "skipped":
        pytest.skip(outcome.note)
    assert outcome.category in ("ok", "clear error"), f"{outcome.category}: {outcome.note}"
