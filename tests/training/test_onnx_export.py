"""ONNX export: self-contained file, dynamic batch, parity with PyTorch, failures reported.

Each tiny network is exported once (module fixture) at 64×96 px; the default-size networks
at the real 480×320 crop are exported in one slow test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

import numpy as np  # noqa: E402

from ocularseg.core.errors import ModelError  # noqa: E402
from ocularseg.training.models import UNet, build_model  # noqa: E402
from ocularseg.training.models.base import InputSizeError  # noqa: E402
from ocularseg.training.onnx_export import (  # noqa: E402
    INPUT_NAME,
    MAX_ABS_LOGIT_DIFF,
    MIN_ARGMAX_AGREEMENT,
    OUTPUT_NAME,
    ParityReport,
    check_parity,
    export_onnx,
    onnx_logits,
)

H, W = 64, 96
#: (registry name, tiny constructor config) — the same shapes as test_models.py.
CASES: list[tuple[str, dict[str, Any]]] = [
    ("unet", {"base_channels": 4, "depth": 3}),
    ("fcn", {"base_channels": 4, "head_channels": 16}),
    (
        "unetr",
        {
            "img_size": (H, W),
            "hidden_size": 32,
            "num_layers": 4,
            "num_heads": 2,
            "mlp_ratio": 2,
            "feature_size": 4,
        },
    ),
]


@pytest.fixture(scope="module", params=CASES, ids=[name for name, _ in CASES])
def exported(request, tmp_path_factory) -> tuple[torch.nn.Module, Path]:
    name, config = request.param
    torch.manual_seed(0)
    model = build_model(name, **config)
    # Non-trivial batch-norm statistics, so eval-mode export is actually exercised.
    model.train()(torch.randn(4, 3, H, W))
    model.train()  # export must not depend on (or change) the caller's mode
    path = tmp_path_factory.mktemp(f"onnx_{name}") / "model.onnx"
    export_onnx(model, path, height=H, width=W)
    return model, path


@pytest.mark.slow
@pytest.mark.parametrize("batch", [1, 2])
def test_parity_with_dynamic_batch(exported, batch: int) -> None:
    model, path = exported
    x = torch.randn(batch, 3, H, W, generator=torch.Generator().manual_seed(batch))
    report = check_parity(model, path, x)
    assert isinstance(report, ParityReport)
    assert report.batch_size == batch
    assert report.num_pixels == batch * H * W
    assert report.max_abs_logit_diff <= MAX_ABS_LOGIT_DIFF
    assert report.argmax_agreement >= MIN_ARGMAX_AGREEMENT


def test_export_restores_mode_and_is_self_contained(exported) -> None:
    model, path = exported
    assert model.training
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.onnx"]
    graph = onnx.load(str(path), load_external_data=False).graph
    assert not any(init.data_location == onnx.TensorProto.EXTERNAL for init in graph.initializer)
    (image,) = graph.input
    (logits,) = graph.output
    assert (image.name, logits.name) == (INPUT_NAME, OUTPUT_NAME)
    in_dims = image.type.tensor_type.shape.dim
    assert in_dims[0].dim_param  # symbolic batch axis
    assert [d.dim_value for d in in_dims[1:]] == [3, H, W]


def test_numpy_batch_accepted(exported) -> None:
    model, path = exported
    x = np.random.default_rng(0).standard_normal((1, 3, H, W)).astype(np.float32)
    assert check_parity(model, path, x).argmax_agreement == 1.0
    assert onnx_logits(path, x).shape == (1, 5, H, W)


@pytest.mark.slow
def test_parity_failure_raises(tmp_path) -> None:
    torch.manual_seed(0)
    model = UNet(base_channels=4, depth=2)
    path = tmp_path / "model.onnx"
    export_onnx(model, path, height=H, width=W)
    with torch.no_grad():
        model.head.bias.add_(0.5)  # the PyTorch model no longer matches the file
    with pytest.raises(ModelError, match=r"max \|Δlogit\| 0\.5 exceeds 0\.001"):
        check_parity(model, path, torch.randn(1, 3, H, W))
    with torch.no_grad():
        model.head.bias[0].add_(100.0)  # every pixel's arg-max flips to class 0
    with pytest.raises(ModelError, match="arg-max agreement .* below 99.9 %"):
        check_parity(model, path, torch.randn(1, 3, H, W), max_abs_logit_diff=1e3)


def test_parity_rejects_wrong_batch_shape(exported) -> None:
    model, path = exported
    with pytest.raises(ModelError, match=r"\(B, C, H, W\)"):
        check_parity(model, path, torch.randn(3, H, W))


def test_export_bad_size_raises_and_writes_nothing(tmp_path) -> None:
    with pytest.raises(InputSizeError, match=r"96×60 px .*multiple of 8"):
        export_onnx(UNet(base_channels=4, depth=3), tmp_path / "m.onnx", height=60, width=96)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("name", ["unet", "fcn", "unetr"])
def test_default_models_at_crop_size(name: str, tmp_path) -> None:
    torch.manual_seed(0)
    model = build_model(name)
    path = tmp_path / "model.onnx"
    export_onnx(model, path)
    report = check_parity(model, path, torch.randn(2, 3, 320, 480))
    assert report.max_abs_logit_diff <= MAX_ABS_LOGIT_DIFF
