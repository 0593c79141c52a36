"""TIU loss: the relation term's properties 1-3 (docs/losses.md) on drawn eyes, the topology
term's two forms, the weighted sum, gradients and bad inputs.

Eyes are drawn here with NumPy (no phantom generator): a lens-shaped opening between two
parabolic lids, a caruncle at the medial (left) corner, an iris disc and a concentric
pupil, all clipped by the lids, on a 480×320 crop.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.ndimage import binary_dilation, binary_erosion, gaussian_filter

from ocularseg.core.labels import Label
from ocularseg.training.losses import (
    CrossEntropyLoss,
    LossConfigError,
    TIULoss,
    relation_excess,
    relation_term,
    relation_violations,
    topology_term,
)

H, W = 320, 480
BG, SCLERA, IRIS, PUPIL, CARUNCLE = (int(label) for label in Label)


def disc(cy: float, cx: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def draw_eye(
    iris_xy: tuple[int, int] = (240, 160),
    iris_r: int = 62,
    pupil_r: int = 24,
    lid_up: float = 75,
    lid_lo: float = 55,
) -> np.ndarray:
    """Label map (H, W): opening centred at (240, 165), 400 px wide; lid heights in px."""
    yy, xx = np.mgrid[0:H, 0:W]
    x0, y0, half_w = 240, 165, 200
    t = 1 - ((xx - x0) / half_w) ** 2
    opening = (t > 0) & (yy > y0 - lid_up * t) & (yy < y0 + lid_lo * t)
    labels = np.zeros((H, W), np.int64)
    labels[opening] = SCLERA
    caruncle = ((xx - (x0 - half_w + 28)) / 22.0) ** 2 + ((yy - y0) / 14.0) ** 2 <= 1
    labels[caruncle & opening] = CARUNCLE
    ix, iy = iris_xy
    labels[disc(iy, ix, iris_r) & opening] = IRIS
    labels[disc(iy, ix, pupil_r) & opening] = PUPIL
    return labels


VALID = {
    "open": draw_eye(),
    "ptosis_lid_on_iris": draw_eye(lid_up=12),
    "ptosis_lid_across_pupil": draw_eye(iris_xy=(240, 178), lid_up=8),
    "lateral_gaze_iris_at_corner": draw_eye(iris_xy=(392, 165)),
    "medial_gaze_iris_on_caruncle": draw_eye(iris_xy=(90, 165)),
    "ptosis_and_side_gaze": draw_eye(iris_xy=(380, 165), lid_up=15),
}


def with_blob(labels: np.ndarray, mask: np.ndarray, cls: int) -> np.ndarray:
    out = labels.copy()
    out[mask] = cls
    return out


OPEN = VALID["open"]
VIOLATIONS = {
    "pupil_blob_in_skin": with_blob(OPEN, disc(50, 120, 12), PUPIL),
    "pupil_blob_in_sclera": with_blob(OPEN, disc(165, 360, 12), PUPIL),
    "sclera_inside_iris": with_blob(OPEN, disc(160, 283, 10), SCLERA),
    "skin_inside_iris": with_blob(OPEN, disc(160, 283, 10), BG),
    "iris_blob_above_opening": with_blob(OPEN, disc(40, 300, 12), IRIS),
    "iris_blob_beside_opening": with_blob(OPEN, disc(165, 465, 12), IRIS),
    "pupil_through_iris_to_sclera": with_blob(OPEN, disc(160, 280, 24), PUPIL),
}
# Each violation must show up in the relation meant for it (and may also show up in others).
EXPECTED_RELATION = {
    "pupil_blob_in_skin": "pupil_not_in_iris",
    "pupil_blob_in_sclera": "pupil_sclera_contact",
    "sclera_inside_iris": "non_iris_inside_iris",
    "skin_inside_iris": "non_iris_inside_iris",
    "iris_blob_above_opening": "iris_outside_sclera",
    "iris_blob_beside_opening": "iris_outside_sclera",
    "pupil_through_iris_to_sclera": "pupil_not_in_iris",
}
VALID_LIMIT = 1e-5
VIOLATION_MIN = 1.5e-3  # a 10-12 px blob covers ~2-3e-3 of the crop


def onehot(labels: np.ndarray) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.from_numpy(labels), 5).movedim(-1, 0)[None].double()


def confident(labels: np.ndarray, scale: float = 8.0) -> torch.Tensor:
    """Softmax of ``scale``·one-hot logits: the label's class gets ~0.9987."""
    return torch.softmax(scale * onehot(labels), dim=1)


def soft(labels: np.ndarray, seed: int = 0) -> torch.Tensor:
    """A soft prediction close to the reference: blurred one-hot logits plus noise."""
    rng = np.random.default_rng(seed)
    logits = 6 * gaussian_filter(onehot(labels).numpy(), sigma=(0, 0, 1.5, 1.5))
    logits = logits + 0.5 * rng.standard_normal(logits.shape)
    return torch.softmax(torch.from_numpy(logits), dim=1)


