"""model.json format 2 is typed throughout; format 1 (earlier releases) still loads."""

from __future__ import annotations

import json
import shutil

import pytest

from ocularseg.core.errors import ModelError
from ocularseg.io.modelfolder import load_model_spec, model_provenance, render_card


def _copy(tmp_path, source, content: dict):
    folder = tmp_path / "model"
    shutil.copytree(source, folder)
    (folder / "model.json").write_text(json.dumps(content))
    return folder


def _v1(tiny_model_dir) -> dict:
    content = json.loads((tiny_model_dir / "model.json").read_text())
    content.update(
        format_version=1,
        training={"config": {"data": "/clinic/train5k"}, "run": {"train_images": 40}, "epoch": "3"},
        evaluation={"settings": {"images": 8, "data": "test8"}, "rows": []},
        evaluation_markdown="| table |",
        card_sections={"B": "second", "A": "first"},
        card_section_order=["B"],
        git_commit="abc",
        some_old_note={"free": "form"},
    )
    content.pop("card", None)
    return content


def test_format_1_loads_with_epochs_counted_from_1(tmp_path, tiny_model_dir):
    spec = load_model_spec(_copy(tmp_path, tiny_model_dir, _v1(tiny_model_dir)))
    assert spec.format_version == 2
    assert spec.training is not None and spec.training.checkpoint_epoch == 4
    assert spec.evaluation is not None and spec.evaluation.markdown == "| table |"
    assert [s.title for s in spec.card.sections] == ["B", "A"]  # the card's order
    assert "trained on 40 images (train5k); validated on 8 images (test8)" in model_provenance(spec)
    card = render_card(spec)
    assert card.index("## B") < card.index("## A") and "| table |" in card


def test_format_2_refuses_an_unknown_key_naming_the_file(tmp_path, tiny_model_dir):
    content = json.loads((tiny_model_dir / "model.json").read_text())
    content["training"] = {"epoch": "3"}
    folder = _copy(tmp_path, tiny_model_dir, content)
    with pytest.raises(ModelError, match=r"model\.json: invalid field 'training\.epoch'"):
        load_model_spec(folder)


def test_a_format_1_section_that_does_not_fit_is_dropped_not_fatal(tmp_path, tiny_model_dir):
    content = _v1(tiny_model_dir)
    content["parity"] = {"max_abs_logit_diff": "not a number"}
    spec = load_model_spec(_copy(tmp_path, tiny_model_dir, content))
    assert spec.parity is None and spec.training is not None


def test_a_folder_without_unreliable_classes_marks_nothing(tmp_path, tiny_model_dir):
    content = json.loads((tiny_model_dir / "model.json").read_text())
    content.get("output", {}).pop("unreliable_classes", None)
    spec = load_model_spec(_copy(tmp_path, tiny_model_dir, content))
    assert spec.output.unreliable_classes == {}
    assert "marked unreliable" not in render_card(spec)


def test_unreliable_classes_round_trip_and_show_on_the_card(tmp_path, tiny_model_dir):
    from ocularseg.io.modelfolder import update_model_folder

    content = json.loads((tiny_model_dir / "model.json").read_text())
    folder = _copy(tmp_path, tiny_model_dir, content)
    spec = load_model_spec(folder)
    marks = {"caruncle": "phantom Dice low", "pupil": "often off-centre on real eyes"}
    update_model_folder(folder, output=spec.output.model_copy(update={"unreliable_classes": marks}))
    stored = json.loads((folder / "model.json").read_text())
    assert stored["output"]["unreliable_classes"] == marks
    again = load_model_spec(folder)  # the ONNX file and its sha256 untouched
    assert again.output.unreliable_classes == marks and again.sha256 == spec.sha256
    card = (folder / "MODEL_CARD.md").read_text()
    assert "**Caruncle marked unreliable**" in card and "phantom Dice low" in card


@pytest.mark.parametrize(
    ("marks", "message"),
    [
        ({"eyelid": "x"}, "'eyelid' is not a class name"),
        ({"background": "x"}, "'background' is not a class name"),
        ({"pupil": " "}, "one non-empty line"),
        ({"pupil": "two\nlines"}, "one non-empty line"),
    ],
)
def test_unreliable_classes_name_classes_with_one_line_each(
    tmp_path, tiny_model_dir, marks, message
):
    content = json.loads((tiny_model_dir / "model.json").read_text())
    content["output"] = {**content.get("output", {}), "unreliable_classes": marks}
    folder = _copy(tmp_path, tiny_model_dir, content)
    with pytest.raises(ModelError, match=rf"invalid field 'output\.unreliable_classes'.*{message}"):
        load_model_spec(folder)


def test_an_unknown_key_beside_unreliable_classes_is_still_refused(tmp_path, tiny_model_dir):
    content = json.loads((tiny_model_dir / "model.json").read_text())
    content["output"] = {"unreliable_classes": {"pupil": "x"}, "unreliable": ["pupil"]}
    folder = _copy(tmp_path, tiny_model_dir, content)
    with pytest.raises(ModelError, match=r"invalid field 'output\.unreliable'"):
        load_model_spec(folder)


def test_an_int8_card_carries_the_marks_its_float_model_had(repo_root):
    # quantize copies the float model's spec, output section included.
    spec = load_model_spec(repo_root / "models" / "ocularseg-unet-tiu-int8", verify_checksum=False)
    assert "marked unreliable" not in render_card(spec)
    output = spec.output.model_copy(update={"unreliable_classes": {"caruncle": "low Dice"}})
    card = render_card(spec.model_copy(update={"output": output}))
    assert "**Caruncle marked unreliable**" in card and "low Dice" in card
