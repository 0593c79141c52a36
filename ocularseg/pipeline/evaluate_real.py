"""Score a model on real eyes with silver labels (``ocularseg data build-real`` datasets).

The teacher knows the opening and the iris disc, so the overlap metrics are computed on
the unions (``ocularseg.evaluation`` metrics, reused on relabelled maps):

* ``opening`` = sclera ∪ iris ∪ pupil ∪ caruncle vs the teacher's lid contour;
* ``iris_disc`` = iris ∪ pupil vs the teacher's iris circle ∩ the opening;
* ``sclera_caruncle`` = sclera ∪ caruncle vs the opening outside the disc.

Beside them, per eye, what a clinician would see (``analyze``'s path: the same crop, the
clean-up, the measurement stage):

* ``measured``: the eye is open for the teacher and ``analyze`` gives MRD1 and the visible
  iris fraction (no closed-eye or iris-not-found flag); ``measured_gated``: and it passes
  every per-frame quality gate of ``analyze`` (``stages.gates``, with the quality signal of
  ``stages.quality``), i.e. the eye would enter the report's medians and indicators;
* ``mrd1_mm`` and ``visible_iris_fraction`` next to the teacher's (iris centre and radius
  from its iris landmarks, upper lid from its contour at the centre column, the same 11.7 mm
  ruler), and their differences;
* ``impossible``: the raw network output breaks anatomy (:func:`anatomy_violations`).

Bootstrap confidence intervals resample people (``subject``), as everywhere.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import ndimage

from ocularseg.core.containers import SegmentationResult
from ocularseg.core.labels import Label, PartialLabel
from ocularseg.data.manifest import ManifestRow, read_manifest
from ocularseg.evaluation import evaluate_dataset, summarise, summary_markdown
from ocularseg.evaluation.bootstrap import bootstrap_ci
from ocularseg.evaluation.placement import (
    CarunclePlacement,
    caruncle_placement,
    silver_class_dice,
)
from ocularseg.io.images import read_image_rgb, read_image_unchanged
from ocularseg.pipeline.evaluate import select_rows
from ocularseg.stages.eye import run_eye_chain
from ocularseg.stages.landmark_gate import LandmarkGateParams
from ocularseg.stages.measure import MeasureParams
from ocularseg.stages.pupil_check import FLAG_PUPIL_IMPLAUSIBLE, FLAG_PUPIL_NOT_VISIBLE
from ocularseg.stages.quality import (
    mirror,
    mirror_points,
)

log = logging.getLogger(__name__)

#: Region names of the union metrics, in report order.
REGIONS: tuple[str, ...] = ("opening", "iris_disc", "sclera_caruncle")
_EIGHT = np.ones((3, 3), bool)
#: Components smaller than this (crop px) are specks, not a second iris or pupil.
MIN_BLOB_PX = 30


@dataclass
class RealEvaluation:
    """Per-eye rows, the overlap summary with CIs and the measurement summary."""

    per_image: pd.DataFrame
    summary: pd.DataFrame
    eyes: pd.DataFrame
    measures: pd.DataFrame
    markdown: str


def is_silver_dataset(data_dir: str | os.PathLike[str]) -> bool:
    """True for a dataset built by ``data build-real`` (it has a build_report.json and its
    first mask holds partial labels)."""
    root = Path(data_dir)
    if not (root / "build_report.json").is_file():
        return False
    rows = read_manifest(root)
    return bool(rows) and bool((read_image_unchanged(root / rows[0].mask) >= 10).any())


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


def anatomy_violations(labels: np.ndarray) -> list[str]:
    """Named anatomical impossibilities of a raw predicted label map (crop px).

    * ``pupil_touches_sclera`` / ``pupil_touches_caruncle``: 8-neighbours (CLINICAL.md: the
      pupil never touches them);
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


def teacher_measures(meta: dict[str, Any], silver: np.ndarray, iris_mm: float) -> dict[str, float]:
    """MRD1 (mm) and visible iris fraction from the teacher, defined as ``measure`` does."""
    teacher = meta["teacher"]
    cx, cy = teacher["iris_centre_crop_px"]
    radius = float(teacher["iris_radius_crop_px"])
    opening_map, split_map = region_maps(silver)
    opening, disc = opening_map > 0, split_map == 2
    column = math.floor(cx + 0.5)
    out = {"teacher_mrd1_mm": math.nan, "teacher_visible_iris_fraction": math.nan}
    if 0 <= column < silver.shape[1] and opening[:, column].any():
        top = int(np.argmax(opening[:, column]))
        out["teacher_mrd1_mm"] = (cy - (top - 0.5)) * iris_mm / (2 * radius)
    out["teacher_visible_iris_fraction"] = float(disc.sum()) / (math.pi * radius**2)
    return out


