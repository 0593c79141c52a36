"""Paired comparison of two models on the same images (float vs int8, say)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ocularseg.evaluation.compare import differences_markdown, paired_differences


def _table(dice_by_image: dict[int, list[float]]) -> pd.DataFrame:
    rows = []
    for image_id, values in dice_by_image.items():
        for class_name, dice in zip(("iris", "pupil"), values, strict=True):
            rows.append(
                {
                    "image_id": image_id,
                    "subject": f"s{image_id}",
                    "class": class_name,
                    "dice": dice,
                    "hd95_px": 10.0 * (1 - dice),
                }
            )
    return pd.DataFrame(rows)


# (A per image, B per image, expected B − A Dice for iris, for pupil)
CASES = [
    ({0: [0.9, 0.8], 1: [0.9, 0.8]}, {0: [0.9, 0.8], 1: [0.9, 0.8]}, 0.0, 0.0),
    ({0: [0.9, 0.8], 1: [0.7, 0.6]}, {0: [0.8, 0.8], 1: [0.6, 0.6]}, -0.1, 0.0),
    (
        {0: [0.5, np.nan], 1: [0.7, 0.6], 2: [0.6, 0.5]},
        {0: [0.6, 0.9], 1: [0.8, 0.7], 2: [0.7, 0.6]},
        0.1,
        0.1,
    ),
]


@pytest.mark.parametrize(("a", "b", "iris", "pupil"), CASES)
def test_paired_differences_are_per_image(a, b, iris, pupil):
    table = paired_differences(_table(a), _table(b), n_resamples=200)
    dice = table[table.metric == "dice"].set_index("class")
    assert dice.loc["iris", "delta"] == pytest.approx(iris)
    assert dice.loc["pupil", "delta"] == pytest.approx(pupil)
    assert (dice["ci_low"] <= dice["delta"] + 1e-12).all()
    assert (dice["delta"] <= dice["ci_high"] + 1e-12).all()
    # A NaN on either side drops that pair only.
    assert dice.loc["pupil", "n"] == sum(not (np.isnan(a[i][1]) or np.isnan(b[i][1])) for i in a)
    hd95 = table[table.metric == "hd95_px"].set_index("class")
    assert hd95.loc["iris", "delta"] == pytest.approx(-10 * iris)


def test_markdown_shows_points_and_px():
    table = paired_differences(_table(CASES[1][0]), _table(CASES[1][1]), n_resamples=200)
    text = differences_markdown(table, "float", "int8")
    assert "| iris | dice | 2 | 80.00 % | 70.00 % | -10.00" in text
    assert "int8 − float" in text and " px |" in text


def test_tables_without_common_rows_or_columns_are_refused():
    a = _table(CASES[0][0])
    with pytest.raises(ValueError, match="share no"):
        paired_differences(a, a.assign(image_id=a.image_id + 100))
    with pytest.raises(ValueError, match="lacks column.*subject"):
        paired_differences(a, a.drop(columns="subject"))
