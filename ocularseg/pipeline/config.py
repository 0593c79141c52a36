"""Effective configuration of an analysis run.

Packaged defaults < user YAML (``--config``) < command-line flags. The effective config is
written into every run's ``run.json`` and hashed for ``--resume``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ocularseg.core.report_params import ReportParams
from ocularseg.io.config_files import read_yaml_mapping, validate_config
from ocularseg.io.images import DEFAULT_MAX_IMAGE_PIXELS
from ocularseg.stages.crop import CropParams
from ocularseg.stages.face import FaceParams
from ocularseg.stages.keyframes import KeyframeParams
from ocularseg.stages.landmark_gate import LandmarkGateParams
from ocularseg.stages.measure import MeasureParams

DEFAULT_MODEL_NAME = "ocularseg-unet-real"


class AnalyzeConfig(BaseModel):
    """Every option of ``ocularseg analyze`` (units in the names and descriptions)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: Path | None = Field(
        None, description=f"model folder; null = the bundled '{DEFAULT_MODEL_NAME}'"
    )
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="ONNX Runtime device")
    batch_size: int = Field(8, ge=1, le=256, description="eye crops per segmentation batch")
    keyframes: int = Field(8, ge=1, le=500, description="key frames per video (key-frame mode)")
    fps: float | None = Field(
        None, gt=0, le=120, description="time-series mode: analyse frames at this rate (Hz)"
    )
    max_candidates: int = Field(
        120, ge=1, description="frames scored per video when choosing key frames"
    )
    max_seconds: float | None = Field(
        None, gt=0, description="analyse only the first seconds of each video (null = all)"
    )
    max_image_megapixels: float = Field(
        DEFAULT_MAX_IMAGE_PIXELS / 1e6,
        gt=0,
        le=1000,
        description="refuse images and video frames larger than this (width × height, "
        "megapixels); checked on the file header before decoding",
    )
    cleanup: bool = Field(True, description="anatomical clean-up before measuring (recorded)")
    save_crops: bool = Field(True, description="keep the eye crops and raw label maps (PNG)")
    overlays: bool = Field(True, description="write overlay PNGs and a contact sheet per input")
    pages: bool = Field(
        True,
        description="write the one-page report per input (report.png, report.pdf, chart.png); "
        "off for large batches of photographs, where drawing them takes most of the time",
    )
    face: FaceParams = Field(default_factory=FaceParams)
    crop: CropParams = Field(default_factory=CropParams)
    keyframe: KeyframeParams = Field(default_factory=KeyframeParams)
    measure: MeasureParams = Field(default_factory=MeasureParams)
    landmark_gate: LandmarkGateParams = Field(default_factory=LandmarkGateParams)
    report: ReportParams = Field(
        default_factory=ReportParams,
        description="summary thresholds and screening indicators (recorded; part of --resume)",
    )

    @model_validator(mode="after")
    def _one_mode(self) -> AnalyzeConfig:
        # Key frames are chosen only in key-frame mode: with fps set they would be
        # silently ignored, so asking for both is a mistake worth stopping for.
        if self.fps is not None and "keyframes" in self.model_fields_set:
            raise ValueError(
                "fps (time-series mode, --fps) and keyframes (key-frame mode, --keyframes) "
                "cannot be combined: give one of them"
            )
        return self

    @property
    def mode(self) -> str:
        """'timeseries' when ``fps`` is set, else 'keyframes'."""
        return "timeseries" if self.fps else "keyframes"

    def content_hash(self) -> str:
        """sha256 of the options that change results (for ``--resume``)."""
        # Pages are drawn from the saved rows when the reports are written: not a result.
        data = self.model_dump(mode="json", exclude={"model", "device", "batch_size", "pages"})
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def load_analyze_config(
    yaml_path: str | os.PathLike[str] | None = None, **flags: Any
) -> AnalyzeConfig:
    """Merge the defaults, an optional YAML file and the CLI ``flags`` (None = not given).

    Raises:
        ConfigError: unreadable YAML, unknown keys or invalid values (named).
    """
    raw: dict[str, Any] = {}
    source = "options"
    if yaml_path is not None:
        raw.update(read_yaml_mapping(yaml_path))
        source = str(yaml_path)
    raw.update({key: value for key, value in flags.items() if value is not None})
    return validate_config(AnalyzeConfig, raw, source)
