"""Region-wise / boundary losses, their maps and schedules, and the pixel losses the
reference file lists (Dice, CE, Focal, combinations at several epochs), within 1e-6."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from ocularseg.training.losses import MAP_BOUNDARY, MAP_RRW, LossConfigError
from ocularseg.training.losses import region_wise as rwl
from ocularseg.training.losses.pixel import CrossEntropyLoss, DiceLoss, FocalLoss
from tests.training.reference_vectors import concentric_labels, reference_vectors

TOLERANCE = 1e-6


def _case_inputs(case: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits float64 (B, C, *S), labels int64 (B, *S)) as the input protocol says."""
    rng = np.random.default_rng(case["seed"])
    logits = rng.standard_normal(size=(case["B"], case["C"], *case["S"]))
    if "radii" in case:
        labels = concentric_labels(case["B"], case["S"], case["radii"], case.get("shift"))
    else:
        n_label = case.get("n_label", case["C"])
        labels = rng.integers(0, n_label, size=(case["B"], 1, *case["S"]))
    return torch.from_numpy(logits), torch.from_numpy(labels[:, 0])


_SINGLE = {
    "RWLoss": rwl.RegionWiseLoss,
    "BoundaryLoss": rwl.BoundaryLoss,
    "DiceLoss": DiceLoss,
    "CELoss": CrossEntropyLoss,
    "FocalLoss": FocalLoss,
}
_PARTS = {
    "RW": rwl.RegionWiseLoss,
    "Boundary": rwl.BoundaryLoss,
    "Dice": DiceLoss,
    "CE": CrossEntropyLoss,
}


def loss_for(reference_name: str) -> tuple[torch.nn.Module, int]:
    """Our loss and epoch for a reference key such as ``RWGradualCELoss@e=50``."""
    name, _, epoch = reference_name.partition("@e=")
    if name in _SINGLE:
        return _SINGLE[name](), int(epoch or 0)
    match = re.fullmatch(r"(RW|Boundary)(Gradual|Equal|)(Dice|CE)Loss", name)
    if match is None:
        raise KeyError(reference_name)
    region, schedule, pixel = match.groups()
    # "BoundaryDiceLoss" (no schedule word) is the gradual schedule in the reference code.
    schedule = (schedule or "Gradual").lower()
    return rwl.ScheduledSum(_PARTS[pixel](), _PARTS[region](), schedule), int(epoch)


def _cases() -> list[tuple[str, str]]:
    data = reference_vectors("region_wise")
    return [(c["name"], key) for c in data["cases"] for key in c["losses"]]


@pytest.mark.parametrize(("case_name", "loss_name"), _cases())
def test_matches_reference(case_name: str, loss_name: str) -> None:
    data = reference_vectors("region_wise")
    case = next(c for c in data["cases"] if c["name"] == case_name)
    logits, labels = _case_inputs(case)
    loss, epoch = loss_for(loss_name)
    value = loss(logits, labels, epoch=epoch)
    assert value.dtype == torch.float64
    assert abs(value.item() - case["losses"][loss_name]["value"]) <= TOLERANCE


def test_every_reference_key_is_understood() -> None:
    data = reference_vectors("region_wise")
    for case in data["cases"]:
        for key in case["losses"]:
            loss_for(key)


@pytest.mark.parametrize("kind", ["rrw_map", "boundary_map"])
def test_maps_match_reference_9x9(kind: str) -> None:
    data = reference_vectors("region_wise")["maps_9x9"]
    labels = np.array(data["labels"], dtype=np.int64)[None, None]
    np.testing.assert_array_equal(labels, concentric_labels(1, [9, 9], [3.6, 1.5]))
    compute = rwl.rrw_map if kind == "rrw_map" else rwl.boundary_map
    ours = compute(labels, 3)
    assert ours.dtype == np.float32 and ours.shape == (1, 3, 9, 9)
    np.testing.assert_array_equal(ours[0], np.array(data[kind], dtype=np.float32))


def test_rrw_map_hand_case() -> None:
    # A 1x5 strip: class 1 at columns 1-3 (depths 1, 2, 1 from the outside).
    labels = np.array([[[[0, 1, 1, 1, 0]]]])
    maps = rwl.rrw_map(labels, 3)
    np.testing.assert_array_equal(maps[0, 1, 0], np.float32([1, -0.5, -1, -0.5, 1]))
    np.testing.assert_array_equal(maps[0, 0, 0], np.float32([-1, 1, 1, 1, -1]))
    np.testing.assert_array_equal(maps[0, 2], np.ones((1, 5), np.float32))  # absent class


