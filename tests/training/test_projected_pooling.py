"""Projected pooling loss: reference values (float64, 1e-10), gradients, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ocularseg.training.losses import LossConfigError, ProjectedPoolingLoss
from ocularseg.training.losses import SoftmaxProjectedPoolingLoss as SoftmaxPP
from ocularseg.training.losses.projected_pooling import projected_pooling_loss
from tests.training.reference_vectors import reference_vectors


def _inputs(case: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Regenerate (input, target) exactly as the file's input_protocol says."""
    rng = np.random.default_rng(case["seed"])
    shape = (case["B"], case["C"], *case["S"])
    logits = rng.standard_normal(size=shape)
    labels = rng.integers(0, case.get("n_label", case["C"]), size=(case["B"], 1, *case["S"]))
    x = torch.from_numpy(logits)
    if case["normalise"] == "softmax":
        probs = torch.softmax(x, dim=1)
        target = torch.nn.functional.one_hot(torch.from_numpy(labels[:, 0]), case["C"])
        return probs, target.movedim(-1, 1).to(torch.float64)
    if case["normalise"] == "sigmoid":
        return torch.sigmoid(x), torch.from_numpy(labels).to(torch.float64)
    if case["normalise"] == "threshold":
        # Binary input with many ties (the protocol's "> 0.5"; its `thr` is not an
        # argument of the loss). Tie-breaking follows PyTorch's max-pool, as the reference.
        binary = np.random.default_rng(case["seed"] + 1000).random(size=shape) > 0.5
        target = torch.nn.functional.one_hot(torch.from_numpy(labels[:, 0]), case["C"])
        return torch.from_numpy(binary.astype(np.float64)), target.movedim(-1, 1).double()
    raise NotImplementedError(case["normalise"])


@pytest.mark.parametrize(
    "case", reference_vectors("projected_pooling")["cases"], ids=lambda c: c["name"]
)
def test_matches_reference(case: dict) -> None:
    probs, target = _inputs(case)
    probs.requires_grad_(True)
    kwargs = {"kernels": tuple(case["kernels"])} if "kernels" in case else {}
    value = projected_pooling_loss(probs, target, start_channel=case["start_channel"], **kwargs)
    assert abs(value.item() - case["reference"]["value"]) <= 1e-10
    # The reference gradient is taken with respect to the probabilities handed to the loss
    # (a sum of ±1/N per pooled arg-max cell, hence the rational values).
    value.backward()
    assert probs.grad.abs().sum().item() == pytest.approx(case["reference_grad_abs_sum"], abs=1e-9)


def test_hand_computed_2d() -> None:
    # One 4x4 image, one foreground channel, kernel 2: pooled cells of the input are
    # 0.5, 0.2, 0.9, 0.0 (total 1.6) and of the target 1, 0, 1, 1 (total 3).
    probs = torch.zeros(1, 2, 4, 4, dtype=torch.float64)
    probs[0, 1, 0, 0] = 0.5
    probs[0, 1, 1, 3] = 0.2
    probs[0, 1, 3, 1] = 0.9
    target = torch.zeros_like(probs)
    target[0, 1, 1, 1] = target[0, 1, 2, 0] = target[0, 1, 3, 3] = 1
    value = projected_pooling_loss(probs, target, kernels=(2,))
    assert value.item() == pytest.approx(1.4)


def test_3d_projections_use_every_axis() -> None:
    # A single voxel present in the target only: each of the 3 planes misses one cell.
    target = torch.zeros(1, 2, 8, 8, 8, dtype=torch.float64)
    target[0, 1, 1, 2, 3] = 1
    value = projected_pooling_loss(torch.zeros_like(target), target, kernels=(4,))
    assert value.item() == pytest.approx(1.0)


def test_start_channel_zero_includes_background() -> None:
    probs = torch.full((1, 2, 8, 8), 0.5, dtype=torch.float64)
    target = torch.zeros_like(probs)
    target[:, 0] = 1
    # channel 0: cells 0.5 vs 1 (diff 2 over 4 cells); channel 1: 0.5 vs 0 (diff 2).
    assert projected_pooling_loss(probs, target, kernels=(4,), start_channel=0).item() == 2.0
    assert projected_pooling_loss(probs, target, kernels=(4,), start_channel=1).item() == 2.0


def test_module_wrappers_agree() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 40, 40, dtype=torch.float64)
    target = torch.randint(0, 5, (2, 40, 40))
    probs = torch.softmax(logits, 1)
    onehot = torch.nn.functional.one_hot(target, 5).movedim(-1, 1).double()
    expected = projected_pooling_loss(probs, onehot)
    assert ProjectedPoolingLoss()(probs, onehot).item() == expected.item()
    assert SoftmaxPP()(logits, target).item() == expected.item()


@pytest.mark.parametrize(
    ("shape", "kernels"),
    [((1, 2, 19, 40), (4, 5, 8, 10, 20)), ((1, 2, 30, 30, 7), (8,)), ((1, 2, 3, 3), (4,))],
)
def test_axis_smaller_than_largest_kernel(shape: tuple[int, ...], kernels: tuple[int, ...]) -> None:
    x = torch.zeros(shape)
    with pytest.raises(LossConfigError, match="largest kernel"):
        projected_pooling_loss(x, x, kernels=kernels)


@pytest.mark.parametrize(
    ("input_shape", "target_shape", "kwargs", "error", "message"),
    [
        ((1, 2, 20, 20), (1, 3, 20, 20), {}, ValueError, "same shape"),
        ((2, 20, 20), (2, 20, 20), {}, ValueError, "B, C, H, W"),
        ((1, 2, 20, 20), (1, 2, 20, 20), {"start_channel": 2}, LossConfigError, "no channel"),
        ((1, 2, 20, 20), (1, 2, 20, 20), {"kernels": ()}, LossConfigError, "non-empty"),
        ((1, 2, 20, 20), (1, 2, 20, 20), {"kernels": (0,)}, LossConfigError, "positive"),
    ],
)
def test_bad_inputs(input_shape, target_shape, kwargs, error, message) -> None:
    # Tensors passed by code are ValueError; options are the config error.
    with pytest.raises(error, match=message):
        projected_pooling_loss(torch.zeros(input_shape), torch.zeros(target_shape), **kwargs)


def test_integer_input_is_a_type_error() -> None:
    x = torch.zeros(1, 2, 20, 20, dtype=torch.long)
    with pytest.raises(TypeError):
        projected_pooling_loss(x, x.double())
