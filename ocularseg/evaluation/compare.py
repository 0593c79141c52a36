"""Paired comparison of two models scored on the same images (e.g. float vs int8).

Both inputs are per-image tables of :func:`~ocularseg.evaluation.evaluate_dataset` (one
row per image and class) with a ``subject`` column. Differences are taken image by image,
so the between-image spread cancels and the CI is that of the *difference*: 95 %
percentile bootstrap over subjects.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ocularseg.evaluation.bootstrap import bootstrap_ci

COMPARE_COLUMNS: tuple[str, ...] = (
    "class",
    "metric",
    "n",
    "mean_a",
    "mean_b",
    "delta",
    "ci_low",
    "ci_high",
)


def paired_differences(
    per_image_a: pd.DataFrame,
    per_image_b: pd.DataFrame,
    *,
    metrics: tuple[str, ...] = ("dice", "hd95_px"),
    seed: int = 0,
    n_resamples: int = 1000,
) -> pd.DataFrame:
    """Per class and metric: means of A and B and ``delta = B − A`` with its 95 % CI.

    Rows are paired on ``(image_id, class)``; a pair counts where both values are defined
    (not NaN). Dice stays a fraction (0–1), HD95 in crop px.

    Raises:
        ValueError: the tables share no (image, class) rows, or lack a needed column.
    """
    needed = {"image_id", "subject", "class", *metrics}
    for name, table in (("A", per_image_a), ("B", per_image_b)):
        missing = sorted(needed - set(table.columns))
        if missing:
            raise ValueError(f"per-image table {name} lacks column(s) {', '.join(missing)}")
    joined = per_image_a.merge(
        per_image_b, on=["image_id", "class"], suffixes=("_a", "_b"), validate="one_to_one"
    )
    if joined.empty:
        raise ValueError("the two per-image tables share no (image, class) rows")
    records = []
    for class_name, part in joined.groupby("class", sort=False):
        for metric in metrics:
            a, b = part[f"{metric}_a"].to_numpy(float), part[f"{metric}_b"].to_numpy(float)
            both = ~(np.isnan(a) | np.isnan(b))
            delta, low, high = bootstrap_ci(
                (b - a)[both],
                seed=seed,
                n_resamples=n_resamples,
                clusters=part["subject_a"].to_numpy()[both],
            )
            records.append(
                {
                    "class": class_name,
                    "metric": metric,
                    "n": int(both.sum()),
                    "mean_a": float(np.mean(a[both])) if both.any() else float("nan"),
                    "mean_b": float(np.mean(b[both])) if both.any() else float("nan"),
                    "delta": delta,
                    "ci_low": low,
                    "ci_high": high,
                }
            )
    return pd.DataFrame.from_records(records, columns=list(COMPARE_COLUMNS))


def differences_markdown(table: pd.DataFrame, name_a: str, name_b: str) -> str:
    """A Markdown table of :func:`paired_differences` (Dice in %, HD95 in px)."""
    lines = [
        f"| class | metric | n | {name_a} | {name_b} | {name_b} − {name_a} [95% CI] |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in table.itertuples(index=False):
        scale, unit = (100.0, " %") if r.metric != "hd95_px" else (1.0, " px")
        lines.append(
            f"| {r[0]} | {r.metric} | {r.n} | {scale * r.mean_a:.2f}{unit} | "
            f"{scale * r.mean_b:.2f}{unit} | {scale * r.delta:+.2f} "
            f"[{scale * r.ci_low:+.2f}, {scale * r.ci_high:+.2f}]{unit} |"
        )
    return "\n".join(lines) + "\n"
