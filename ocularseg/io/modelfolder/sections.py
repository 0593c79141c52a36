"""The informational sections of ``model.json``: training, parity, evaluation,
quantisation and card text, each a frozen record.

Inference reads none of these; the card renderer (:mod:`.card`), the provenance line
(:func:`ocularseg.io.modelfolder.folder.model_provenance`) and people do.

Epochs are counted from 1 everywhere in a model folder: ``training.checkpoint_epoch`` is the
epoch after which the exported weights were saved, in the same count as
``training.run.best_epoch`` and the run's ``metrics.csv``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, JsonValue


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Architecture(_Record):
    """The network: registry name, constructor options and parameter count."""

    name: str | None = None
    config: dict[str, JsonValue] = Field(default_factory=dict)
    parameters: int | None = Field(None, ge=0)


class ExtraDataRecord(_Record):
    """A further data set mixed into every training batch."""

    path: str
    share: float


class LossRecord(_Record):
    """The training loss: registry name and its options."""

    name: str
    options: dict[str, JsonValue] = Field(default_factory=dict)


class TrainConfigRecord(BaseModel):
    """The trainer's configuration as the run wrote it (``train_config.json``).

    Kept whole, so a run can be repeated from its model folder; its schema is
    ``ocularseg.training.config.TrainConfig``, which this torch-free layer does not import.
    The fields a card or the provenance line reads are typed; the others stay as written.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    data: str | None = None
    extra_data: tuple[ExtraDataRecord, ...] = ()
    data_share: float | None = None
    loss: LossRecord | None = None
    prior: dict[str, JsonValue] | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    train_fraction: float | None = None
    seed: int | None = None
    input_scale: float = 1.0


class RunRecord(_Record):
    """What the trainer recorded of its run (``run.json``); epochs counted from 1."""

    ocularseg_version: str | None = None
    torch_version: str | None = None
    python: str | None = None
    device: str | None = None
    world_size: int | None = None
    git_commit: str | None = None
    train_images: int | None = None
    val_images: int | None = None
    train_subjects: int | None = None
    val_subjects: int | None = None
    epochs_done: int | None = None
    best_epoch: int | None = None
    best_val_dice_mean: float | None = None
    total_seconds: float | None = None
    status: str | None = None


class TrainingSection(_Record):
    """How the exported weights were trained."""

    config: TrainConfigRecord = Field(default_factory=TrainConfigRecord)
    run: RunRecord = Field(default_factory=RunRecord)
    checkpoint: str | None = Field(None, description="file name of the exported weights")
    checkpoint_epoch: int | None = Field(
        None, ge=1, description="the epoch after which those weights were saved, from 1"
    )


class ParitySection(_Record):
    """PyTorch against ONNX Runtime on one batch at export, and the tolerances it passed."""

    max_abs_logit_diff: float
    argmax_agreement: float
    batch_size: int
    num_pixels: int
    tolerance_max_abs_logit: float
    tolerance_min_argmax_agreement: float


class EvaluationSettings(_Record):
    """How an evaluation was run (``ocularseg evaluate``'s summary.json ``settings``)."""

    data: str | None = None
    model: str | None = None
    split: str | None = None
    images: int | None = None
    method: str | None = None
    confidence: float | None = None
    n_resamples: int | None = None
    seed: int | None = None
    cluster_column: str | None = None
    min_ci_subjects: int | None = None
    ci_unreliable_note: str | None = None


class EvaluationRow(_Record):
    """One class × metric × group mean with its confidence interval."""

    class_name: str = Field(alias="class")
    group: str
    metric: str
    n: int
    mean: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n_subjects: int | None = None
    ci_reliable: bool | None = None


class EvaluationSection(_Record):
    """An evaluation of this folder's model; ``markdown`` is the card's table of it."""

    settings: EvaluationSettings = Field(default_factory=EvaluationSettings)
    rows: tuple[EvaluationRow, ...] = ()
    markdown: str | None = None


class PairedRow(_Record):
    """Float (a) against int8 (b) on the same images: one class and metric."""

    class_name: str = Field(alias="class")
    metric: str
    n: int
    mean_a: float | None = None
    mean_b: float | None = None
    delta: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None


class QuantComparison(_Record):
    """The int8 model against its float model: CPU latency and paired scores."""

    latency_ms_cpu_2_threads: dict[str, float]
    latency_ratio: float
    data: str | None = None
    split: str | None = None
    paired: tuple[PairedRow, ...] = ()
    worst_class_dice_loss_points: float | None = None
    max_dice_loss_points: float | None = None
    markdown: str | None = None


class FloatModelRef(_Record):
    """The float model an int8 one was made from."""

    name: str
    sha256: str = Field(pattern="^[0-9a-f]{64}$")


class Agreement(_Record):
    """Share of pixels where float and int8 pick the same class, on crops not calibrated on."""

    images: int
    mean: float
    min: float


class QuantizationSection(_Record):
    """How an int8 folder was made from its float one."""

    method: str
    weights: str
    activations: str
    kept_float_nodes: tuple[str, ...]
    calibration_data: str
    calibration_images: int
    calibration_seed: int
    calibration_seconds: float
    float_model: FloatModelRef
    agreement_with_float: Agreement
    onnxruntime_version: str
    comparison: QuantComparison | None = None


class CardText(_Record):
    """A titled section of MODEL_CARD.md written by hand or measured elsewhere."""

    title: str = Field(min_length=1)
    markdown: str


class CardSection(_Record):
    """The card's own text, in the order it appears (stored here only; the card is built)."""

    sections: tuple[CardText, ...] = ()

    def with_section(self, title: str, markdown: str) -> CardSection:
        """A copy with ``title`` set to ``markdown`` (in its place, or added at the end)."""
        new = CardText(title=title, markdown=markdown)
        if any(s.title == title for s in self.sections):
            return CardSection(
                sections=tuple(new if s.title == title else s for s in self.sections)
            )
        return CardSection(sections=(*self.sections, new))
