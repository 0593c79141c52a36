"""One self-describing model folder: ``model.onnx`` + ``model.json`` + ``MODEL_CARD.md``.

This package alone reads and writes ``model.json`` and ``MODEL_CARD.md`` (torch-free:
inference reads it). :mod:`.spec`: what inference needs (input, output); :mod:`.sections`:
training, parity, evaluation, quantisation and card text as frozen records;
:mod:`.document`: the whole file as :class:`ModelSpec` (and format 1 read-compat);
:mod:`.card`: the one card renderer; :mod:`.folder`: load, write, update, share.
"""

from __future__ import annotations

from ocularseg.io.modelfolder.card import render_card
from ocularseg.io.modelfolder.document import (
    FORMAT_VERSION,
    MODEL_CARD,
    MODEL_JSON,
    MODEL_ONNX,
    ModelSpec,
)
from ocularseg.io.modelfolder.folder import (
    MAX_MODEL_JSON_BYTES,
    build_model_json,
    load_model_spec,
    make_shareable,
    model_provenance,
    new_model_spec,
    onnx_path,
    update_model_folder,
    write_model_folder,
)
from ocularseg.io.modelfolder.inputs import model_input
from ocularseg.io.modelfolder.sections import (
    Agreement,
    Architecture,
    CardSection,
    CardText,
    EvaluationSection,
    FloatModelRef,
    ParitySection,
    QuantComparison,
    QuantizationSection,
    RunRecord,
    TrainConfigRecord,
    TrainingSection,
)
from ocularseg.io.modelfolder.spec import InputSpec, OutputSpec, PriorSpec

__all__ = [
    "FORMAT_VERSION",
    "MAX_MODEL_JSON_BYTES",
    "MODEL_CARD",
    "MODEL_JSON",
    "MODEL_ONNX",
    "Agreement",
    "Architecture",
    "CardSection",
    "CardText",
    "EvaluationSection",
    "FloatModelRef",
    "InputSpec",
    "ModelSpec",
    "OutputSpec",
    "ParitySection",
    "PriorSpec",
    "QuantComparison",
    "QuantizationSection",
    "RunRecord",
    "TrainConfigRecord",
    "TrainingSection",
    "build_model_json",
    "load_model_spec",
    "make_shareable",
    "model_input",
    "model_provenance",
    "new_model_spec",
    "onnx_path",
    "render_card",
    "update_model_folder",
    "write_model_folder",
]
