"""The page fingerprint covers every run-wide fact the page prints, and not the run's date."""

from __future__ import annotations

import dataclasses

import pandas as pd

from ocularseg.report.page import PageContext
from ocularseg.report.page_stamp import page_fingerprint


def _fingerprint(tmp_path, context: PageContext) -> str:
    table = pd.DataFrame({"a": [1.0]})
    return page_fingerprint(tmp_path, tmp_path, (table, table, table, None), context, None)


def test_every_context_field_but_the_date_changes_the_fingerprint(tmp_path) -> None:
    base = PageContext("model x", version="1", model_sha256="abc", created_utc="2026-01-01")
    reference = _fingerprint(tmp_path, base)
    assert _fingerprint(tmp_path, dataclasses.replace(base, created_utc="2027-01-01")) == reference
    for changed in (
        dataclasses.replace(base, provenance="model y"),
        dataclasses.replace(base, version="2"),
        dataclasses.replace(base, unreliable_classes={"caruncle": "low Dice"}),
        dataclasses.replace(base, exclusion_text={"blink": "a blink"}),
    ):
        assert _fingerprint(tmp_path, changed) != reference