def class_placement_columns(
    labels: np.ndarray,
    cleaned: np.ndarray,
    silver: np.ndarray,
    meta: dict[str, Any],
    flags: Sequence[str],
) -> dict[str, Any]:
    """Caruncle placement and pupil columns of one eye (``evaluation.placement``).

    Placement and the ``*_dice_silver`` columns are the model's own (``labels``: after the
    landmark gate, before the clean-up, whose rule 4 would remove a misplaced caruncle by
    construction); ``caruncle_dice_silver_cleaned`` is what analyze reports and draws.
    The corners are the teacher's (its upper lid runs outer → inner corner; without its lids
    in the metadata the placement is unknown). ``pupil_status``
    is the measurement's verdict (``stages.pupil_check``; ``unchecked`` without an iris
    circle); ``silver_pupil`` says whether the second teacher saw a pupil at all.
    """
    upper_lid = meta.get("teacher", {}).get("upper_lid_crop_px")
    placement = CarunclePlacement(int((labels == Label.CARUNCLE).sum()), math.nan, 0)
    if upper_lid is not None:
        upper = np.asarray(upper_lid, float)
        placement = caruncle_placement(labels, inner_px=upper[-1], outer_px=upper[0])
    status = "unchecked"
    if "iris_not_found" not in flags and "eye_closed" not in flags:
        status = "visible"
        if FLAG_PUPIL_NOT_VISIBLE in flags:
            status = "not_visible"
        elif FLAG_PUPIL_IMPLAUSIBLE in flags:
            status = "implausible"
    evidence = meta.get("silver_image", {}).get("pupil", {})
    return {
        "caruncle_px": placement.caruncle_px,
        "caruncle_medial_share": placement.medial_share,
        "caruncle_lateral_px": placement.lateral_px,
        "caruncle_dice_silver": silver_class_dice(labels, silver, Label.CARUNCLE, Label.SCLERA),
        "caruncle_dice_silver_cleaned": silver_class_dice(
            cleaned, silver, Label.CARUNCLE, Label.SCLERA
        ),
        "pupil_status": status,
        "silver_pupil": bool(evidence.get("found", False)),
        "silver_pupil_reason": str(evidence.get("reason", "")),
        "pupil_dice_silver": silver_class_dice(labels, silver, Label.PUPIL, Label.IRIS),
    }


def _predictions(
    root: Path,
    rows: list[ManifestRow],
    metas: dict[str, dict[str, Any]],
    model_dir: Path,
    device: str,
    batch_size: int,
    use_landmarks: bool,
) -> Iterator[tuple[ManifestRow, np.ndarray, SegmentationResult, SegmentationResult]]:
    """(row, crop image, segmentation, segmentation of the mirrored crop) per eye, as
    analyze segments them."""
    from ocularseg.stages.segment import Segmenter

    segmenter = Segmenter(model_dir, device=device, batch_size=batch_size)
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        images = [read_image_rgb(root / r.image) for r in chunk]
        points = [
            np.asarray(metas[r.stem]["dlib_eye_points_crop_px"], float) if use_landmarks else None
            for r in chunk
        ]
        results = segmenter.segment(images, points)
        width = images[0].shape[1]
        mirrored = segmenter.segment(
            [mirror(image) for image in images],
            [None if p is None else mirror_points(p, width) for p in points],
        )
        yield from zip(chunk, images, results, mirrored, strict=True)


