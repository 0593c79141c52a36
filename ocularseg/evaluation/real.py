"""Scores of a model on real eyes with silver labels (``ocularseg data build-real`` datasets).

Pure scoring: the model and the per-eye chain run in ``pipeline.evaluate_real``, which hands
each eye's label maps and measurement here. The teacher knows the opening and the iris disc,
so the overlap metrics are computed on the unions (``evaluation.metrics``, reused on
relabelled maps):

* ``opening`` = sclera ∪ iris ∪ pupil ∪ caruncle vs the teacher's lid contour;
* ``iris_disc`` = iris ∪ pupil vs the teacher's iris circle ∩ the opening;
* ``sclera_caruncle`` = sclera ∪ caruncle vs the opening outside the disc.

Beside them, per eye, what a clinician would see (``analyze``'s path: the same crop, the
clean-up, the measurement stage):

* ``measured``: the eye is open for the teacher and ``analyze`` gives MRD1 and the visible
  iris fraction (no closed-eye or iris-not-found flag); ``measured_gated``: and it passes
  every per-frame quality gate of ``analyze``, i.e. the eye would enter the report's medians
  and indicators;
* ``mrd1_mm`` and ``visible_iris_fraction`` next to the teacher's (iris centre and radius
  from its iris landmarks, upper lid from its contour at the centre column, the same 11.7 mm
  ruler), and their differences;
* ``impossible``: the raw network output breaks anatomy (:func:`anatomy_violations`).

Bootstrap confidence intervals resample people (``subject``), as everywhere. Label maps are
(H, W) uint8 in crop px of the 480×320 eye crop.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import ndimage

from ocularseg.core.labels import Label, PartialLabel
from ocularseg.core.records import Flag
from ocularseg.evaluation.bootstrap import bootstrap_ci
from ocularseg.evaluation.metrics import EmptyMaskWarning, evaluate_dataset
from ocularseg.evaluation.placement import (
    CarunclePlacement,
    caruncle_placement,
    silver_class_dice,
)
from ocularseg.evaluation.summary import summarise, summary_markdown

#: Region names of the union metrics, in report order.
REGIONS: tuple[str, ...] = ("opening", "iris_disc", "sclera_caruncle")
_EIGHT = np.ones((3, 3), bool)
#: Components smaller than this (crop px) are specks, not a second iris or pupil.
MIN_BLOB_PX = 30
#: Measurement columns (``stages.measure``) copied into each eye's row, in row order.
MEASURE_COLUMNS: tuple[str, ...] = (
    "iris_cx_px",
    "iris_cy_px",
    "iris_radius_px",
    "iris_limbus_offset_r",
    "iris_limbus_radius_ratio",
    "mrd1_px",
    "mrd2_px",
    "mrd1_mm",
    "mrd2_mm",
    "fissure_height_mm",
    "mrd1_reflex_mm",
    "reflex_offset_r",
    "visible_iris_fraction",
    "pupil_iris_ratio",
    "pupil_radius_r",
    "pupil_offset_r",
)
#: A scored pair of union maps: (image id, group, prediction, reference).
UnionPair = tuple[str, str, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class TeacherReference:
    """What the teachers say about one eye (from its ``meta/NAME.json``; crop px).

    Attributes:
        iris_centre_px: (x, y) of the teacher's iris centre.
        iris_radius_px: the teacher's iris radius.
        upper_lid_px: (N, 2) its upper lid, outer → inner corner; None when not stored.
        silver_pupil: whether the second teacher saw a pupil.
        silver_pupil_reason: why it did not (``""`` when it did or was not run).
    """

    iris_centre_px: tuple[float, float]
    iris_radius_px: float
    upper_lid_px: np.ndarray | None = None
    silver_pupil: bool = False
    silver_pupil_reason: str = ""


@dataclass(frozen=True)
class EyeScoreInput:
    """One eye as the per-eye chain left it, with its silver map and where it came from.

    Attributes:
        image_id / subject / group / side: the sample's manifest row and side.
        teacher_open: the teacher calls the eye open.
        too_small: the crop was flagged ``too_small``.
        gated: raw prediction after the landmark gate (before the clean-up).
        cleaned: the map that was measured (what analyze reports and draws).
        silver: the silver (partial-label) map.
        values: the measurement's values (``stages.measure`` columns).
        flags: the measurement's flags.
        quality: the segmentation quality signal, 0–1.
        gates_failed: names of the per-frame gates the eye fails.
    """

    image_id: str
    subject: str
    group: str
    side: str
    teacher_open: bool
    too_small: bool
    gated: np.ndarray
    cleaned: np.ndarray
    silver: np.ndarray
    values: Mapping[str, float]
    flags: Sequence[str]
    quality: float
    gates_failed: Sequence[str]


@dataclass
class RealEvaluation:
    """Per-eye rows, the overlap summary with CIs and the measurement summary."""

    per_image: pd.DataFrame
    summary: pd.DataFrame
    eyes: pd.DataFrame
    measures: pd.DataFrame
    markdown: str


def region_maps(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two label maps for the union metrics of a full *or* silver map (H, W).

    Returns ``(opening_map, split_map)``: the first holds 1 on the opening, the second
    1 on sclera ∪ caruncle and 2 on the iris disc (0 elsewhere; ignored pixels are 0).
    """
    opening = np.isin(
        labels,
        (
            Label.SCLERA,
            Label.IRIS,
            Label.PUPIL,
            Label.CARUNCLE,
            PartialLabel.OPENING_NOT_DISC,
            PartialLabel.IRIS_DISC,
        ),
    )
    disc = np.isin(labels, (Label.IRIS, Label.PUPIL, PartialLabel.IRIS_DISC))
    split = np.where(disc, 2, np.where(opening, 1, 0)).astype(np.uint8)
    return opening.astype(np.uint8), split


