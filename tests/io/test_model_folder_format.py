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