def evaluate_real(
    data_dir: str | os.PathLike[str],
    model_dir: str | os.PathLike[str],
    *,
    split: str = "test",
    seed: int = 0,
    n_resamples: int = 1000,
    device: str = "auto",
    batch_size: int = 8,
    out_dir: str | os.PathLike[str] | None = None,
    use_landmarks: bool = True,
    landmark_gate: bool = True,
    groups: Sequence[str] | None = None,
    measure_params: MeasureParams | None = None,
) -> RealEvaluation:
    """Evaluate ``model_dir`` on the ``split`` of a silver dataset (see module docstring).

    Args:
        use_landmarks: give a landmark-prior model dlib's eye points (as analyze does);
            False gives it the template, as for crops that come without landmarks.
        landmark_gate: apply analyze's landmark gate (``stages.landmark_gate``) to the
            prediction before scoring and measuring (on, as in analyze; False scores the
            model's raw mask).
        groups: score only the eyes of these manifest groups (sources), e.g.
            ``("london-neutral", "canada")``; None scores every group of the split.
        measure_params: the measurement stage's parameters (default: analyze's).

    Writes ``real_per_image.csv``, ``real_eyes.csv``, ``real_summary.csv`` and
    ``real_summary.md`` into ``out_dir`` when given.
    """
    root = Path(data_dir)
    rows = select_rows(read_manifest(root), split)
    if groups is not None:
        rows = [r for r in rows if r.group in set(groups)]
    metas = {r.stem: json.loads((root / r.meta).read_text(encoding="utf-8")) for r in rows}
    params = measure_params or MeasureParams()
    opening_pairs: list[tuple[str, str, np.ndarray, np.ndarray]] = []
    split_pairs: list[tuple[str, str, np.ndarray, np.ndarray]] = []
    eyes: list[dict[str, Any]] = []
    predictions = _predictions(
        root, rows, metas, Path(model_dir), device, batch_size, use_landmarks
    )
    gate = LandmarkGateParams(enabled=landmark_gate)
    for row, image, segmentation, mirrored in predictions:
        silver = read_image_unchanged(root / row.mask)
        meta = metas[row.stem]
        outline = np.asarray(meta["dlib_eye_points_crop_px"], float)
        # analyze's per-eye chain (stages.eye): landmark gate, clean-up, measurement with the
        # crop image, quality signal and per-frame gates (a still: no between-frame gates).
        eye = run_eye_chain(
            segmentation,
            image,
            meta["side"],
            meta["scale_crop_per_frame"],
            outline,
            mirrored=mirrored,
            measure=params,
            landmark_gate=gate,
        )
        labels, cleaned, measurement = eye.gated, eye.labels, eye.measurement
        pred_open, pred_split = region_maps(labels)
        ref_open, ref_split = region_maps(silver)
        # Pixels the teacher leaves unlabelled (beside the inner corner) are not scored.
        ignored = silver == PartialLabel.IGNORE
        for pred_map in (pred_open, pred_split):
            pred_map[ignored] = 0
        opening_pairs.append((row.stem, row.group, pred_open, ref_open))
        split_pairs.append((row.stem, row.group, pred_split, ref_split))
        values = measurement.values
        teacher = teacher_measures(meta, silver, params.iris_diameter_mm)
        classes = class_placement_columns(labels, cleaned, silver, meta, measurement.flags)
        violations = anatomy_violations(labels)
        measured = math.isfinite(values["mrd1_mm"]) and math.isfinite(
            values["visible_iris_fraction"]
        )
        quality, gates = eye.quality, eye.gates_failed
        eyes.append(
            {
                "image_id": row.stem,
                "subject": row.subject,
                "group": row.group,
                "side": meta["side"],
                "teacher_open": bool(meta["open"]),
                "too_small": "too_small" in meta["crop_flags"],
                "measured": measured,
                "quality": quality,
                "gates_failed": ";".join(gates),
                "measured_gated": measured and not gates,
                "flags": ";".join(measurement.flags),
                "impossible": bool(violations),
                "violations": ";".join(violations),
                "iris_cx_px": values["iris_cx_px"],
                "iris_cy_px": values["iris_cy_px"],
                "iris_radius_px": values["iris_radius_px"],
                "iris_limbus_offset_r": values["iris_limbus_offset_r"],
                "iris_limbus_radius_ratio": values["iris_limbus_radius_ratio"],
                "mrd1_px": values["mrd1_px"],
                "mrd2_px": values["mrd2_px"],
                "mrd1_mm": values["mrd1_mm"],
                "mrd2_mm": values["mrd2_mm"],
                "fissure_height_mm": values["fissure_height_mm"],
                "mrd1_reflex_mm": values["mrd1_reflex_mm"],
                "reflex_offset_r": values["reflex_offset_r"],
                "visible_iris_fraction": values["visible_iris_fraction"],
                "pupil_iris_ratio": values["pupil_iris_ratio"],
                "pupil_radius_r": values["pupil_radius_r"],
                "pupil_offset_r": values["pupil_offset_r"],
                **classes,
                **teacher,
                "mrd1_diff_mm": values["mrd1_mm"] - teacher["teacher_mrd1_mm"],
                "vif_diff": values["visible_iris_fraction"]
                - teacher["teacher_visible_iris_fraction"],
            }
        )
    per_image = _union_rows(opening_pairs, split_pairs)
    subjects = {r.stem: r.subject for r in rows}
    per_image.insert(1, "subject", per_image["image_id"].map(subjects))
    summary = summarise(per_image, seed=seed, n_resamples=n_resamples, cluster_column="subject")
    eye_frame = pd.DataFrame(eyes)
    measures = measure_summary(eye_frame, seed=seed, n_resamples=n_resamples)
    title = (
        f"Real eyes: {root.name} ({split}, {len(rows)} eyes, {len(set(subjects.values()))} people)"
    )
    markdown = (
        summary_markdown(summary, per_image=per_image, title=title)
        + "\n\n"
        + measures_markdown(measures)
    )
    if out_dir is not None:
        from ocularseg.io.atomic import write_text_atomic

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out / "real_per_image.csv", per_image.to_csv(index=False))
        write_text_atomic(out / "real_eyes.csv", eye_frame.to_csv(index=False))
        write_text_atomic(out / "real_summary.csv", summary.to_csv(index=False))
        write_text_atomic(out / "real_measures.csv", measures.to_csv(index=False))
        write_text_atomic(out / "real_summary.md", markdown + "\n")
    return RealEvaluation(per_image, summary, eye_frame, measures, markdown)


