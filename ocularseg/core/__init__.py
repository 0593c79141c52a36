"""Core: labels, errors and the typed containers passed between stages (numpy + pydantic only)."""

from __future__ import annotations

from ocularseg.core.containers import (
    CROP_HEIGHT_PX,
    CROP_WIDTH_PX,
    EyeCrop,
    EyeMeasurement,
    FaceLandmarks,
    Frame,
    SegmentationResult,
    Side,
)
from ocularseg.core.errors import (
    ConfigError,
    DataError,
    DetectionError,
    InputError,
    ModelError,
    OcularsegError,
    ReportError,
)
from ocularseg.core.labels import LABEL_COLOURS_RGB, LABEL_NAMES, NUM_CLASSES, Label

__all__ = [
    "CROP_HEIGHT_PX",
    "CROP_WIDTH_PX",
    "ConfigError",
    "DataError",
    "DetectionError",
    "EyeCrop",
    "EyeMeasurement",
    "FaceLandmarks",
    "Frame",
    "InputError",
    "LABEL_COLOURS_RGB",
    "LABEL_NAMES",
    "Label",
    "ModelError",
    "NUM_CLASSES",
    "OcularsegError",
    "ReportError",
    "SegmentationResult",
    "Side",
]