# -- property 1: zero on valid anatomy -------------------------------------------------


@pytest.mark.parametrize("name", VALID)
def test_relation_is_zero_for_valid_reference(name: str) -> None:
    labels = VALID[name]
    reference = onehot(labels)
    assert relation_term(reference, reference).item() == 0.0
    assert relation_term(confident(labels), reference).item() == 0.0


@pytest.mark.parametrize("name", VALID)
def test_relation_is_negligible_for_near_predictions(name: str) -> None:
    labels = VALID[name]
    assert relation_term(soft(labels), onehot(labels)).item() < VALID_LIMIT
    # The same anatomy drawn one pixel off (as a network's border would be).
    shifted = np.roll(labels, (1, 1), axis=(0, 1))
    assert relation_term(confident(shifted), onehot(labels)).item() == 0.0


def test_valid_side_gaze_and_ptosis_do_violate_the_raw_rules() -> None:
    # Why violations are counted only beyond the reference: the raw rules fire on valid
    # anatomy (iris at the corner has no sclera on one side; the narrow top rows of a
    # ptotic opening hold only iris).
    for name in ("lateral_gaze_iris_at_corner", "ptosis_lid_on_iris"):
        raw = relation_violations(onehot(VALID[name]))["iris_outside_sclera"]
        assert raw.mean().item() > 1e-4


def test_literal_paper_enclosure_fails_on_a_perfect_prediction() -> None:
    # ReLU(P_pupil − P_iris) on softmax output is large for the reference itself.
    probs = confident(OPEN)
    literal = torch.relu(probs[:, PUPIL] - probs[:, IRIS]).mean().item()
    assert literal > 1e-2
    assert relation_term(probs, onehot(OPEN)).item() == 0.0


# -- property 2: clearly positive for the errors it exists to prevent -----------------


@pytest.mark.parametrize("name", VIOLATIONS)
def test_relation_is_positive_for_violations(name: str) -> None:
    reference = onehot(OPEN)
    excess = relation_excess(confident(VIOLATIONS[name]), reference)
    total = sum(value.item() for value in excess.values())
    assert total > VIOLATION_MIN
    assert excess[EXPECTED_RELATION[name]].item() > 5e-4
    assert total > 100 * relation_term(soft(OPEN), reference).item() + 1e-9


def test_violation_in_a_ptotic_eye_is_still_seen() -> None:
    labels = VALID["ptosis_lid_across_pupil"]
    wrong = with_blob(labels, disc(165, 380, 12), PUPIL)
    assert relation_term(confident(wrong), onehot(labels)).item() > VIOLATION_MIN


# -- property 3: differentiable and cheap ---------------------------------------------


def test_relation_gradcheck() -> None:
    torch.manual_seed(0)
    target = torch.randint(0, 5, (1, 8, 10))
    truth = torch.nn.functional.one_hot(target, 5).movedim(-1, 1).double()
    logits = (3 * torch.randn(1, 5, 8, 10, dtype=torch.float64)).requires_grad_(True)

    def fn(x: torch.Tensor) -> torch.Tensor:
        return relation_term(torch.softmax(x, 1), truth, exclusion_kernel=2, tolerance_px=0)

    assert fn(logits).item() > 0  # some gates are open, so the check is not vacuous
    assert torch.autograd.gradcheck(fn, (logits,), eps=1e-6, atol=1e-6)


def test_tiu_gradcheck_both_forms() -> None:
    torch.manual_seed(1)
    target = torch.randint(0, 5, (2, 8, 8))
    logits = (2 * torch.randn(2, 5, 8, 8, dtype=torch.float64)).requires_grad_(True)
    for form in ("count", "location"):
        loss = TIULoss(
            alpha=0.7, beta=1.3, gamma=1.0, kernels=(2, 4), topology_form=form, exclusion_kernel=2
        )
        # fast_mode checks a random projection of the Jacobian: the same test of the
        # analytic gradient at a fraction of the 2 × 640 loss evaluations of the slow mode.
        assert torch.autograd.gradcheck(
            lambda x, loss=loss: loss(x, target), (logits,), atol=1e-6, fast_mode=True
        )


def test_gradient_pushes_the_blob_away() -> None:
    logits = (8 * onehot(VIOLATIONS["pupil_blob_in_skin"])).requires_grad_(True)
    relation_term(torch.softmax(logits, 1), onehot(OPEN)).backward()
    blob = torch.from_numpy(disc(50, 120, 12))
    # Descending the gradient lowers the pupil logit inside the blob.
    assert (logits.grad[0, PUPIL][blob] > 0).float().mean().item() > 0.9
    assert logits.grad[0, PUPIL][~blob & torch.from_numpy(OPEN == PUPIL)].abs().max() == 0


# -- topology term --------------------------------------------------------------------


