"""What a shared model folder may carry (issue 11, item 12): paths cut to their last part,
ids replaced by keyed pseudonyms; Markdown and URLs left intact."""

from __future__ import annotations

from ocularseg.io.share import new_key, pseudonymise, without_paths

CASES = [
    ("/home/jdoe/clinic/Doe_Jane_MRN002/data", "data"),
    ("docs/configs/../../runs/data/train5k", "train5k"),
    ("C:\\Users\\jdoe\\data", "data"),
    ("https://example.org/a/b", "https://example.org/a/b"),
    ("ce+tiu", "ce+tiu"),
    (
        "Evaluation on /work/data/test500 (test) | Dice sclera / iris | 0.2 mm/s | ~/x/y",
        "Evaluation on test500 (test) | Dice sclera / iris | 0.2 mm/s | y",
    ),
    ("see https://github.com/o/r/blob/x.md", "see https://github.com/o/r/blob/x.md"),
]


def test_paths_are_cut_and_other_text_is_kept():
    for given, expected in CASES:
        assert without_paths(given) == expected, given
    nested = {"training": {"config": {"data": CASES[0][0]}}, "list": [CASES[1][0], 3]}
    assert without_paths(nested) == {
        "training": {"config": {"data": "data"}},
        "list": ["train5k", 3],
    }


def test_pseudonyms_keep_rows_together_and_change_with_the_key():
    ids = ["Doe_Jane_MRN002", "Roe_Rick_MRN007", "Doe_Jane_MRN002"]
    first = pseudonymise(ids, "subj-", new_key())
    assert len(first) == 2 and all(v.startswith("subj-") and len(v) == 17 for v in first.values())
    assert "Doe" not in "".join(first.values())
    assert first != pseudonymise(ids, "subj-", new_key())
