"""Shared fixtures. No network, no GPU; everything is generated seeded in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


def drawn_eye_labels() -> np.ndarray:
    """A fixed, anatomically valid 320×480 label map (open eye, iris centred).

    Placed where the eye-crop stage puts the astronaut's eyes (canthi near x = 110 and
    380, lids near y = 105 and 200), so the measurements pass the quality gates: iris
    diameter 0.45 of the eye width, MRD1 ≈ 5.3 mm.
    """
    yy, xx = np.mgrid[0:320, 0:480]
    labels = np.zeros((320, 480), np.uint8)
    opening = ((xx - 240) / 150) ** 2 + ((yy - 155) / 60) ** 2 <= 1
    labels[opening] = 1
    labels[opening & ((xx - 240) ** 2 + (yy - 150) ** 2 <= 60**2)] = 2
    labels[opening & ((xx - 240) ** 2 + (yy - 150) ** 2 <= 22**2)] = 3
    labels[opening & ((xx - 372) ** 2 + (yy - 155) ** 2 <= 12**2)] = 4
    return labels


def build_tiny_onnx_model(
    folder: Path,
    *,
    seed: int = 0,
    eye_prior: bool = False,
    landmark_channel: bool = False,
    amodal_disc: bool = False,
) -> Path:
    """A real (tiny) segmentation network: a 1×1 convolution 3 -> 5 classes at 320×480.

    Built with ``onnx.helper`` so the inference tests need no torch. Its weights map
    bright pixels to sclera and dark ones to pupil, so the output depends on the input.
    With ``eye_prior`` a constant logit map of a drawn eye (``drawn_eye_labels``) is added
    and dominates, so the pipeline downstream sees an anatomically valid segmentation.
    With ``landmark_channel`` the network takes the landmark-prior channel as a fourth input
    (``model.json`` input.prior) and that channel decides sclera vs background.
    With ``amodal_disc`` (needs ``eye_prior``) a sixth output channel holds the whole iris
    disc of the drawn eye (logit +20 inside the circle (240, 150) r 60, −20 outside) and
    ``model.json`` says so (``output.amodal_iris_disc_channel`` 5).
    """
    import onnx

    channels = 4 if landmark_channel else 3
    outputs = 6 if amodal_disc else 5
    rng = np.random.default_rng(seed)
    weight = _tiny_weight(
        rng, channels, outputs, landmark_channel=landmark_channel, amodal_disc=amodal_disc
    )
    model = _tiny_graph(weight, eye_prior=eye_prior, amodal_disc=amodal_disc)
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(folder / "model.onnx"))
    _write_tiny_model_json(folder, landmark_channel=landmark_channel, amodal_disc=amodal_disc)
    return folder


def _tiny_weight(
    rng: np.random.Generator,
    channels: int,
    outputs: int,
    *,
    landmark_channel: bool,
    amodal_disc: bool,
) -> np.ndarray:
    """(outputs, channels, 1, 1) float32 1×1-convolution weights: small random ones, plus
    brightness -> sclera and darkness -> pupil (and the prior channel -> sclera vs skin)."""
    weight = (rng.standard_normal((outputs, channels, 1, 1)) * 0.1).astype(np.float32)
    weight[1, :3] += 1.0  # sclera ~ brightness
    weight[3, :3] -= 1.0  # pupil ~ darkness
    if landmark_channel:
        weight[:, 3] = 0.0
        weight[1, 3], weight[0, 3] = 30.0, -30.0  # inside the prior: sclera, outside: skin
    if amodal_disc:
        weight[5] = 0.0
    return weight


def _tiny_graph(weight: np.ndarray, *, eye_prior: bool, amodal_disc: bool):
    """The ONNX model: ``input`` (batch, C, 320, 480) -> Conv (+ the drawn eye's logit map
    with ``eye_prior``) -> ``logits`` (batch, K, 320, 480)."""
    from onnx import TensorProto, helper, numpy_helper

    outputs, channels = weight.shape[:2]
    bias = np.zeros(outputs, np.float32)
    nodes = [helper.make_node("Conv", ["input", "W", "B"], ["conv" if eye_prior else "logits"])]
    initialisers = [numpy_helper.from_array(weight, "W"), numpy_helper.from_array(bias, "B")]
    if eye_prior:
        prior = 20.0 * np.eye(5, dtype=np.float32)[drawn_eye_labels()].transpose(2, 0, 1)[None]
        if amodal_disc:
            yy, xx = np.mgrid[0:320, 0:480]
            inside = (xx - 240) ** 2 + (yy - 150) ** 2 < 60**2
            disc = np.where(inside, 20.0, -20.0).astype(np.float32)[None, None]
            prior = np.concatenate([prior, disc], axis=1)
        nodes.append(helper.make_node("Add", ["conv", "P"], ["logits"]))
        initialisers.append(numpy_helper.from_array(prior, "P"))
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", channels, 320, 480])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", outputs, 320, 480])],
        initialisers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def _write_tiny_model_json(folder: Path, *, landmark_channel: bool, amodal_disc: bool) -> None:
    """``model.json`` for the tiny network in ``folder`` (its ``model.onnx`` written first)."""
    from ocularseg.core.preprocess import NORM_MEAN_RGB, NORM_STD_RGB
    from ocularseg.io.atomic import write_json_atomic
    from ocularseg.io.model_folder import InputSpec, OutputSpec, build_model_json

    prior = None
    if landmark_channel:
        from ocularseg.core.eye_prior import TEMPLATE_POINTS_CROP_PX
        from ocularseg.io.model_folder import PriorSpec

        prior = PriorSpec(sigma_frac=0.08, template_points_crop_px=TEMPLATE_POINTS_CROP_PX)
    spec = InputSpec(height=320, width=480, mean=NORM_MEAN_RGB, std=NORM_STD_RGB, prior=prior)
    write_json_atomic(
        folder / "model.json",
        build_model_json(
            folder,
            name="tiny-test",
            opset=17,
            input_spec=spec,
            architecture={"name": "conv1x1"},
            output_spec=OutputSpec(amodal_iris_disc_channel=5) if amodal_disc else None,
        ),
    )


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    pytest.importorskip("onnx")
    return build_tiny_onnx_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="session")
def amodal_model_dir(tmp_path_factory) -> Path:
    pytest.importorskip("onnx")
    return build_tiny_onnx_model(
        tmp_path_factory.mktemp("models") / "amodal", eye_prior=True, amodal_disc=True
    )


@pytest.fixture(scope="session")
def eye_prior_model_dir(tmp_path_factory) -> Path:
    pytest.importorskip("onnx")
    return build_tiny_onnx_model(tmp_path_factory.mktemp("models") / "eye-prior", eye_prior=True)


def edit_model_json(folder: Path, **fields: object) -> Path:
    """Set fields of ``folder/model.json`` in place; ``input__std=[...]`` is ``input.std``."""
    path = folder / "model.json"
    spec = json.loads(path.read_text())
    for dotted, value in fields.items():
        target = spec
        *parents, last = dotted.split("__")
        for key in parents:
            target = target[key]
        target[last] = value
    path.write_text(json.dumps(spec))
    return folder