def _union_rows(opening_pairs, split_pairs) -> pd.DataFrame:
    import warnings

    from ocularseg.evaluation.metrics import EmptyMaskWarning

    with warnings.catch_warnings():
        # Closed eyes have no opening on either side: NaN by the documented policy.
        warnings.simplefilter("ignore", EmptyMaskWarning)
        opening = evaluate_dataset(opening_pairs, classes=[1])
        split = evaluate_dataset(split_pairs, classes=[1, 2])
    opening["class"] = "opening"
    split["class"] = split["label"].map({1: "sclera_caruncle", 2: "iris_disc"})
    return pd.concat([opening, split], ignore_index=True)


def measure_summary(eyes: pd.DataFrame, *, seed: int, n_resamples: int) -> pd.DataFrame:
    """Share measured, impossible masks and agreement with the teacher, with 95 % CIs.

    Computed on eyes the teacher calls open. Agreement rows use eyes measured by both.
    """
    open_eyes = eyes[eyes["teacher_open"]]
    both = open_eyes[open_eyes["measured"] & np.isfinite(open_eyes["teacher_mrd1_mm"])]
    gated = open_eyes[open_eyes["measured_gated"] & np.isfinite(open_eyes["teacher_mrd1_mm"])]
    rng = np.random.default_rng(seed)
    specs = [
        ("measured_share", open_eyes, open_eyes["measured"].astype(float), "mean"),
        ("measured_gated_share", open_eyes, open_eyes["measured_gated"].astype(float), "mean"),
        ("mrd1_abs_diff_gated_mm", gated, gated["mrd1_diff_mm"].abs(), "median"),
        ("impossible_share", open_eyes, open_eyes["impossible"].astype(float), "mean"),
        ("mrd1_abs_diff_mm", both, both["mrd1_diff_mm"].abs(), "median"),
        ("mrd1_diff_mm", both, both["mrd1_diff_mm"], "median"),
        ("vif_abs_diff", both, both["vif_diff"].abs(), "median"),
        ("vif_diff", both, both["vif_diff"], "median"),
    ]
    if "caruncle_px" in eyes:
        with_caruncle = open_eyes[open_eyes["caruncle_px"] > 0]
        checked = open_eyes[open_eyes["pupil_status"] != "unchecked"]
        painted = checked[checked["pupil_status"] != "not_visible"]
        dark = checked[checked["silver_pupil_reason"] == "low_contrast"]
        silver_pupil = open_eyes[np.isfinite(open_eyes["pupil_dice_silver"])]
        silver_caruncle = open_eyes[np.isfinite(open_eyes["caruncle_dice_silver"])]
        specs += [
            ("caruncle_predicted_share", open_eyes, open_eyes["caruncle_px"] > 0, "mean"),
            (
                "caruncle_medial_share",
                with_caruncle,
                with_caruncle["caruncle_medial_share"],
                "mean",
            ),
            (
                "caruncle_in_lateral_half_share",
                with_caruncle,
                with_caruncle["caruncle_lateral_px"] > 0,
                "mean",
            ),
            (
                "caruncle_dice_silver",
                silver_caruncle,
                silver_caruncle["caruncle_dice_silver"],
                "mean",
            ),
            (
                "caruncle_dice_silver_cleaned",
                silver_caruncle,
                silver_caruncle["caruncle_dice_silver_cleaned"],
                "mean",
            ),
            ("pupil_predicted_share", checked, checked["pupil_status"] != "not_visible", "mean"),
            ("pupil_plausible_share", painted, painted["pupil_status"] == "visible", "mean"),
            ("pupil_shown_dark_iris_share", dark, dark["pupil_status"] == "visible", "mean"),
            ("pupil_dice_silver", silver_pupil, silver_pupil["pupil_dice_silver"], "mean"),
        ]
    rows = []
    for name, frame, values, stat in specs:
        statistic = np.nanmedian if stat == "median" else np.nanmean
        estimate, low, high = (math.nan, math.nan, math.nan)
        if len(values):
            estimate, low, high = bootstrap_ci(
                np.asarray(values, dtype=float),
                statistic=statistic,
                clusters=frame["subject"].to_numpy(),
                n_resamples=n_resamples,
                seed=rng,
            )
        rows.append(
            {
                "measure": name,
                "statistic": stat,
                "value": estimate,
                "ci_low": low,
                "ci_high": high,
                "n_eyes": int(len(values)),
                "n_people": int(frame["subject"].nunique()),
            }
        )
    return pd.DataFrame(rows)


def measures_markdown(measures: pd.DataFrame) -> str:
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
