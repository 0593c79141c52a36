"""MODEL_CARD.md says what a model was trained on and carries its real-data results."""

from __future__ import annotations

import json

import pytest

from ocularseg.io.modelfolder import ModelSpec, load_model_spec, render_card

pytest.importorskip("torch")

from ocularseg.training.export import attach_card_section  # noqa: E402


def _content(**config) -> dict:
    return {
        "format_version": 2,
        "name": "m",
        "architecture": {"name": "unet", "config": {}, "parameters": 10},
        "opset": 18,
        "sha256": "0" * 64,
        "labels": {"background": 0, "sclera": 1, "iris": 2, "pupil": 3, "caruncle": 4},
        "input": {
            "width": 480,
            "height": 320,
            "channel_order": "RGB",
            "mean": [0, 0, 0],
            "std": [1, 1, 1],
        },
        "training": {"config": {"data": "phantoms", **config}, "run": {"train_images": 5}},
    }


def _card(content: dict) -> str:
    return render_card(ModelSpec.model_validate(content))


def _folder(tmp_path, content: dict):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(b"")
    (folder / "model.json").write_text(json.dumps(content))
    return folder


def test_phantom_only_and_real_data_models_say_so() -> None:
    phantom = _card(_content(loss={"name": "ce+tiu"}))
    assert "Trained on procedural eye phantoms only" in phantom
    real = _card(
        _content(loss={"name": "pce"}, extra_data=[{"path": "real", "share": 0.5}], data_share=0.5)
    )
    assert "real faces whose labels come from a teacher" in real
    assert "Mixed in: `real` (batch share 0.5)" in real
    assert "phantoms only" not in real


def test_card_text_is_stored_once_in_model_json(tmp_path) -> None:
    folder = _folder(tmp_path, _content(loss={"name": "pce"}))
    attach_card_section(folder, "Real development set", "| opening | 90 % |")
    card = (folder / "MODEL_CARD.md").read_text()
    assert "## Real development set\n| opening | 90 % |" in card
    stored = json.loads((folder / "model.json").read_text())
    assert stored["card"]["sections"] == [
        {"title": "Real development set", "markdown": "| opening | 90 % |"}
    ]
    # The card is built from model.json alone: rebuilding it gives the same text.
    assert render_card(load_model_spec(folder, verify_checksum=False)) == card


def test_prior_model_card_says_how_to_build_the_fourth_channel() -> None:
    content = _content(loss={"name": "pce"})
    template = [[130, 165], [190, 130], [290, 130], [350, 165], [290, 195], [190, 195]]
    content["input"]["prior"] = {"sigma_frac": 0.08, "template_points_crop_px": template}
    card = _card(content)
    assert "Fourth input channel" in card and "σ = 0.08" in card
    assert "(130, 165), (190, 130)" in card  # the average eye for crops without landmarks
    assert "Fourth input channel" not in _card(_content(loss={"name": "pce"}))


def test_card_sections_keep_the_order_they_were_added(tmp_path) -> None:
    folder = _folder(tmp_path, _content(loss={"name": "pce"}))
    attach_card_section(folder, "Training data", "phantoms and real faces")
    attach_card_section(folder, "Runtime", "25 ms")
    attach_card_section(folder, "Training data", "replaced, same place")
    card = (folder / "MODEL_CARD.md").read_text()
    assert card.index("## Training data") < card.index("## Runtime")
    assert "replaced, same place" in card and "phantoms and real faces" not in card
