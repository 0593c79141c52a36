"""Summaries with CIs per group, and the files written for them."""

from __future__ import annotations

import json
import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from ocularseg.core.errors import ConfigError, DataError
from ocularseg.evaluation import (
    SUMMARY_COLUMNS,
    EmptyMaskWarning,
    evaluate_dataset,
    summarise,
    write_evaluation,
)

# (name, per-image dice values, expected summary mean, expected n): NaN rows are skipped.
CASES: list[tuple[str, list[float], float, int]] = [
    ("plain mean", [0.5, 0.7, 0.9], 0.7, 3),
    ("NaN ignored", [0.5, math.nan, 0.9], 0.7, 2),
    ("all NaN", [math.nan, math.nan], math.nan, 0),
]


def _dataset(n_per_group: int = 6, seed: int = 0) -> pd.DataFrame:
    """Per-image table of noisy disc masks in groups "clinic" and "phantom"."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:32, :48]
    pairs = []
    for group in ("phantom", "clinic"):
        for i in range(n_per_group):
            ref = np.zeros((32, 48), dtype=np.uint8)
            ref[(yy - 16) ** 2 + (xx - 24) ** 2 < 12**2] = 2
            ref[(yy - 16) ** 2 + (xx - 24) ** 2 < 5**2] = 3
            pred = ref.copy()
            noise = rng.random(ref.shape) < (0.05 if group == "phantom" else 0.2)
            pred[noise] = rng.integers(0, 4, size=int(noise.sum()))
            pairs.append((f"{group}{i}", group, pred, ref))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmptyMaskWarning)  # no caruncle anywhere
        return evaluate_dataset(pairs)


@pytest.fixture(scope="module")
def per_image() -> pd.DataFrame:
    return _dataset()


@pytest.mark.parametrize(("name", "dice", "mean", "n"), CASES)
def test_mean_and_n_per_cell(name, dice, mean, n) -> None:
    df = pd.DataFrame({"group": "g", "class": "iris", "dice": dice})
    row = summarise(df, seed=0, metrics=["dice"], by_group=False).iloc[0]
    assert row["mean"] == pytest.approx(mean, nan_ok=True), name
    assert row["n"] == n


def test_tidy_columns_groups_and_classes(per_image: pd.DataFrame) -> None:
    summary = summarise(per_image, seed=0, n_resamples=200)
    assert tuple(summary.columns) == SUMMARY_COLUMNS
    assert list(summary["group"].unique()) == ["all", "clinic", "phantom"]
    assert list(summary["class"].unique()) == ["sclera", "iris", "pupil", "caruncle"]
    cell = summary.query("group == 'all' and `class` == 'iris' and metric == 'dice'").iloc[0]
    assert cell["n"] == 12
    assert cell["mean"] == pytest.approx(per_image.query("`class` == 'iris'")["dice"].mean())
    assert cell["ci_low"] <= cell["mean"] <= cell["ci_high"]


def test_group_split_uses_only_that_groups_rows(per_image: pd.DataFrame) -> None:
    summary = summarise(per_image, seed=0, n_resamples=200)
    for group in ("clinic", "phantom"):
        rows = per_image[(per_image["group"] == group) & (per_image["class"] == "pupil")]
        cells = summary[(summary["group"] == group) & (summary["class"] == "pupil")]
        cell = cells.set_index("metric").loc["hd95_px"]
        assert cell["mean"] == pytest.approx(rows["hd95_px"].mean())
        assert cell["n"] == rows["hd95_px"].notna().sum()
    dice = summary.query("`class` == 'iris' and metric == 'dice'").set_index("group")["mean"]
    assert dice["phantom"] > dice["clinic"]  # less label noise


def test_by_group_false_gives_only_all(per_image: pd.DataFrame) -> None:
    summary = summarise(per_image, seed=0, n_resamples=100, by_group=False)
    assert set(summary["group"]) == {"all"}


def test_summary_is_deterministic_and_cells_are_independent(per_image: pd.DataFrame) -> None:
    full = summarise(per_image, seed=3, n_resamples=200)
    pd.testing.assert_frame_equal(full, summarise(per_image, seed=3, n_resamples=200))
    only_dice = summarise(per_image, seed=3, n_resamples=200, metrics=["dice"])
    merged = only_dice.merge(full, on=["group", "class", "metric"], suffixes=("", "_full"))
    assert len(merged) == len(only_dice)
    np.testing.assert_array_equal(merged["ci_low"], merged["ci_low_full"])


def test_cluster_column_is_used(per_image: pd.DataFrame) -> None:
    df = per_image.assign(subject=per_image["image_id"].str[:-1])  # one subject per group
    summary = summarise(df, seed=0, n_resamples=100, cluster_column="subject", by_group=False)
    # Two clusters only: the interval exists but is the spread of two group means.
    assert summary["ci_low"].notna().any()
    assert summary.attrs["cluster_column"] == "subject"
    # ... and is flagged: 2 people are too few for a meaningful interval.
    assert set(summary["n_subjects"]) <= {0, 1, 2} and not summary["ci_reliable"].any()
    unclustered = summarise(per_image, seed=0, n_resamples=100, by_group=False)
    iris = unclustered.query("`class` == 'iris' and metric == 'dice'").iloc[0]
    assert iris["n_subjects"] == 12 and iris["ci_reliable"]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"seed": -1}, ConfigError, "seed"),
        ({"metrics": []}, ConfigError, "at least one"),
        ({"metrics": ["dice", "volume"]}, DataError, "lacks column.*volume"),
        ({"cluster_column": "subject"}, DataError, "subject"),
        ({"n_resamples": 0}, ConfigError, "n_resamples"),
    ],
)
def test_bad_options_are_rejected(per_image, kwargs, error, match) -> None:
    options = {"seed": 0, **kwargs}
    with pytest.raises(error, match=match):
        summarise(per_image, **options)


def test_group_named_all_is_rejected(per_image: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="reserved"):
        summarise(per_image.assign(group="all"), seed=0)


def test_write_evaluation_writes_four_files(per_image: pd.DataFrame, tmp_path) -> None:
    summary = summarise(per_image, seed=0, n_resamples=200)
    out = tmp_path / "eval"
    paths = write_evaluation(per_image, summary, out, metadata={"model": "unet-test"})
    assert sorted(p.name for p in out.iterdir()) == [
        "per_image.csv",
        "summary.csv",
        "summary.json",
        "summary.md",
    ]
    assert set(paths) == {"per_image", "summary_csv", "summary_json", "summary_md"}

    back = pd.read_csv(paths["per_image"])
    assert len(back) == len(per_image)
    assert back["dice"].to_numpy() == pytest.approx(per_image["dice"].to_numpy(), nan_ok=True)
    assert len(pd.read_csv(paths["summary_csv"])) == len(summary)

    def reject(constant: str) -> None:
        raise ValueError(f"non-standard JSON constant {constant}")

    data = json.loads(paths["summary_json"].read_text(), parse_constant=reject)
    assert data["settings"]["seed"] == 0
    assert data["settings"]["n_resamples"] == 200
    assert data["settings"]["model"] == "unet-test"
    caruncle = [r for r in data["rows"] if r["class"] == "caruncle" and r["metric"] == "dice"]
    assert caruncle and all(r["mean"] is None for r in caruncle)


def test_markdown_table_has_ci_cells(per_image: pd.DataFrame, tmp_path) -> None:
    summary = summarise(per_image, seed=0, n_resamples=200)
    text = write_evaluation(per_image, summary, tmp_path)["summary_md"].read_text()
    assert "| Class | n | HD95 n | Dice % [95% CI] |" in text
    assert "## all (12 images)" in text and "## clinic (6 images)" in text
    iris = next(line for line in text.splitlines() if line.startswith("| iris |"))
    cells = [c.strip() for c in iris.strip("|").split("|")]
    assert re.fullmatch(r"\d{1,3}\.\d \[\d{1,3}\.\d, \d{1,3}\.\d\]", cells[3])  # Dice %
    assert re.fullmatch(r"\d+\.\d\d \[\d+\.\d\d, \d+\.\d\d\]", cells[7])  # HD95 px
    dice_pct = summary.query("group == 'all' and `class` == 'iris' and metric == 'dice'")
    assert cells[3].startswith(f"{dice_pct['mean'].iloc[0] * 100:.1f} [")
    caruncle = next(line for line in text.splitlines() if line.startswith("| caruncle |"))
    assert "n/a" in caruncle


def test_write_evaluation_replaces_existing_files(per_image, tmp_path) -> None:
    summary = summarise(per_image, seed=0, n_resamples=50)
    (tmp_path / "summary.md").write_text("old")
    write_evaluation(per_image, summary, tmp_path)
    assert (tmp_path / "summary.md").read_text().startswith("# Evaluation")
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]
