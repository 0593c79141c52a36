"""``model.json`` as one typed record, and how earlier releases' files are read.

Format 2 (this release) forbids unknown keys at every level except the trainer's own
configuration (``training.config``, kept as the run wrote it). Format 1 files (earlier
releases) still load: :func:`upgrade_v1` maps them onto format 2 in memory; informational
keys format 2 does not know, or sections that do not fit their record, are dropped with a
warning, since inference never reads them.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ocularseg.io.modelfolder.sections import (
    Architecture,
    CardSection,
    EvaluationSection,
    ParitySection,
    QuantizationSection,
    TrainingSection,
)
from ocularseg.io.modelfolder.spec import InputSpec, OutputSpec

log = logging.getLogger(__name__)

MODEL_JSON = "model.json"
MODEL_ONNX = "model.onnx"
MODEL_CARD = "MODEL_CARD.md"
FORMAT_VERSION = 2
_PLAIN_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class ModelSpec(BaseModel):
    """The whole of ``model.json``: what inference relies on, then the informational sections."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format_version: int = FORMAT_VERSION
    name: str
    onnx_file: str = MODEL_ONNX
    sha256: str = Field(pattern="^[0-9a-f]{64}$")
    opset: int
    input: InputSpec
    labels: dict[str, int]
    output: OutputSpec = Field(default_factory=OutputSpec)
    architecture: Architecture = Field(default_factory=Architecture)
    provenance: str | None = Field(
        None,
        description="one line for every report: what the model was trained and validated "
        "on, e.g. 'trained on 4,750 synthetic phantom eye crops; validated on 500 phantoms "
        "of unseen phantom people; not validated on real patients'",
    )
    onnx_size_bytes: int | None = Field(None, ge=0)
    ocularseg_version: str | None = None
    git_commit: str | None = None
    training: TrainingSection | None = None
    parity: ParitySection | None = None
    quantization: QuantizationSection | None = None
    evaluation: EvaluationSection | None = None
    card: CardSection = Field(default_factory=CardSection)

    @field_validator("onnx_file")
    @classmethod
    def _inside_folder(cls, value: str) -> str:
        # A file name only: "../../etc/x" or "/dev/zero" must be refused before anything
        # is opened, not after.
        if not _PLAIN_FILE_NAME.match(value) or value in (".", ".."):
            raise ValueError(
                f"must be a file name inside the model folder (letters, digits, . _ -), "
                f"got {value!r}"
            )
        return value

    def to_json(self) -> dict[str, Any]:
        """The JSON mapping written as ``model.json`` (``None`` fields left out)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


#: Format-2 sections of format-1 files, each checked on its own (a misfit is dropped).
_INFO_SECTIONS: dict[str, type[BaseModel]] = {
    "architecture": Architecture,
    "training": TrainingSection,
    "parity": ParitySection,
    "quantization": QuantizationSection,
    "evaluation": EvaluationSection,
    "card": CardSection,
}


def upgrade_v1(raw: dict[str, Any], source: str) -> dict[str, Any]:
    """A format-1 ``model.json`` mapping as format 2 (``source`` names it in warnings).

    ``training.epoch`` (a string, counted from 0) becomes ``training.checkpoint_epoch``
    (an integer, counted from 1); ``evaluation_markdown`` moves into ``evaluation``;
    ``card_sections`` and ``card_section_order`` become ``card.sections`` in the order the
    card showed them.
    """
    content = dict(raw, format_version=FORMAT_VERSION)
    training = content.get("training")
    if isinstance(training, dict) and "epoch" in training:
        training = dict(training)
        epoch = training.pop("epoch")
        if isinstance(epoch, int | str) and str(epoch).isdigit():
            training["checkpoint_epoch"] = int(epoch) + 1
        content["training"] = training
    markdown = content.pop("evaluation_markdown", None)
    if markdown and isinstance(content.get("evaluation"), dict):
        content["evaluation"] = {**content["evaluation"], "markdown": markdown}
    if not content.get("evaluation"):
        content.pop("evaluation", None)
    texts = content.pop("card_sections", None) or {}
    order = [t for t in content.pop("card_section_order", None) or [] if t in texts]
    titles = order + sorted(set(texts) - set(order))
    content["card"] = {"sections": [{"title": t, "markdown": texts[t]} for t in titles]}
    known = set(ModelSpec.model_fields)
    for key in sorted(set(content) - known):
        log.warning("%s: dropped %r (format 1 information this release does not keep)", source, key)
        content.pop(key)
    for key, record in _INFO_SECTIONS.items():
        if key in content:
            try:
                record.model_validate(content[key])
            except ValidationError as exc:
                log.warning("%s: dropped the %s section (%s)", source, key, exc.errors()[0]["msg"])
                content.pop(key)
    return content
