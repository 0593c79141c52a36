"""Aggregate per-image metric rows into means with bootstrap CIs, and write the results.

``summarise`` turns the per-image × class table of ``evaluate_dataset`` into a tidy table
(one row per group × class × metric) of NaN-aware means with percentile-bootstrap
intervals. ``write_evaluation`` writes, each atomically (a crash never leaves half a file)::

    OUT/per_image.csv   the per-image × class table as given
    OUT/summary.csv     the tidy summary
    OUT/summary.json    {"settings": {...}, "rows": [...]}; NaN written as null
    OUT/summary.md      one Markdown table per group, rows = class, cells "mean [low, high]"

Each summary cell draws from its own Generator seeded with ``(seed, crc32(group, class,
metric))``, so a cell's interval does not change when other groups or metrics are added.
"""

from __future__ import annotations

import math
import os
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ocularseg.core.errors import ConfigError, DataError
from ocularseg.core.text import safe_cell
from ocularseg.evaluation.bootstrap import bootstrap_ci
from ocularseg.io.atomic import write_json_atomic, write_text_atomic, write_with_atomic

#: Group name of the all-images rows; no data group may use it.
OVERALL_GROUP = "all"

#: Metrics summarised by default (the per-image component counts and areas are context).
SUMMARY_METRICS: tuple[str, ...] = (
    "dice",
    "iou",
    "precision",
    "recall",
    "hd95_px",
    "component_error",
    "area_error_px",
    "area_error_rel",
)

SUMMARY_COLUMNS: tuple[str, ...] = (
    "group",
    "class",
    "metric",
    "mean",
    "ci_low",
    "ci_high",
    "n",
    "n_subjects",
    "ci_reliable",
)

#: Fewest resampled people (clusters) for a bootstrap interval to mean something: with 2
#: people the resamples can only mix two means, e.g. [92.0, 92.0].
MIN_CI_SUBJECTS = 5

#: The flag on an interval from fewer than ``MIN_CI_SUBJECTS`` people.
CI_UNRELIABLE_NOTE = f"n subjects < {MIN_CI_SUBJECTS}: the interval is not meaningful"

#: Marks such an interval in the Markdown tables.
_UNRELIABLE_MARK = "†"

#: Markdown columns: metric -> (header, scale, decimals). Fractions are shown in %.
_MARKDOWN_COLUMNS: dict[str, tuple[str, float, int]] = {
    "dice": ("Dice %", 100.0, 1),
    "iou": ("IoU %", 100.0, 1),
    "precision": ("Precision %", 100.0, 1),
    "recall": ("Recall %", 100.0, 1),
    "hd95_px": ("HD95 px", 1.0, 2),
    "component_error": ("Component error", 1.0, 2),
    "area_error_rel": ("Area error %", 100.0, 1),
}

PER_IMAGE_NAME = "per_image.csv"
SUMMARY_CSV_NAME = "summary.csv"
SUMMARY_JSON_NAME = "summary.json"
SUMMARY_MD_NAME = "summary.md"


def _cell_rng(seed: int, group: str, cls: str, metric: str) -> np.random.Generator:
    key = zlib.crc32(f"{group}\x00{cls}\x00{metric}".encode())
    return np.random.default_rng([seed, key])


