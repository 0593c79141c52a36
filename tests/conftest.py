"""Shared fixtures. No network, no GPU; everything is generated seeded in tmp_path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


def build_tiny_onnx_model(folder: Path, *, seed: int = 0) -> Path:
    """A real (tiny) segmentation network: a 1×1 convolution 3 -> 5 classes at 320×480.

    Built with ``onnx.helper`` so the inference tests need no torch. Its weights map
    bright pixels to sclera and dark ones to pupil, so the output depends on the input.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from ocularseg.core.preprocess import NORM_MEAN_RGB, NORM_STD_RGB
    from ocularseg.io.atomic import write_json_atomic
    from ocularseg.io.model_folder import InputSpec, build_model_json

    rng = np.random.default_rng(seed)
    weight = (rng.standard_normal((5, 3, 1, 1)) * 0.1).astype(np.float32)
    weight[1] += 1.0  # sclera ~ brightness
    weight[3] -= 1.0  # pupil ~ darkness
    bias = np.zeros(5, np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["input", "W", "B"], ["logits"])],
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 320, 480])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 5, 320, 480])],
        [numpy_helper.from_array(weight, "W"), numpy_helper.from_array(bias, "B")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(folder / "model.onnx"))
    spec = InputSpec(height=320, width=480, mean=NORM_MEAN_RGB, std=NORM_STD_RGB)
    write_json_atomic(
        folder / "model.json",
        build_model_json(
            folder, name="tiny-test", opset=17, input_spec=spec, architecture={"name": "conv1x1"}
        ),
    )
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    pytest.importorskip("onnx")
    return build_tiny_onnx_model(tmp_path_factory.mktemp("models") / "tiny")