def union_pairs(eye: EyeScoreInput) -> tuple[UnionPair, UnionPair]:
    """The opening pair and the disc / rest-of-opening pair of one eye.

    Pixels the teacher leaves unlabelled (beside the inner corner) are not scored.
    """
    pred_open, pred_split = region_maps(eye.gated)
    ref_open, ref_split = region_maps(eye.silver)
    ignored = eye.silver == PartialLabel.IGNORE
    for pred_map in (pred_open, pred_split):
        pred_map[ignored] = 0
    return (
        (eye.image_id, eye.group, pred_open, ref_open),
        (eye.image_id, eye.group, pred_split, ref_split),
    )


def anatomy_violations(labels: np.ndarray) -> list[str]:
    """Named anatomical impossibilities of a raw predicted label map (crop px).

    * ``pupil_touches_sclera`` / ``pupil_touches_caruncle``: 8-neighbours (see
      ``docs/measurements.md``: the pupil never touches them);
    * ``several_iris_discs`` / ``several_pupils``: more than one component of at least
      ``MIN_BLOB_PX`` pixels;
    * ``sclera_inside_iris``: sclera (or skin) enclosed by the iris disc.
    """
    problems = []
    pupil = labels == Label.PUPIL
    if pupil.any():
        grown = ndimage.binary_dilation(pupil, structure=_EIGHT)
        if (grown & (labels == Label.SCLERA)).any():
            problems.append("pupil_touches_sclera")
        if (grown & (labels == Label.CARUNCLE)).any():
            problems.append("pupil_touches_caruncle")
    disc = np.isin(labels, (Label.IRIS, Label.PUPIL))
    if _big_components(disc) > 1:
        problems.append("several_iris_discs")
    if _big_components(pupil) > 1:
        problems.append("several_pupils")
    holes = ndimage.binary_fill_holes(disc) & ~disc
    if holes.sum() >= MIN_BLOB_PX:
        problems.append("sclera_inside_iris")
    return problems


def _big_components(mask: np.ndarray) -> int:
    if not mask.any():
        return 0
    components, count = ndimage.label(mask, structure=_EIGHT)
    sizes = np.bincount(components.ravel())[1:]
    return int((sizes >= MIN_BLOB_PX).sum())


