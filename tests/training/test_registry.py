"""Loss registry: every name builds, follows the calling convention, and bad names,
options or values raise LossConfigError (a ConfigError) listing the valid ones."""

from __future__ import annotations

import pytest
import torch

from ocularseg.core.errors import ConfigError
from ocularseg.training.losses import (
    LOSSES,
    MAP_BOUNDARY,
    MAP_RRW,
    LossConfigError,
    SegmentationLoss,
    TIULoss,
    boundary_map,
    build_loss,
    loss_options,
    rrw_map,
)

REQUIRED_NAMES = (
    "ce",
    "dice",
    "ce+tiu",
    "dice+tiu",
    "rw",
    "ce+rw-gradual",
    "ce+rw-equal",
    "dice+rw-gradual",
    "dice+pp",
    "ce+pp",
    "boundary",
    "ce+boundary-gradual",
)
EXPECTED_MAPS = {"rw": (MAP_RRW,), "boundary": (MAP_BOUNDARY,), "ce+rw-gradual": (MAP_RRW,)}


def test_required_names_are_registered() -> None:
    assert set(REQUIRED_NAMES) <= set(LOSSES)


@pytest.mark.parametrize("name", list(LOSSES))
def test_every_loss_builds_and_runs(name: str) -> None:
    loss = build_loss(name)
    assert isinstance(loss, SegmentationLoss)
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 5, 40, 48, generator=generator, requires_grad=True)
    target = torch.randint(0, 5, (2, 40, 48), generator=generator)
    labels = target[:, None].numpy()
    maps = {
        MAP_RRW: torch.from_numpy(rrw_map(labels, 5)),
        MAP_BOUNDARY: torch.from_numpy(boundary_map(labels, 5)),
    }
    value = loss(logits, target, epoch=3, maps=maps)
    assert value.dim() == 0 and torch.isfinite(value)
    value.backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0
    # Maps are optional: computed from the target when absent, with the same result.
    assert loss(logits, target, epoch=3).item() == pytest.approx(value.item(), rel=1e-6)
    assert set(loss.required_maps) <= {MAP_RRW, MAP_BOUNDARY}
    if name in EXPECTED_MAPS:
        assert loss.required_maps == EXPECTED_MAPS[name]


def test_gradual_losses_use_the_epoch() -> None:
    logits = torch.randn(1, 5, 24, 24, generator=torch.Generator().manual_seed(1))
    target = torch.randint(0, 5, (1, 24, 24), generator=torch.Generator().manual_seed(2))
    loss = build_loss("ce+rw-gradual")
    assert loss(logits, target, epoch=0) != loss(logits, target, epoch=60)
    equal = build_loss("ce+rw-equal")
    assert equal(logits, target, epoch=0) == equal(logits, target, epoch=60)


def test_options_reach_the_loss() -> None:
    loss = build_loss("ce+tiu", alpha=0.25, beta=4.0, topology_form="location")
    assert isinstance(loss, TIULoss)
    assert (loss.alpha, loss.beta, loss.topology_form) == (0.25, 4.0, "location")
    assert "topology_form" in loss_options("dice+tiu")
    assert build_loss("dice", include_background=False).include_background is False


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(LossConfigError, match="unknown loss 'tversky'") as info:
        build_loss("tversky")
    for name in REQUIRED_NAMES:
        assert name in str(info.value)


def test_unknown_option_lists_valid_options() -> None:
    with pytest.raises(LossConfigError, match="unknown option.*alhpa.*valid options: alpha"):
        build_loss("ce+tiu", alhpa=1.0)
    with pytest.raises(LossConfigError, match="valid options: class_weights"):
        build_loss("ce", weight=2.0)
    with pytest.raises(LossConfigError, match=r"\(none\)"):
        build_loss("rw", weight=2.0)


def test_ce_map_losses_take_the_ce_class_weights() -> None:
    # A grid weights the rare caruncle alike in every CE-based cell, CE+RW included.
    logits = torch.randn(2, 5, 24, 24, generator=torch.Generator().manual_seed(3))
    target = torch.randint(0, 5, (2, 24, 24), generator=torch.Generator().manual_seed(4))
    assert loss_options("ce+rw-equal") == ["class_weights"]
    plain = build_loss("ce+rw-equal")(logits, target)
    weighted = build_loss("ce+rw-equal", class_weights=[1, 1, 1, 1, 8])(logits, target)
    ce_gap = build_loss("ce", class_weights=[1, 1, 1, 1, 8])(logits, target) - build_loss("ce")(
        logits, target
    )
    assert torch.isclose(weighted - plain, ce_gap)
    assert loss_options("dice+rw-equal") == []


def test_loss_config_error_is_a_config_error_only() -> None:
    assert issubclass(LossConfigError, ConfigError)
    assert not issubclass(LossConfigError, ValueError)


@pytest.mark.parametrize(
    ("name", "options", "field"),
    [
        ("ce+tiu", {"beta": -1}, "beta"),
        ("ce+tiu", {"beta": True}, "beta"),
        ("ce+tiu", {"kernels": [2, 0]}, "kernels"),
        ("pce+tiu", {"tau": 1.0}, "tau"),
        ("ce", {"class_weights": [0, 0]}, "class_weights"),
        ("dice", {"batch_dice": "yes"}, "batch_dice"),
        ("focal", {"alpha": 0}, "alpha"),
        ("dice+pp", {"weight": float("nan")}, "weight"),
    ],
)
def test_bad_option_values_name_the_field(name: str, options: dict, field: str) -> None:
    with pytest.raises(LossConfigError, match=field):
        build_loss(name, **options)


def test_one_beta_default_on_every_tiu_path() -> None:
    # The bundled TIU models were trained through the registry with beta 10.
    from ocularseg.training.losses import TIUOptions
    from ocularseg.training.losses.partial import PartialTIULoss

    assert TIUOptions().beta == 10.0
    betas = {
        TIULoss().beta,
        PartialTIULoss().beta,
        build_loss("ce+tiu").beta,
        build_loss("dice+tiu").beta,
        build_loss("pce+tiu").beta,
    }
    assert betas == {10.0}


def test_options_listed_from_the_options_model() -> None:
    from ocularseg.training.losses import TIUOptions

    assert loss_options("ce+tiu") == list(TIUOptions.model_fields)
    assert loss_options("pce+tiu") == list(TIUOptions.model_fields)
    assert loss_options("dice+pp") == ["kernels", "start_channel", "weight"]
