"""MODEL_CARD.md says what a model was trained on and carries its real-data results."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")

from ocularseg.training.export import attach_card_section, model_card  # noqa: E402


def _content(**config) -> dict:
    return {
        "name": "m",
        "architecture": {"name": "unet", "config": {}, "parameters": 10},
        "opset": 18,
        "sha256": "0" * 64,
        "input": {
            "width": 480,
            "height": 320,
            "channel_order": "RGB",
            "mean": [0, 0, 0],
            "std": [1, 1, 1],
        },
        "training": {"config": {"data": "phantoms", **config}, "run": {"train_images": 5}},
    }


def test_phantom_only_and_real_data_models_say_so() -> None:
    phantom = model_card(_content(loss={"name": "ce+tiu"}), None)
    assert "Trained on procedural eye phantoms only" in phantom
    real = model_card(
        _content(loss={"name": "pce"}, extra_data=[{"path": "real", "share": 0.5}], data_share=0.5),
        None,
    )
    assert "real faces whose labels come from a teacher" in real
    assert "Mixed in: `real` (batch share 0.5)" in real
    assert "phantoms only" not in real


def test_card_sections_survive_in_model_json(tmp_path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "model.json").write_text(json.dumps(_content(loss={"name": "pce"})))
    attach_card_section(folder, "Real development set", "| opening | 90 % |")
    card = (folder / "MODEL_CARD.md").read_text()
    assert "## Real development set\n| opening | 90 % |" in card
    stored = json.loads((folder / "model.json").read_text())
    assert stored["card_sections"]["Real development set"] == "| opening | 90 % |"


def test_prior_model_card_says_how_to_build_the_fourth_channel() -> None:
    content = _content(loss={"name": "pce"})
    template = [[130, 165], [190, 130], [290, 130], [350, 165], [290, 195], [190, 195]]
    content["input"]["prior"] = {"sigma_frac": 0.08, "template_points_crop_px": template}
    card = model_card(content, None)
    assert "Fourth input channel" in card and "σ = 0.08" in card
    assert "(130, 165), (190, 130)" in card  # the average eye for crops without landmarks
    assert "Fourth input channel" not in model_card(_content(loss={"name": "pce"}), None)


def test_card_sections_keep_the_order_they_were_added(tmp_path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "model.json").write_text(json.dumps(_content(loss={"name": "pce"})))
    attach_card_section(folder, "Training data", "phantoms and real faces")
    attach_card_section(folder, "Runtime", "25 ms")
    attach_card_section(folder, "Training data", "replaced, same place")
    card = (folder / "MODEL_CARD.md").read_text()
    assert card.index("## Training data") < card.index("## Runtime")
    assert "replaced, same place" in card and "phantoms and real faces" not in card