def teacher_measures(
    teacher: TeacherReference, silver: np.ndarray, iris_mm: float
) -> dict[str, float]:
    """MRD1 (mm) and visible iris fraction from the teacher, defined as ``measure`` does."""
    cx, cy = teacher.iris_centre_px
    radius = float(teacher.iris_radius_px)
    opening_map, split_map = region_maps(silver)
    opening, disc = opening_map > 0, split_map == 2
    column = math.floor(cx + 0.5)
    out = {"teacher_mrd1_mm": math.nan, "teacher_visible_iris_fraction": math.nan}
    if 0 <= column < silver.shape[1] and opening[:, column].any():
        top = int(np.argmax(opening[:, column]))
        out["teacher_mrd1_mm"] = (cy - (top - 0.5)) * iris_mm / (2 * radius)
    out["teacher_visible_iris_fraction"] = float(disc.sum()) / (math.pi * radius**2)
    return out


def pupil_status(flags: Sequence[str]) -> str:
    """The measurement's pupil verdict (``stages.pupil_check``): ``visible``, ``not_visible``,
    ``implausible``, or ``unchecked`` without an iris circle."""
    if Flag.IRIS_NOT_FOUND in flags or Flag.EYE_CLOSED in flags:
        return "unchecked"
    if Flag.PUPIL_NOT_VISIBLE in flags:
        return "not_visible"
    if Flag.PUPIL_IMPLAUSIBLE in flags:
        return "implausible"
    return "visible"


def class_placement_columns(
    labels: np.ndarray,
    cleaned: np.ndarray,
    silver: np.ndarray,
    teacher: TeacherReference,
    flags: Sequence[str],
) -> dict[str, Any]:
    """Caruncle placement and pupil columns of one eye (``evaluation.placement``).

    Placement and the ``*_dice_silver`` columns are the model's own (``labels``: after the
    landmark gate, before the clean-up, whose rule 4 would remove a misplaced caruncle by
    construction); ``caruncle_dice_silver_cleaned`` is what analyze reports and draws.
    The corners are the teacher's (its upper lid runs outer → inner corner; without its lids
    in the metadata the placement is unknown). ``pupil_status`` is :func:`pupil_status`;
    ``silver_pupil`` says whether the second teacher saw a pupil at all.
    """
    placement = CarunclePlacement(int((labels == Label.CARUNCLE).sum()), math.nan, 0)
    if teacher.upper_lid_px is not None:
        upper = np.asarray(teacher.upper_lid_px, float)
        placement = caruncle_placement(labels, inner_px=upper[-1], outer_px=upper[0])
    return {
        "caruncle_px": placement.caruncle_px,
        "caruncle_medial_share": placement.medial_share,
        "caruncle_lateral_px": placement.lateral_px,
        "caruncle_dice_silver": silver_class_dice(labels, silver, Label.CARUNCLE, Label.SCLERA),
        "caruncle_dice_silver_cleaned": silver_class_dice(
            cleaned, silver, Label.CARUNCLE, Label.SCLERA
        ),
        "pupil_status": pupil_status(flags),
        "silver_pupil": teacher.silver_pupil,
        "silver_pupil_reason": teacher.silver_pupil_reason,
        "pupil_dice_silver": silver_class_dice(labels, silver, Label.PUPIL, Label.IRIS),
    }


def eye_row(eye: EyeScoreInput, teacher: TeacherReference, iris_mm: float) -> dict[str, Any]:
    """One row of ``real_eyes.csv``: the eye's measures beside the teacher's."""
    values = eye.values
    reference = teacher_measures(teacher, eye.silver, iris_mm)
    violations = anatomy_violations(eye.gated)
    measured = math.isfinite(values["mrd1_mm"]) and math.isfinite(values["visible_iris_fraction"])
    return {
        "image_id": eye.image_id,
        "subject": eye.subject,
        "group": eye.group,
        "side": eye.side,
        "teacher_open": eye.teacher_open,
        "too_small": eye.too_small,
        "measured": measured,
        "quality": eye.quality,
        "gates_failed": ";".join(eye.gates_failed),
        "measured_gated": measured and not eye.gates_failed,
        "flags": ";".join(eye.flags),
        "impossible": bool(violations),
        "violations": ";".join(violations),
        **{column: values[column] for column in MEASURE_COLUMNS},
        **class_placement_columns(eye.gated, eye.cleaned, eye.silver, teacher, eye.flags),
        **reference,
        "mrd1_diff_mm": values["mrd1_mm"] - reference["teacher_mrd1_mm"],
        "vif_diff": values["visible_iris_fraction"] - reference["teacher_visible_iris_fraction"],
    }