def summarise(
    df: pd.DataFrame,
    *,
    seed: int,
    by_group: bool = True,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    metrics: Sequence[str] = SUMMARY_METRICS,
    cluster_column: str | None = None,
) -> pd.DataFrame:
    """Mean and percentile-bootstrap CI of each metric, overall and per group.

    Args:
        df: per-image × class rows as from ``evaluate_dataset`` (needs ``class``, the
            ``metrics`` columns, ``group`` when ``by_group``, and ``cluster_column``).
        seed: non-negative int; each cell derives its own Generator from it.
        by_group: also summarise each value of ``group`` (after the ``"all"`` rows).
        n_resamples: bootstrap resamples per cell.
        confidence: two-sided level of the intervals, e.g. 0.95.
        metrics: metric columns to summarise, in output order.
        cluster_column: resample whole clusters of rows sharing this column's value
            (e.g. ``"subject"``, added to ``df`` by the caller) instead of single rows.

    Returns:
        Tidy DataFrame with ``SUMMARY_COLUMNS``: ``group`` ("all", then groups sorted),
        ``class`` (order of first appearance), ``metric``, ``mean`` (NaN-aware), ``ci_low``,
        ``ci_high``, ``n`` (non-NaN values used), ``n_subjects`` (clusters among them; each
        value is its own cluster without ``cluster_column``) and ``ci_reliable`` (False when
        ``n_subjects < MIN_CI_SUBJECTS``: ``CI_UNRELIABLE_NOTE``). Units are those of the
        metric column (fractions for Dice etc., px for HD95). ``summary.attrs`` records the
        settings.

    Raises:
        DataError: a needed column is missing, or a group is called ``"all"``.
        ConfigError: bad ``seed``, ``n_resamples`` or ``confidence``, or no metrics.
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(f"seed must be a non-negative int, got {seed!r}")
    metrics = list(metrics)
    if not metrics:
        raise ConfigError("metrics must name at least one column")
    _check_columns(df, metrics, by_group, cluster_column)
    rows = [
        row
        for group, subset in _subsets(df, by_group)
        for row in _cells(
            group, subset, metrics, int(seed), n_resamples, confidence, cluster_column
        )
    ]
    summary = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    summary.attrs = {
        "method": "percentile bootstrap of the NaN-aware mean",
        "confidence": float(confidence),
        "n_resamples": int(n_resamples),
        "seed": int(seed),
        "cluster_column": cluster_column,
        "min_ci_subjects": MIN_CI_SUBJECTS,
        "ci_unreliable_note": CI_UNRELIABLE_NOTE,
    }
    return summary


def _cells(
    group: str,
    subset: pd.DataFrame,
    metrics: list[str],
    seed: int,
    n_resamples: int,
    confidence: float,
    cluster_column: str | None,
) -> list[dict[str, Any]]:
    """Summary rows of one group: each class × metric, in order of first appearance."""
    rows: list[dict[str, Any]] = []
    for cls, part in subset.groupby("class", sort=False):
        clusters = part[cluster_column].to_numpy() if cluster_column else None
        for metric in metrics:
            values = pd.to_numeric(part[metric], errors="coerce").to_numpy(dtype=float)
            mean, low, high = bootstrap_ci(
                values,
                seed=_cell_rng(seed, group, str(cls), metric),
                n_resamples=n_resamples,
                confidence=confidence,
                clusters=clusters,
            )
            valid = ~np.isnan(values)
            n_subjects = len(set(clusters[valid])) if clusters is not None else int(valid.sum())
            rows.append(
                {
                    "group": group,
                    "class": str(cls),
                    "metric": metric,
                    "mean": mean,
                    "ci_low": low,
                    "ci_high": high,
                    "n": int(np.count_nonzero(valid)),
                    "n_subjects": n_subjects,
                    "ci_reliable": n_subjects >= MIN_CI_SUBJECTS,
                }
            )
    return rows


def _check_columns(
    df: pd.DataFrame, metrics: list[str], by_group: bool, cluster_column: str | None
) -> None:
    """Raise DataError naming the columns ``summarise`` needs and ``df`` lacks."""
    needed = ["class", *metrics]
    if by_group:
        needed.append("group")
    if cluster_column is not None:
        needed.append(cluster_column)
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise DataError(
            f"per-image table lacks column(s) {', '.join(missing)}; has {', '.join(df.columns)}"
        )


def _subsets(df: pd.DataFrame, by_group: bool) -> list[tuple[str, pd.DataFrame]]:
    """``("all", df)``, then each group's rows sorted by name when ``by_group``."""
    subsets: list[tuple[str, pd.DataFrame]] = [(OVERALL_GROUP, df)]
    if by_group:
        groups = df["group"].astype(str)
        if (groups == OVERALL_GROUP).any():
            raise DataError(
                f"group name {OVERALL_GROUP!r} is reserved for the all-images summary; "
                "rename that group"
            )
        subsets += [(g, df[groups == g]) for g in sorted(groups.unique())]
    return subsets


def _format_cell(
    mean: float, low: float, high: float, scale: float, decimals: int, *, reliable: bool = True
) -> str:
    if math.isnan(mean):
        return "n/a"
    text = f"{mean * scale:.{decimals}f}"
    if math.isnan(low) or math.isnan(high):
        return f"{text} [n/a]"
    mark = "" if reliable else _UNRELIABLE_MARK
    return f"{text} [{low * scale:.{decimals}f}, {high * scale:.{decimals}f}]{mark}"


def summary_markdown(
    summary: pd.DataFrame,
    *,
    per_image: pd.DataFrame | None = None,
    title: str = "Evaluation",
) -> str:
    """Render ``summary`` as Markdown: one table per group, rows = class.

    Cells read ``mean [low, high]``; Dice, IoU, precision, recall and relative area error
    in % (1 decimal), HD95 in px and component error in components (2 decimals). Metrics
    absent from ``summary`` are left out. ``per_image`` (optional) supplies image counts
    for the group headings.

    Returns:
        Markdown text ending in a newline.
    """
    attrs = summary.attrs
    confidence = float(attrs.get("confidence", 0.95))
    ci = f"{confidence * 100:g}% CI"
    columns = [m for m in _MARKDOWN_COLUMNS if m in set(summary["metric"])]
    resampled = (
        "clusters of " + attrs["cluster_column"] if attrs.get("cluster_column") else "images"
    )
    lines = [
        f"# {title}",
        "",
        f"Mean per image with percentile-bootstrap {ci} ({attrs.get('n_resamples', '?')} "
        f"resamples of {resampled}, seed {attrs.get('seed', '?')}). "
        "Dice, IoU, precision, recall and area error in %; HD95 (MONAI definition) in px. "
        "n = images where Dice is defined (class in prediction or reference); "
        "HD95 n = images where both have the class.",
    ]
    for group, part in summary.groupby("group", sort=False):
        heading = f"## {group}"
        if per_image is not None and "image_id" in per_image.columns:
            images = per_image if group == OVERALL_GROUP else per_image[per_image["group"] == group]
            heading += f" ({images['image_id'].nunique()} images)"
        lines += ["", heading, "", *_group_table(part, columns, ci)]
        note = _few_subjects_note(part)
        if note:
            lines += ["", note]
    return "\n".join(lines) + "\n"


