"""The per-eye chain, written once: landmark gate → clean-up → measure → quality → frame gates.

``analyze`` (``pipeline.process``), the real-set evaluation (``pipeline.evaluate_real``) and
the benchmarks all turn one segmented eye crop into numbers through :func:`run_eye_chain`,
so what they report is measured the same way. The between-frame steps (shared-radius refit,
agreement gates) need every eye of an input and stay in the pipeline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ocularseg.core.containers import EyeMeasurement, SegmentationResult, Side
from ocularseg.stages.cleanup import clean_label_map
from ocularseg.stages.gates import frame_gates
from ocularseg.stages.landmark_gate import LandmarkGateParams, apply_landmark_gate
from ocularseg.stages.measure import MeasureParams, measure_eye_crop
from ocularseg.stages.quality import mirror_agreement, outline_agreement, quality_score


@dataclass(frozen=True)
class EyeResult:
    """One eye crop measured.

    Attributes:
        gated: (H, W) uint8 label map after the landmark gate, before the clean-up (what
            the model drew, less what lies far from dlib's eye outline), crop px.
        labels: (H, W) uint8 label map that was measured (landmark-gated, cleaned when the
            clean-up is on), crop px.
        landmark_gate_removed_px: opening pixels the landmark gate removed (crop px).
        measurement: the values and flags of ``stages.measure``.
        mirror_agreement: agreement of the raw mask with the mirrored crop's (0–1; NaN
            without a mirror pass).
        outline_agreement: agreement of the measured opening with dlib's eye outline (0–1).
        quality: the segmentation quality signal (``stages.quality``), 0–1.
        gates_failed: names of the per-frame quality gates this eye fails (empty = passed).
    """

    gated: np.ndarray
    labels: np.ndarray
    landmark_gate_removed_px: int
    measurement: EyeMeasurement
    mirror_agreement: float
    outline_agreement: float
    quality: float
    gates_failed: tuple[str, ...]


def run_eye_chain(
    segmentation: SegmentationResult,
    image: np.ndarray,
    side: Side,
    scale_crop_per_frame: float,
    outline_px: np.ndarray,
    *,
    mirrored: SegmentationResult | None = None,
    measure: MeasureParams | None = None,
    landmark_gate: LandmarkGateParams | None = None,
    cleanup: bool = True,
) -> EyeResult:
    """Measure one segmented eye crop exactly as ``analyze`` does.

    Args:
        segmentation: the model's result for the crop (raw labels, whole-iris disc if any).
        image: (H, W, 3) uint8 RGB crop (lid refinement and the corneal reflex read it).
        side: the patient's side (``"right"`` = OD); the clean-up keeps the caruncle at
            that side's inner corner.
        scale_crop_per_frame: crop px per frame px.
        outline_px: (6, 2) dlib's eye points in crop px (landmark gate, gates, quality).
        mirrored: the model's result for the mirrored crop (mirror agreement), or None.
        measure: measurement and gate parameters (analyze's defaults when None).
        landmark_gate: landmark-gate parameters (analyze's defaults when None).
        cleanup: apply the anatomical clean-up (``--cleanup``, on in analyze).
    """
    params = measure or MeasureParams()
    gated, removed_px = apply_landmark_gate(
        segmentation.labels, outline_px, landmark_gate or LandmarkGateParams()
    )
    labels = clean_label_map(gated, side) if cleanup else gated
    measurement = measure_eye_crop(
        labels,
        side,
        params,
        scale_crop_per_frame,
        image=image,
        amodal_disc=segmentation.amodal_disc,
    )
    mirror_score = (
        math.nan if mirrored is None else mirror_agreement(segmentation.labels, mirrored.labels)
    )
    outline_score = outline_agreement(labels, outline_px)
    quality = quality_score(mirror_score, outline_score)
    gates = frame_gates(
        measurement.values, labels, outline_px, quality=quality, params=params.gates
    )
    return EyeResult(
        gated=gated,
        labels=labels,
        landmark_gate_removed_px=removed_px,
        measurement=measurement,
        mirror_agreement=mirror_score,
        outline_agreement=outline_score,
        quality=quality,
        gates_failed=gates,
    )
