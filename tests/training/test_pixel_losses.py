"""Cross-entropy, Dice and focal loss: hand-computed values and bad inputs."""

from __future__ import annotations

import math

import pytest
import torch

from ocularseg.training.losses import CrossEntropyLoss, DiceLoss, FocalLoss, LossConfigError

# logits (1, 2, 1, 2): pixel 0 has p = (0.5, 0.5), pixel 1 has p(class 1) = e/(1 + e).
LOGITS = torch.tensor([[[[0.0, 0.0]], [[0.0, 1.0]]]], dtype=torch.float64)
TARGET = torch.tensor([[[0, 1]]])
P1 = math.e / (1 + math.e)

CASES = [
    (CrossEntropyLoss(), -(math.log(0.5) + math.log(P1)) / 2),
    # Dice per class: c0: 2·0.5 / (0.5 + (1 − P1) + 1); c1: 2·P1 / (0.5 + P1 + 1).
    (
        DiceLoss(eps=0.0),
        1 - (1 / (2.5 - P1) + 2 * P1 / (1.5 + P1)) / 2,
    ),
    (DiceLoss(include_background=False, eps=0.0), 1 - 2 * P1 / (1.5 + P1)),
    (
        FocalLoss(gamma=2.0),
        -(0.25 * math.log(0.5) + (1 - P1) ** 2 * math.log(P1)) / 2,
    ),
    (FocalLoss(gamma=0.0), -(math.log(0.5) + math.log(P1)) / 2),
]


@pytest.mark.parametrize(("loss", "expected"), CASES)
def test_hand_computed(loss: torch.nn.Module, expected: float) -> None:
    assert loss(LOGITS, TARGET).item() == pytest.approx(expected, rel=1e-12)


def test_batch_dice_pools_the_batch() -> None:
    logits = torch.zeros(2, 2, 1, 1, dtype=torch.float64)
    target = torch.tensor([[[0]], [[1]]])
    # Per sample each image has one present class (Dice 2·0.5/1.5) and one absent (0).
    assert DiceLoss(eps=0.0)(logits, target).item() == pytest.approx(1 - 1 / 3)
    # Pooled over the batch both classes have Dice 2·0.5/(1 + 1) = 0.5.
    assert DiceLoss(eps=0.0, batch_dice=True)(logits, target).item() == pytest.approx(0.5)


def test_perfect_prediction_is_near_zero() -> None:
    target = torch.randint(0, 5, (2, 6, 7), generator=torch.Generator().manual_seed(0))
    logits = 30.0 * torch.nn.functional.one_hot(target, 5).movedim(-1, 1).double()
    assert CrossEntropyLoss()(logits, target).item() < 1e-10
    assert DiceLoss()(logits, target).item() < 1e-6
    assert FocalLoss()(logits, target).item() < 1e-10


@pytest.mark.parametrize("loss", [CrossEntropyLoss(), DiceLoss(), FocalLoss()])
def test_bad_inputs(loss: torch.nn.Module) -> None:
    logits = torch.zeros(1, 3, 4, 4)
    with pytest.raises(ValueError, match="does not match"):
        loss(logits, torch.zeros(1, 1, 4, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="outside"):
        loss(logits, torch.full((1, 4, 4), 3))
    with pytest.raises(TypeError, match="integer"):
        loss(logits, torch.zeros(1, 4, 4))
    with pytest.raises(TypeError, match="floating"):
        loss(logits.long(), torch.zeros(1, 4, 4, dtype=torch.long))


def test_bad_options() -> None:
    with pytest.raises(LossConfigError, match="include_background"):
        DiceLoss(include_background="yes")
    with pytest.raises(LossConfigError, match="eps"):
        DiceLoss(eps=-1.0)
    with pytest.raises(LossConfigError, match="gamma"):
        FocalLoss(gamma=-1.0)
    with pytest.raises(LossConfigError, match="class_weights"):
        CrossEntropyLoss(class_weights=(-1.0, 1.0))


def test_class_weights_make_a_rare_class_count():
    import torch

    from ocularseg.training.losses import build_loss

    target = torch.zeros(1, 8, 8, dtype=torch.long)
    target[0, 0, 0] = 4  # one caruncle pixel
    logits = torch.zeros(1, 5, 8, 8)
    logits[:, 0] = 4.0  # confident background everywhere, also on the caruncle pixel
    plain = build_loss("ce")(logits, target)
    weighted = build_loss("ce", class_weights=[1, 1, 1, 1, 50])(logits, target)
    assert weighted > 5 * plain  # the missed rare pixel now dominates the loss
    tiu = build_loss("ce+tiu", class_weights=[1, 1, 1, 1, 50])
    assert tiu.pixel.class_weights.tolist() == [1, 1, 1, 1, 50]
    import pytest

    with pytest.raises(LossConfigError, match="5 classes"):
        build_loss("ce", class_weights=[1, 1])(logits, target)