def test_boundary_map_absent_class_is_zero() -> None:
    labels = np.array([[[[0, 1, 1, 0]]]])
    maps = rwl.boundary_map(labels, 3)
    np.testing.assert_array_equal(maps[0, 2], 0)
    np.testing.assert_array_equal(maps[0, 1, 0], np.float32([1, -1, -1, 1]))


def test_map_inputs_accept_torch_and_validate() -> None:
    labels = torch.tensor([[[[0, 1], [2, 1]]]])
    assert rwl.rrw_map(labels, 3).shape == (1, 3, 2, 2)
    with pytest.raises(ValueError, match=r"\(B, 1, \*S\)"):
        rwl.rrw_map(np.zeros((4, 4), np.int64), 2)
    with pytest.raises(ValueError, match="outside"):
        rwl.boundary_map(np.full((1, 1, 3, 3), 5), 3)
    with pytest.raises(TypeError, match="integer"):
        rwl.rrw_map(np.zeros((1, 1, 3, 3), np.float32), 2)


def test_precomputed_maps_equal_on_the_fly() -> None:
    torch.manual_seed(1)
    logits = torch.randn(2, 5, 12, 14, dtype=torch.float64)
    target = torch.randint(0, 5, (2, 12, 14))
    labels = target[:, None].numpy()
    maps = {
        MAP_RRW: torch.from_numpy(rwl.rrw_map(labels, 5)),
        MAP_BOUNDARY: torch.from_numpy(rwl.boundary_map(labels, 5)),
    }
    assert rwl.RegionWiseLoss()(logits, target, maps=maps) == rwl.RegionWiseLoss()(logits, target)
    assert rwl.BoundaryLoss()(logits, target, maps=maps) == rwl.BoundaryLoss()(logits, target)
    assert rwl.region_wise_loss(logits, maps[MAP_RRW]) == rwl.RegionWiseLoss()(logits, target)
    assert rwl.boundary_loss(logits, maps[MAP_BOUNDARY]) == rwl.BoundaryLoss()(logits, target)
    with pytest.raises(ValueError, match="shape"):
        rwl.RegionWiseLoss()(logits, target, maps={MAP_RRW: maps[MAP_RRW][:, :3]})


def test_region_wise_loss_is_lowest_for_the_right_answer() -> None:
    target = torch.from_numpy(concentric_labels(1, [16, 16], [6.0, 3.0]))[:, 0]
    right = 10.0 * torch.nn.functional.one_hot(target, 3).movedim(-1, 1).double()
    wrong = right.roll(1, dims=1)
    assert rwl.RegionWiseLoss()(right, target) < rwl.RegionWiseLoss()(wrong, target)
    assert rwl.RegionWiseLoss()(right, target) < 0


@pytest.mark.parametrize(
    ("epoch", "alpha"), [(0, 1.0), (1, 0.99), (50, 0.5), (99, 0.01), (100, 0.01), (1000, 0.01)]
)
def test_alpha_schedule(epoch: int, alpha: float) -> None:
    assert rwl.alpha_schedule(epoch) == pytest.approx(alpha)


def test_alpha_schedule_rejects_bad_epochs() -> None:
    with pytest.raises(ValueError):
        rwl.alpha_schedule(-1)
    with pytest.raises(TypeError):
        rwl.alpha_schedule(1.5)  # type: ignore[arg-type]


def test_scheduled_sum_combinations() -> None:
    torch.manual_seed(2)
    logits = torch.randn(1, 3, 8, 8, dtype=torch.float64)
    target = torch.randint(0, 3, (1, 8, 8))
    ce, rw = CrossEntropyLoss()(logits, target), rwl.RegionWiseLoss()(logits, target)
    gradual = rwl.ScheduledSum(CrossEntropyLoss(), rwl.RegionWiseLoss(), "gradual")
    equal = rwl.ScheduledSum(CrossEntropyLoss(), rwl.RegionWiseLoss(), "equal")
    assert gradual(logits, target, epoch=0).item() == pytest.approx(ce.item())
    assert gradual(logits, target, epoch=30).item() == pytest.approx((0.7 * ce + 0.3 * rw).item())
    assert equal(logits, target, epoch=30).item() == pytest.approx((ce + rw).item())
    assert gradual.required_maps == (MAP_RRW,)
    with pytest.raises(LossConfigError, match="schedule"):
        rwl.ScheduledSum(CrossEntropyLoss(), rwl.RegionWiseLoss(), "sudden")  # type: ignore[arg-type]