def _few_subjects_note(part: pd.DataFrame) -> str:
    """The footnote of a group's table whose intervals come from too few people, or ''."""
    if "ci_reliable" not in part.columns:
        return ""
    few = part[~part["ci_reliable"].astype(bool) & part["mean"].notna()]
    if not len(few):
        return ""
    low, high = int(few["n_subjects"].min()), int(few["n_subjects"].max())
    span = str(low) if low == high else f"{low} to {high}"
    note = f"{_UNRELIABLE_MARK} {CI_UNRELIABLE_NOTE} (this table: {span} subject(s)"
    if few["ci_low"].isna().any():
        note += "; [n/a]: one subject gives no interval"
    return note + ")."


def _group_table(part: pd.DataFrame, columns: list[str], ci: str) -> list[str]:
    """Markdown table lines of one group's summary rows: a row per class."""
    header = ["Class", "n", "HD95 n", *(f"{_MARKDOWN_COLUMNS[m][0]} [{ci}]" for m in columns)]
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
    for cls, by_class in part.groupby("class", sort=False):
        cells = by_class.set_index("metric")
        count = {
            m: str(int(cells.at[m, "n"])) if m in cells.index else "–" for m in ("dice", "hd95_px")
        }
        row = [str(cls), count["dice"], count["hd95_px"]]
        for m in columns:
            _, scale, decimals = _MARKDOWN_COLUMNS[m]
            if m not in cells.index:
                row.append("–")
                continue
            mean, low, high = (cells.at[m, k] for k in ("mean", "ci_low", "ci_high"))
            reliable = bool(cells.at[m, "ci_reliable"]) if "ci_reliable" in cells else True
            row.append(_format_cell(mean, low, high, scale, decimals, reliable=reliable))
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _json_safe(value: Any) -> Any:
    # JSON has no NaN; null is what every reader understands as "undefined".
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _spreadsheet_safe(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column].dtype):
            out[column] = out[column].map(safe_cell)
    return out


def write_evaluation(
    df: pd.DataFrame,
    summary: pd.DataFrame,
    out_dir: str | os.PathLike[str],
    *,
    title: str = "Evaluation",
    metadata: dict[str, Any] | None = None,
) -> dict[str, Path]:
    """Write per_image.csv, summary.csv, summary.json and summary.md into ``out_dir``.

    Args:
        df: per-image × class table (``evaluate_dataset`` output, plus any columns).
        summary: ``summarise`` output; its ``attrs`` settings go into the JSON and Markdown.
        out_dir: folder, created if missing; existing files of these names are replaced.
        title: Markdown heading.
        metadata: extra JSON-serialisable settings (model name, dataset, commit) merged
            into ``summary.json``'s ``settings``.

    Returns:
        Mapping ``per_image``, ``summary_csv``, ``summary_json``, ``summary_md`` -> path.

    Raises:
        ReportError: a file cannot be written.
    """
    out = Path(out_dir)
    paths = {
        "per_image": out / PER_IMAGE_NAME,
        "summary_csv": out / SUMMARY_CSV_NAME,
        "summary_json": out / SUMMARY_JSON_NAME,
        "summary_md": out / SUMMARY_MD_NAME,
    }
    # %.6g keeps files small and diff-friendly; it is far below the bootstrap's precision.
    # Ids and groups come from file and folder names: escaped so a spreadsheet shows them
    # as text, never runs them as formulas.
    per_image_safe, summary_safe = _spreadsheet_safe(df), _spreadsheet_safe(summary)
    write_with_atomic(
        paths["per_image"], lambda p: per_image_safe.to_csv(p, index=False, float_format="%.6g")
    )
    write_with_atomic(
        paths["summary_csv"], lambda p: summary_safe.to_csv(p, index=False, float_format="%.6g")
    )
    settings = {k: _json_safe(v) for k, v in summary.attrs.items()}
    settings.update(metadata or {})
    records = [
        {k: _json_safe(v) for k, v in record.items()}
        for record in summary.to_dict(orient="records")
    ]
    write_json_atomic(paths["summary_json"], {"settings": settings, "rows": records})
    write_text_atomic(paths["summary_md"], summary_markdown(summary, per_image=df, title=title))
    return paths
