"""Segmentation networks: shapes, gradients, size checks, registry and safetensors round trip.

Widths are tiny and most tests run at 64×96 px so the module stays fast on two CPU cores;
each network also runs once at the real 480×320 crop size.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from ocularseg.core.errors import ConfigError, InputError, ModelError  # noqa: E402
from ocularseg.training.models import (  # noqa: E402
    FCN,
    MODELS,
    UNETR,
    InputSizeError,
    ModelConfigError,
    UNet,
    build_model,
)
from ocularseg.training.models.io import (  # noqa: E402
    MODEL_NAME_KEY,
    load_model,
    load_weights,
    read_metadata,
    save_weights,
)
from ocularseg.training.models.unetr import skip_layer_indices  # noqa: E402

SMALL_HW = (64, 96)
CROP_HW = (320, 480)

#: (registry name, tiny constructor config, total stride).
CASES: list[tuple[str, dict[str, Any], int]] = [
    ("unet", {"base_channels": 4, "depth": 3}, 8),
    ("fcn", {"base_channels": 4, "head_channels": 16}, 32),
    (
        "unetr",
        {
            "img_size": SMALL_HW,
            "hidden_size": 32,
            "num_layers": 4,
            "num_heads": 2,
            "mlp_ratio": 2,
            "feature_size": 4,
        },
        16,
    ),
]
IDS = [name for name, _, _ in CASES]

#: num_layers → decoder skip blocks (1-based), as in the paper for 12.
SKIP_CASES = [(4, (1, 2, 3, 4)), (8, (2, 4, 6, 8)), (12, (3, 6, 9, 12)), (6, (2, 3, 5, 6))]


def _tiny(name: str, config: dict[str, Any], seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(name, **config)


@pytest.mark.parametrize(("name", "config", "stride"), CASES, ids=IDS)
class TestModel:
    @pytest.mark.parametrize("batch", [1, 3])
    def test_forward_backward_shape_finite_and_gradients(
        self, name: str, config: dict[str, Any], stride: int, batch: int
    ) -> None:
        model = _tiny(name, config).train()
        x = torch.randn(batch, 3, *SMALL_HW)
        logits = model(x)
        assert logits.shape == (batch, 5, *SMALL_HW)
        assert torch.isfinite(logits).all()
        logits.logsumexp(dim=1).mean().backward()
        first = next(model.parameters())
        assert first.grad is not None and first.grad.abs().sum() > 0
        for param_name, param in model.named_parameters():
            assert param.grad is not None, f"{param_name} got no gradient"
            assert torch.isfinite(param.grad).all(), f"{param_name} gradient not finite"

    def test_forward_at_crop_size(self, name: str, config: dict[str, Any], stride: int) -> None:
        if name == "unetr":
            config = {**config, "img_size": CROP_HW}
        model = _tiny(name, config).eval()
        with torch.no_grad():
            logits = model(torch.randn(1, 3, *CROP_HW))
        assert logits.shape == (1, 5, *CROP_HW)
        assert torch.isfinite(logits).all()

    def test_stride(self, name: str, config: dict[str, Any], stride: int) -> None:
        assert _tiny(name, config).stride == stride

    @pytest.mark.parametrize("bad_hw", [(64, 100), (70, 96)])
    def test_bad_input_size_names_size_and_multiple(
        self, name: str, config: dict[str, Any], stride: int, bad_hw: tuple[int, int]
    ) -> None:
        model = _tiny(name, config)
        with pytest.raises(
            InputSizeError, match=rf"{bad_hw[1]}×{bad_hw[0]} px.*multiple of {stride}"
        ):
            model(torch.randn(1, 3, *bad_hw))

    def test_wrong_channels_or_rank(self, name: str, config: dict[str, Any], stride: int) -> None:
        model = _tiny(name, config)
        with pytest.raises(InputSizeError, match="3 input channels, got 1"):
            model(torch.randn(1, 1, *SMALL_HW))
        with pytest.raises(InputSizeError, match=r"\(B, C, H, W\)"):
            model(torch.randn(3, *SMALL_HW))

    def test_config_rebuilds_same_architecture(
        self, name: str, config: dict[str, Any], stride: int
    ) -> None:
        model = _tiny(name, config)
        saved = json.loads(json.dumps(model.config()))  # as a checkpoint folder would hold it
        rebuilt = build_model(name, **saved)
        assert type(rebuilt) is MODELS[name]
        assert rebuilt.config() == model.config()
        assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {
            k: v.shape for k, v in model.state_dict().items()
        }

    def test_safetensors_round_trip_identical_outputs(
        self, name: str, config: dict[str, Any], stride: int, tmp_path
    ) -> None:
        model = _tiny(name, config, seed=1)
        # A training-mode pass moves batch-norm running statistics off their defaults,
        # so the round trip must carry buffers as well as parameters.
        model.train()(torch.randn(2, 3, *SMALL_HW))
        model.eval()
        path = save_weights(model, tmp_path / "ckpt" / "best.safetensors", {"epoch": 3})
        other = _tiny(name, config, seed=2).eval()
        metadata = load_weights(other, path)
        assert metadata["epoch"] == "3"
        assert metadata[MODEL_NAME_KEY] == name
        x = torch.randn(2, 3, *SMALL_HW)
        with torch.no_grad():
            assert torch.equal(model(x), other(x))
            assert torch.equal(model(x), load_model(path).eval()(x))
        assert list(tmp_path.joinpath("ckpt").iterdir()) == [path]  # no temporary left over

    def test_strict_load_rejects_wrong_shapes(
        self, name: str, config: dict[str, Any], stride: int, tmp_path
    ) -> None:
        width_key = {"unet": "base_channels", "fcn": "base_channels", "unetr": "feature_size"}
        wider = {**config, width_key[name]: config[width_key[name]] * 2}
        path = save_weights(_tiny(name, wider), tmp_path / "w.safetensors")
        model = _tiny(name, config)
        before = {k: v.clone() for k, v in model.state_dict().items()}
        with pytest.raises(ModelError, match=r"shape mismatch.*model \(\d+.*vs file \(\d+"):
            load_weights(model, path)
        # Nothing is copied when the check fails.
        assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_strict_load_rejects_missing_and_unexpected_keys(tmp_path) -> None:
    path = save_weights(UNet(base_channels=4, depth=3), tmp_path / "w.safetensors")
    with pytest.raises(ModelError, match=r"unexpected key\(s\): down\.2\.") as info:
        load_weights(UNet(base_channels=4, depth=2), path)
    assert "saved from model 'unet'" in str(info.value)
    with pytest.raises(ModelError, match=r"missing key\(s\)"):
        load_weights(UNet(base_channels=4, depth=4), path)
    with pytest.raises(ModelError, match="does not fit FCN"):
        load_weights(FCN(base_channels=4), path)


def test_load_missing_or_corrupt_file(tmp_path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        load_weights(UNet(base_channels=4), tmp_path / "absent.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(ModelError, match="not a readable safetensors"):
        load_weights(UNet(base_channels=4), bad)


def test_save_rejects_reserved_metadata_and_stores_json(tmp_path) -> None:
    model = UNet(base_channels=4, depth=2)
    with pytest.raises(ModelError, match="reserved"):
        save_weights(model, tmp_path / "w.safetensors", {MODEL_NAME_KEY: "x"})
    assert not (tmp_path / "w.safetensors").exists()
    path = save_weights(model, tmp_path / "w.safetensors", {"dice": {"iris": 0.9}})
    assert json.loads(read_metadata(path)["dice"]) == {"iris": 0.9}


def test_load_model_needs_metadata(tmp_path) -> None:
    from safetensors.torch import save_file

    path = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(1)}, str(path))
    with pytest.raises(ModelError, match="no 'ocularseg.model'"):
        load_model(path)


def test_registry_lists_valid_names() -> None:
    assert set(MODELS) == {"unet", "fcn", "unetr"}
    with pytest.raises(
        ModelConfigError, match="unknown model 'segformer'; valid models: unet, fcn, unetr"
    ):
        build_model("segformer")
    assert issubclass(ModelConfigError, ConfigError)
    assert not issubclass(ModelConfigError, ValueError)
    assert issubclass(InputSizeError, InputError)
    assert not issubclass(InputSizeError, ValueError)


def test_unknown_argument_lists_valid_ones() -> None:
    with pytest.raises(ModelConfigError, match=r"base_chanels.*valid options: .*base_channels"):
        build_model("unet", base_chanels=8)


@pytest.mark.parametrize(
    ("cls", "kwargs", "match"),
    [
        (UNet, {"norm": "layer"}, "norm 'layer' is not one of batch, group, none"),
        (UNet, {"depth": 0}, "depth=0 must be an integer ≥ 1"),
        (UNet, {"up": "nearest"}, "up 'nearest' is not one of"),
        (FCN, {"dropout": 1.0}, r"dropout=1.0 must be in \[0, 1\)"),
        (UNETR, {"num_layers": 3}, "num_layers=3 must be an integer ≥ 4"),
        (UNETR, {"hidden_size": 100, "num_heads": 3}, "not divisible by num_heads=3"),
        (UNETR, {"patch_size": 8}, "patch_size=8 is not supported"),
        (UNETR, {"img_size": (320, 470)}, "both positive multiples of patch_size=16"),
    ],
)
def test_bad_options(cls: type, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ModelConfigError, match=match):
        cls(**kwargs)


@pytest.mark.parametrize("norm", ["group", "none"])
@pytest.mark.parametrize("name", ["unet", "fcn"])
def test_norm_variants(name: str, norm: str) -> None:
    model = build_model(name, base_channels=4, norm=norm)
    assert model(torch.randn(1, 3, *SMALL_HW)).shape == (1, 5, *SMALL_HW)


def test_unet_bilinear_upsampling() -> None:
    model = UNet(base_channels=4, depth=2, up="bilinear")
    assert model(torch.randn(1, 3, *SMALL_HW)).shape == (1, 5, *SMALL_HW)


@pytest.mark.parametrize(("num_layers", "expected"), SKIP_CASES)
def test_unetr_skip_layers(num_layers: int, expected: tuple[int, ...]) -> None:
    assert skip_layer_indices(num_layers) == expected


def test_unetr_resamples_position_embedding_for_other_sizes() -> None:
    _, config, _ = CASES[2]
    model = UNETR(**config).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 32, 48)).shape == (1, 5, 32, 48)


def test_default_unet_parameter_count() -> None:
    # The project's reference UNet has 1.9 M parameters; keep the default close to it.
    assert 1_000_000 < UNet().num_parameters() < 3_000_000


def test_fcn_upsampling_starts_bilinear() -> None:
    model = FCN(num_classes=2)
    constant = torch.ones(1, 2, 4, 6)
    up = model.up8(constant)
    assert up.shape == (1, 2, 32, 48)
    # Away from the border, bilinear upsampling of a constant map is the same constant.
    assert torch.allclose(up[..., 8:-8, 8:-8], torch.ones(()))


def test_rgb_weights_grow_into_a_model_with_the_prior_channel(tmp_path):
    """Fine-tuning an RGB model with the landmark prior starts from the same function."""
    from ocularseg.training.models import build_model
    from ocularseg.training.models.io import load_weights, save_weights

    torch.manual_seed(0)
    rgb = build_model("unet", stem_stride=2, widths=[8, 16, 32]).eval()
    save_weights(rgb, tmp_path / "rgb.safetensors", {})
    grown = build_model("unet", in_channels=4, stem_stride=2, widths=[8, 16, 32]).eval()
    load_weights(grown, tmp_path / "rgb.safetensors", grow_input_channels=True)
    x, prior = torch.randn(1, 3, 64, 96), torch.randn(1, 1, 64, 96)
    with torch.no_grad():
        assert torch.allclose(rgb(x), grown(torch.cat([x, prior], dim=1)), atol=1e-6)
    with pytest.raises(Exception, match="shape mismatch"):
        load_weights(grown, tmp_path / "rgb.safetensors")  # strict without the option
