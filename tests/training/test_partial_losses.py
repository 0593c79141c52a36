"""Partial-label losses: set-valued silver labels of real eyes mixed with full labels."""

from __future__ import annotations

import math

import pytest
import torch

from ocularseg.core.labels import Label, PartialLabel
from ocularseg.training.losses import build_loss
from ocularseg.training.losses.partial import PartialCrossEntropyLoss, PartialTIULoss
from tests.conftest import drawn_eye_labels

OPEN = int(PartialLabel.OPENING_NOT_DISC)
DISC = int(PartialLabel.IRIS_DISC)
IGNORE = int(PartialLabel.IGNORE)


def _silver_from_full(labels: torch.Tensor) -> torch.Tensor:
    """What the teacher would know of a full label map: opening / disc / outside."""
    silver = torch.zeros_like(labels)
    silver[(labels == Label.SCLERA) | (labels == Label.CARUNCLE)] = OPEN
    silver[(labels == Label.IRIS) | (labels == Label.PUPIL)] = DISC
    return silver


def test_partial_ce_equals_ce_on_full_labels() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 16, 24)
    target = torch.randint(0, 5, (2, 16, 24))
    weights = [1, 2, 1, 3, 8]
    for w in (None, weights):
        expected = build_loss("ce", class_weights=w)(logits, target)
        assert torch.allclose(
            PartialCrossEntropyLoss(class_weights=w)(logits, target), expected, atol=1e-6
        )


def test_a_set_label_accepts_probability_anywhere_in_the_set() -> None:
    # One pixel labelled "iris disc": probability split between iris and pupil costs
    # -log(p_iris + p_pupil), and moving it from iris to pupil costs nothing.
    logits = torch.full((1, 5, 1, 1), -20.0)
    logits[0, Label.IRIS] = 0.0
    target = torch.full((1, 1, 1), DISC)
    loss_iris = PartialCrossEntropyLoss()(logits, target)
    logits_pupil = logits.clone()
    logits_pupil[0, Label.IRIS], logits_pupil[0, Label.PUPIL] = -20.0, 0.0
    loss_pupil = PartialCrossEntropyLoss()(logits_pupil, target)
    assert loss_iris.item() == pytest.approx(loss_pupil.item(), abs=1e-6)
    assert loss_iris.item() < 1e-6
    # Putting it on the sclera is wrong for an iris-disc pixel.
    wrong = torch.full((1, 5, 1, 1), -20.0)
    wrong[0, Label.SCLERA] = 0.0
    assert PartialCrossEntropyLoss()(wrong, target).item() > 15


def test_ignored_pixels_add_nothing_and_gradients_stay_finite() -> None:
    torch.manual_seed(1)
    logits = torch.randn(1, 5, 4, 4, requires_grad=True)
    target = torch.full((1, 4, 4), IGNORE)
    target[0, 0, 0] = OPEN
    loss = PartialCrossEntropyLoss()(logits, target)
    p = torch.softmax(logits.detach()[0, :, 0, 0], 0)
    assert loss.item() == pytest.approx(-math.log(float(p[Label.SCLERA] + p[Label.CARUNCLE])), 1e-5)
    loss.backward()
    assert torch.isfinite(logits.grad).all()
    assert logits.grad[0, :, 1:, :].abs().max() == 0
    all_ignored = PartialCrossEntropyLoss()(logits, torch.full((1, 4, 4), IGNORE))
    assert all_ignored.item() == 0


def test_set_weight_is_the_smallest_class_weight() -> None:
    # The caruncle's ×8 must not spill over to every "sclera or caruncle" pixel.
    logits = torch.zeros(1, 5, 1, 2)
    target = torch.tensor([[[OPEN, Label.BACKGROUND]]])
    loss = PartialCrossEntropyLoss(class_weights=[1, 1, 1, 1, 8])(logits, target)
    # uniform p = 0.2: set pixel costs -log(0.4) at weight 1, background -log(0.2) at weight 1
    assert loss.item() == pytest.approx((-math.log(0.4) - math.log(0.2)) / 2, 1e-5)


def test_unknown_values_are_refused() -> None:
    with pytest.raises(ValueError, match="not labels or partial labels"):
        PartialCrossEntropyLoss()(torch.zeros(1, 5, 2, 2), torch.full((1, 2, 2), 7))


def test_partial_tiu_is_quiet_on_valid_eyes_and_fires_on_a_pupil_in_the_sclera() -> None:
    full = torch.from_numpy(drawn_eye_labels().astype("int64"))[None]
    silver = _silver_from_full(full)
    target = torch.cat([full, silver])
    good = 8.0 * torch.nn.functional.one_hot(torch.cat([full, full]), 5).permute(0, 3, 1, 2)
    loss = PartialTIULoss()
    parts = loss.components(good.float(), target)
    assert parts["relation"].item() == 0
    assert parts["topology"].item() < 1e-3
    # A pupil blob in the sclera of the *silver* sample: the teacher never saw a pupil,
    # but anatomy forbids it, and the relation term says so.
    bad = good.clone()
    bad[1, :, 150:170, 120:140] = 0
    bad[1, Label.PUPIL, 150:170, 120:140] = 8
    assert loss.components(bad.float(), target)["relation"].item() > 1e-4


def test_registry_builds_the_partial_losses() -> None:
    assert isinstance(build_loss("pce", class_weights=[1, 1, 1, 1, 8]), PartialCrossEntropyLoss)
    assert isinstance(build_loss("pce+tiu", beta=5.0), PartialTIULoss)