def union_rows(opening_pairs: list[UnionPair], split_pairs: list[UnionPair]) -> pd.DataFrame:
    """Per-eye overlap rows of the three regions (``evaluate_dataset`` columns)."""
    with warnings.catch_warnings():
        # Closed eyes have no opening on either side: NaN by the documented policy.
        warnings.simplefilter("ignore", EmptyMaskWarning)
        opening = evaluate_dataset(opening_pairs, classes=[1])
        split = evaluate_dataset(split_pairs, classes=[1, 2])
    opening["class"] = "opening"
    split["class"] = split["label"].map({1: "sclera_caruncle", 2: "iris_disc"})
    return pd.concat([opening, split], ignore_index=True)


@dataclass(frozen=True)
class _Measure:
    """One row of the measurement summary: a statistic of ``values`` over ``frame``'s eyes."""

    name: str
    frame: pd.DataFrame
    values: Any
    statistic: str


def _agreement_measures(eyes: pd.DataFrame) -> list[_Measure]:
    """Share measured, impossible masks and MRD1 / VIF agreement (eyes the teacher calls open;
    agreement rows use eyes measured by both)."""
    open_eyes = eyes[eyes["teacher_open"]]
    both = open_eyes[open_eyes["measured"] & np.isfinite(open_eyes["teacher_mrd1_mm"])]
    gated = open_eyes[open_eyes["measured_gated"] & np.isfinite(open_eyes["teacher_mrd1_mm"])]
    return [
        _Measure("measured_share", open_eyes, open_eyes["measured"].astype(float), "mean"),
        _Measure(
            "measured_gated_share", open_eyes, open_eyes["measured_gated"].astype(float), "mean"
        ),
        _Measure("mrd1_abs_diff_gated_mm", gated, gated["mrd1_diff_mm"].abs(), "median"),
        _Measure("impossible_share", open_eyes, open_eyes["impossible"].astype(float), "mean"),
        _Measure("mrd1_abs_diff_mm", both, both["mrd1_diff_mm"].abs(), "median"),
        _Measure("mrd1_diff_mm", both, both["mrd1_diff_mm"], "median"),
        _Measure("vif_abs_diff", both, both["vif_diff"].abs(), "median"),
        _Measure("vif_diff", both, both["vif_diff"], "median"),
    ]


def _placement_measures(open_eyes: pd.DataFrame) -> list[_Measure]:
    """Caruncle placement and pupil rows (eyes the teacher calls open)."""
    with_caruncle = open_eyes[open_eyes["caruncle_px"] > 0]
    checked = open_eyes[open_eyes["pupil_status"] != "unchecked"]
    painted = checked[checked["pupil_status"] != "not_visible"]
    dark = checked[checked["silver_pupil_reason"] == "low_contrast"]
    pupil = open_eyes[np.isfinite(open_eyes["pupil_dice_silver"])]
    caruncle = open_eyes[np.isfinite(open_eyes["caruncle_dice_silver"])]
    status = checked["pupil_status"]
    return [
        _Measure("caruncle_predicted_share", open_eyes, open_eyes["caruncle_px"] > 0, "mean"),
        _Measure(
            "caruncle_medial_share", with_caruncle, with_caruncle["caruncle_medial_share"], "mean"
        ),
        _Measure(
            "caruncle_in_lateral_half_share",
            with_caruncle,
            with_caruncle["caruncle_lateral_px"] > 0,
            "mean",
        ),
        _Measure("caruncle_dice_silver", caruncle, caruncle["caruncle_dice_silver"], "mean"),
        _Measure(
            "caruncle_dice_silver_cleaned",
            caruncle,
            caruncle["caruncle_dice_silver_cleaned"],
            "mean",
        ),
        _Measure("pupil_predicted_share", checked, status != "not_visible", "mean"),
        _Measure("pupil_plausible_share", painted, painted["pupil_status"] == "visible", "mean"),
        _Measure("pupil_shown_dark_iris_share", dark, dark["pupil_status"] == "visible", "mean"),
        _Measure("pupil_dice_silver", pupil, pupil["pupil_dice_silver"], "mean"),
    ]


