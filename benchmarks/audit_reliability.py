"""Run the reliability audit (``tests/audit/reliability_cases.py``) and print its table.

Usage::

    python benchmarks/audit_reliability.py --work /tmp/audit [--json audit.json] [--only GROUP]

The same cases run one per test in ``pytest -m slow tests/audit``; this script prints every
case's class and note (the table in ``docs/reliability_audit.md``) and the counts.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests.*
from tests.audit.reliability_cases import GROUPS, Audit, all_cases, run_case  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="new folder for the cases")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    parser.add_argument("--only", choices=sorted(GROUPS), help="run only this group")
    args = parser.parse_args()
    if args.work.exists():
        shutil.rmtree(args.work)
    results = []
    for number, case in enumerate(all_cases(Audit(args.work / "media"), args.only), start=1):
        began = time.perf_counter()
        outcome = run_case(case, args.work / f"c{number:03d}")
        seconds = time.perf_counter() - began
        results.append((case, outcome))
        print(
            f"{number:3d} {outcome.category:12s} {seconds:6.1f}s  {case.test_id} — {outcome.note}"
        )
        sys.stdout.flush()
    counts = Counter(outcome.category for _, outcome in results)
    tried = sum(v for k, v in counts.items() if k != "skipped")
    print(
        f"\ntried {tried}: ok {counts['ok']}, clear error {counts['clear error']}, "
        f"traceback {counts['traceback']}, hang {counts['hang']}, data lost "
        f"{counts['data lost']}, audit errors {counts['audit error']}, skipped {counts['skipped']}"
    )
    if args.json:
        cases = [
            {"group": c.group, "case": c.name, "result": o.category, "note": o.note}
            for c, o in results
        ]
        args.json.write_text(json.dumps({"counts": dict(counts), "cases": cases}, indent=2))


if __name__ == "__main__":
    main()
