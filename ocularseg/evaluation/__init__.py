"""Evaluation: per-image segmentation metrics, bootstrap CIs and summary files.

Pure NumPy/SciPy/pandas (imports ``io`` and ``core`` only, never torch or the CLI), so it
scores ONNX output and PyTorch output alike. See ``metrics`` for the exact metric
definitions (HD95 as MONAI) and the empty-mask policy.
"""

from __future__ import annotations

from ocularseg.evaluation.bootstrap import bootstrap_ci, make_rng
from ocularseg.evaluation.metrics import (
    DEFAULT_CLASSES,
    FLAG_ABSENT_BOTH,
    FLAG_ABSENT_PRED,
    FLAG_ABSENT_REF,
    FLAG_OK,
    METRIC_COLUMNS,
    ROW_COLUMNS,
    EmptyMaskWarning,
    boundary_mask,
    count_components,
    evaluate_dataset,
    evaluate_pair,
    hd95_px,
)
from ocularseg.evaluation.summary import (
    OVERALL_GROUP,
    SUMMARY_COLUMNS,
    SUMMARY_METRICS,
    summarise,
    summary_markdown,
    write_evaluation,
)

__all__ = [
    "DEFAULT_CLASSES",
    "FLAG_ABSENT_BOTH",
    "FLAG_ABSENT_PRED",
    "FLAG_ABSENT_REF",
    "FLAG_OK",
    "METRIC_COLUMNS",
    "OVERALL_GROUP",
    "ROW_COLUMNS",
    "SUMMARY_COLUMNS",
    "SUMMARY_METRICS",
    "EmptyMaskWarning",
    "boundary_mask",
    "bootstrap_ci",
    "count_components",
    "evaluate_dataset",
    "evaluate_pair",
    "hd95_px",
    "make_rng",
    "summarise",
    "summary_markdown",
    "write_evaluation",
]
