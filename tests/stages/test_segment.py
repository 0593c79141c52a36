"""The segmentation stage: model folder checks, providers, pre/post-processing, a real run."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from ocularseg.core.errors import ConfigError, InputError, ModelError
from ocularseg.io.model_folder import load_model_spec
from ocularseg.stages.segment import Segmenter, choose_providers

pytest.importorskip("onnxruntime")

CASES = [
    # (available providers, device, expected)
    (["CPUExecutionProvider"], "auto", ["CPUExecutionProvider"]),
    (
        ["CUDAExecutionProvider", "CPUExecutionProvider"],
        "auto",
        ["CUDAExecutionProvider", "CPUExecutionProvider"],
    ),
    (["CUDAExecutionProvider", "CPUExecutionProvider"], "cpu", ["CPUExecutionProvider"]),
]


@pytest.mark.parametrize(("available", "device", "expected"), CASES)
def test_provider_choice(available, device, expected):
    assert choose_providers(available, device) == expected


def test_cuda_requested_without_cuda_is_a_config_error():
    with pytest.raises(ConfigError, match="no CUDA provider"):
        choose_providers(["CPUExecutionProvider"], "cuda")
    with pytest.raises(ConfigError, match="auto, cpu or cuda"):
        choose_providers(["CPUExecutionProvider"], "gpu")


def test_postprocess_gives_argmax():
    logits = np.zeros((1, 5, 320, 480), np.float32)
    logits[0, 2] = np.log(3.0)
    labels = Segmenter._postprocess(logits)
    assert labels.dtype == np.uint8 and np.all(labels == 2)


def test_segmenter_runs_a_real_model(tiny_model_dir):
    segmenter = Segmenter(tiny_model_dir, device="cpu", batch_size=2)
    assert segmenter.providers == ["CPUExecutionProvider"]
    white = np.full((320, 480, 3), 250, np.uint8)
    black = np.full((320, 480, 3), 5, np.uint8)
    results = segmenter.segment([white, black, white])
    assert len(results) == 3
    assert np.all(results[0].labels == 1) and np.all(results[1].labels == 3)


def test_wrong_crop_size_is_an_input_error(tiny_model_dir):
    segmenter = Segmenter(tiny_model_dir, device="cpu")
    with pytest.raises(InputError, match="320, 480, 3"):
        segmenter.segment([np.zeros((100, 100, 3), np.uint8)])


def test_checksum_mismatch_is_refused(tiny_model_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    data = bytearray((broken / "model.onnx").read_bytes())
    data[-1] ^= 0xFF
    (broken / "model.onnx").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256"):
        load_model_spec(broken)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(labels={"background": 0, "iris": 1}), "labels"),
        (lambda d: d.pop("sha256"), "sha256"),
        (lambda d: d["input"].update(colour="RGB"), "input.colour"),
    ],
)
def test_invalid_model_json_names_the_field(tiny_model_dir, tmp_path, mutate, message):
    broken = tmp_path / "m"
    shutil.copytree(tiny_model_dir, broken)
    content = json.loads((broken / "model.json").read_text())
    mutate(content)
    (broken / "model.json").write_text(json.dumps(content))
    with pytest.raises(ModelError, match=message):
        load_model_spec(broken)


def test_missing_model_folder_and_json(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        load_model_spec(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="model.json"):
        load_model_spec(tmp_path / "empty")
    (tmp_path / "empty" / "model.json").write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        load_model_spec(tmp_path / "empty")


def test_amodal_model_gives_the_whole_disc_beside_the_labels(amodal_model_dir):
    segmenter = Segmenter(amodal_model_dir, device="cpu", batch_size=2)
    assert segmenter.has_amodal_disc
    result = segmenter.segment([np.full((320, 480, 3), 128, np.uint8)])[0]
    assert result.amodal_disc is not None and result.amodal_disc.dtype == bool
    # the drawn disc: centre (240, 150), radius 60 px
    assert result.amodal_disc[150, 240] and not result.amodal_disc[150, 305]
    assert abs(int(result.amodal_disc.sum()) - round(np.pi * 60**2)) < 200
    # the labels come from the five class channels only
    assert int(result.labels.max()) <= 4 and (result.labels[150, 240] in (2, 3))


def test_model_without_the_channel_model_json_names_is_refused(amodal_model_dir, tmp_path):
    folder = tmp_path / "broken"
    shutil.copytree(amodal_model_dir, folder)
    spec = json.loads((folder / "model.json").read_text())
    spec["output"] = {"amodal_iris_disc_channel": 7}
    (folder / "model.json").write_text(json.dumps(spec))
    segmenter = Segmenter(folder, device="cpu")
    with pytest.raises(ModelError, match="needs 8 channels"):
        segmenter.segment([np.full((320, 480, 3), 128, np.uint8)])


def test_postprocess_equals_argmax_with_ties():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(2, 5, 32, 48)).astype(np.float32)
    logits[0, 1, :4] = logits[0, 3, :4] = 50.0  # ties: the first of equal maxima wins
    labels = Segmenter._postprocess(logits)
    np.testing.assert_array_equal(labels, logits.argmax(axis=1))


def test_mirror_pass_in_one_call_equals_segmenting_the_mirrors(tiny_model_dir):
    from ocularseg.stages.quality import mirror

    segmenter = Segmenter(tiny_model_dir, device="cpu", batch_size=2)
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 255, (320, 480, 3), dtype=np.uint8) for _ in range(3)]
    crops[0][:, :200] = 250  # an asymmetric crop: its mirror segments differently
    main, mirrored = segmenter.segment_with_mirror(crops)
    expected_main = segmenter.segment(crops)
    expected_mirrored = segmenter.segment([mirror(c) for c in crops])
    for got, want in zip([*main, *mirrored], [*expected_main, *expected_mirrored], strict=True):
        np.testing.assert_array_equal(got.labels, want.labels)
    assert not np.array_equal(main[0].labels, mirrored[0].labels)