def test_topology_hand_case() -> None:
    truth = torch.zeros(1, 2, 4, 4, dtype=torch.float64)
    truth[0, 1, :2, :2] = 1
    probs = torch.zeros_like(truth)
    probs[0, 1, 3, 3] = 1
    # kernel 2: cells differ at (0,0) and (1,1) → location 2/4; counts equal → count 0.
    assert topology_term(probs, truth, (2,), "location").item() == 0.5
    assert topology_term(probs, truth, (2,), "count").item() == 0.0


def test_count_form_separates_topology() -> None:
    """The experiment behind the default form (module docstring of ``tiu``)."""
    labels = OPEN
    iris, pupil = labels == IRIS, labels == PUPIL
    benign = {
        "shift_x1": np.roll(labels, 1, 1),
        "shift_y1": np.roll(labels, 1, 0),
        "iris_dilate1": with_blob(
            labels, binary_dilation(iris | pupil) & ~(iris | pupil) & (labels > 0), IRIS
        ),
        "pupil_erode1": with_blob(labels, pupil & ~binary_erosion(pupil), IRIS),
        "pupil_moved8": with_blob(with_blob(labels, pupil, IRIS), np.roll(pupil, 8, 1), PUPIL),
    }
    topological = {
        "pupil_blob_r6": with_blob(labels, disc(50, 120, 6), PUPIL),
        "pupil_blob_r12": VIOLATIONS["pupil_blob_in_skin"],
        "iris_blob_r12": VIOLATIONS["iris_blob_above_opening"],
        "hole_in_iris_r8": with_blob(labels, disc(160, 283, 8), SCLERA),
        "pupil_missing": with_blob(labels, pupil, IRIS),
    }
    truth = onehot(labels)
    separation = {}
    for form in ("count", "location"):
        worst_benign = max(topology_term(confident(v), truth, form=form) for v in benign.values())
        least_topo = min(
            topology_term(confident(v), truth, form=form) for v in topological.values()
        )
        separation[form] = (least_topo / worst_benign).item()
    assert separation["count"] > 0.8
    assert separation["count"] > 2 * separation["location"]


# -- the weighted sum and its options -------------------------------------------------


def test_tiu_is_the_weighted_sum_of_its_components() -> None:
    torch.manual_seed(2)
    target = torch.from_numpy(OPEN)[None]
    logits = 8 * onehot(VIOLATIONS["pupil_blob_in_skin"]) + 0.1 * torch.randn(1, 5, H, W)
    loss = TIULoss(alpha=0.5, beta=3.0, gamma=2.0)
    parts = loss.components(logits, target)
    assert parts["pixel"].item() == pytest.approx(CrossEntropyLoss()(logits, target).item())
    assert parts["relation"].item() > VIOLATION_MIN
    expected = 2.0 * parts["pixel"] + 0.5 * parts["topology"] + 3.0 * parts["relation"]
    assert loss(logits, target, epoch=7).item() == pytest.approx(expected.item())
    assert TIULoss(pixel_loss="dice").components(logits, target)["pixel"].item() < 0.1


def test_warmup_trains_on_the_pixel_loss_alone_first() -> None:
    torch.manual_seed(3)
    target = torch.from_numpy(OPEN)[None]
    logits = 8 * onehot(VIOLATIONS["pupil_blob_in_skin"]) + 0.1 * torch.randn(1, 5, H, W)
    loss = TIULoss(gamma=2.0, warmup_epochs=3)
    pixel = 2.0 * CrossEntropyLoss()(logits, target).item()
    assert [loss(logits, target, epoch=e).item() for e in (0, 2)] == pytest.approx([pixel] * 2)
    # From epoch 3 on the constraint terms count, and this pupil blob violates them.
    assert loss(logits, target, epoch=3).item() > pixel + VIOLATION_MIN
    assert loss(logits, target, epoch=3).item() == pytest.approx(
        TIULoss(gamma=2.0)(logits, target).item()
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"alpha": -1.0},
        {"beta": "1"},
        {"pixel_loss": "l2"},
        {"topology_form": "betti"},
        {"kernels": ()},
        {"kernels": (2, 0)},
        {"tau": 1.0},
        {"tolerance_px": -1},
        {"exclusion_kernel": 0},
        {"warmup_epochs": -1},
        {"warmup_epochs": 1.5},
        {"class_weights": (1, 1, 1, 1, 8), "pixel_loss": "dice"},
    ],
)
def test_bad_options(kwargs: dict) -> None:
    with pytest.raises(LossConfigError):
        TIULoss(**kwargs)


def test_bad_inputs() -> None:
    loss = TIULoss()
    with pytest.raises(LossConfigError, match="5, H, W"):
        loss(torch.zeros(1, 3, 32, 32), torch.zeros(1, 32, 32, dtype=torch.long))
    with pytest.raises(LossConfigError, match="largest kernel"):
        loss(torch.zeros(1, 5, 8, 32), torch.zeros(1, 8, 32, dtype=torch.long))
    with pytest.raises(ValueError, match="does not match"):
        loss(torch.zeros(1, 5, 32, 32), torch.zeros(1, 16, 32, dtype=torch.long))