def measure_summary(eyes: pd.DataFrame, *, seed: int, n_resamples: int) -> pd.DataFrame:
    """Share measured, impossible masks and agreement with the teacher, with 95 % CIs.

    Computed on eyes the teacher calls open. Agreement rows use eyes measured by both; the
    caruncle and pupil rows come when ``eyes`` has the placement columns. One Generator
    seeded with ``seed`` serves the rows in order; CIs resample people (``subject``).
    """
    measures = _agreement_measures(eyes)
    if "caruncle_px" in eyes:
        measures += _placement_measures(eyes[eyes["teacher_open"]])
    rng = np.random.default_rng(seed)
    return pd.DataFrame([_measure_row(m, rng, n_resamples) for m in measures])


def _measure_row(measure: _Measure, rng: np.random.Generator, n_resamples: int) -> dict[str, Any]:
    statistic = np.nanmedian if measure.statistic == "median" else np.nanmean
    estimate, low, high = (math.nan, math.nan, math.nan)
    if len(measure.values):
        estimate, low, high = bootstrap_ci(
            np.asarray(measure.values, dtype=float),
            statistic=statistic,
            clusters=measure.frame["subject"].to_numpy(),
            n_resamples=n_resamples,
            seed=rng,
        )
    return {
        "measure": measure.name,
        "statistic": measure.statistic,
        "value": estimate,
        "ci_low": low,
        "ci_high": high,
        "n_eyes": int(len(measure.values)),
        "n_people": int(measure.frame["subject"].nunique()),
    }


def measures_markdown(measures: pd.DataFrame) -> str:
    """The measurement summary as one Markdown table (value [95 % CI], eyes, people)."""
    lines = [
        "| measure (open eyes) | statistic | value [95 % CI] | eyes | people |",
        "|---|---|---|---:|---:|",
    ]
    for r in measures.itertuples():
        lines.append(
            f"| {r.measure} | {r.statistic} | {r.value:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}] "
            f"| {r.n_eyes} | {r.n_people} |"
        )
    return "\n".join(lines)


def score_real_eyes(
    scored: Sequence[tuple[EyeScoreInput, TeacherReference]],
    *,
    iris_mm: float,
    seed: int,
    n_resamples: int,
    title: str,
) -> RealEvaluation:
    """Overlap rows and summary, per-eye rows and the measurement summary of scored eyes.

    Args:
        scored: each eye with what the teachers say about it, in dataset order.
        iris_mm: the iris-diameter ruler (mm) the measurement used.
        seed / n_resamples: the bootstrap's.
        title: the Markdown heading.
    """
    opening_pairs, split_pairs = [], []
    for eye, _ in scored:
        opening, split = union_pairs(eye)
        opening_pairs.append(opening)
        split_pairs.append(split)
    per_image = union_rows(opening_pairs, split_pairs)
    subjects = {eye.image_id: eye.subject for eye, _ in scored}
    per_image.insert(1, "subject", per_image["image_id"].map(subjects))
    summary = summarise(per_image, seed=seed, n_resamples=n_resamples, cluster_column="subject")
    eyes = pd.DataFrame([eye_row(eye, teacher, iris_mm) for eye, teacher in scored])
    measures = measure_summary(eyes, seed=seed, n_resamples=n_resamples)
    markdown = (
        summary_markdown(summary, per_image=per_image, title=title)
        + "\n\n"
        + measures_markdown(measures)
    )
    return RealEvaluation(per_image, summary, eyes, measures, markdown)


def write_real_evaluation(result: RealEvaluation, out_dir: str | os.PathLike[str]) -> None:
    """Write real_per_image.csv, real_eyes.csv, real_summary.csv, real_measures.csv and
    real_summary.md into ``out_dir`` (created), each atomically."""
    from ocularseg.io.atomic import write_text_atomic

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "real_per_image.csv", result.per_image.to_csv(index=False))
    write_text_atomic(out / "real_eyes.csv", result.eyes.to_csv(index=False))
    write_text_atomic(out / "real_summary.csv", result.summary.to_csv(index=False))
    write_text_atomic(out / "real_measures.csv", result.measures.to_csv(index=False))
    write_text_atomic(out / "real_summary.md", result.markdown + "\n")
