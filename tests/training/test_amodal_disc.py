"""The amodal iris-disc output in training: targets from phantom truth and the teacher, moved
with the geometry; the loss ignores unknown pixels; a model grows the output channel."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ocularseg.data.manifest import read_manifest
from ocularseg.training.augment import AugmentParams
from ocularseg.training.dataset import (
    DISC_UNKNOWN,
    EyeSegmentationDataset,
    PriorParams,
    amodal_disc_circle,
)
from ocularseg.training.models import build_model
from ocularseg.training.models.io import load_weights, save_weights
from ocularseg.training.trainer import amodal_disc_loss
from tests.training.eye_dataset import make_eye_dataset

NO_GEOMETRY = AugmentParams(
    hflip_prob=0.0, max_rotation_deg=0, max_scale_change=0, max_shift_frac=0
)


def _dataset_with_meta(tmp_path, metas):
    root = make_eye_dataset(tmp_path / "eyes", n_images=len(metas), n_subjects=1)
    rows = read_manifest(root)
    (root / "meta").mkdir(exist_ok=True)
    for row, meta in zip(rows, metas, strict=True):
        if meta is not None:
            (root / row.meta).write_text(json.dumps(meta))
    return root, rows


# meta -> the circle the disc target is drawn from (None: not known).
CIRCLE_CASES = [
    (
        {"truth": {"eye_closed": False, "iris_center_px": [230.5, 150.0], "iris_radius_px": 55.0}},
        (230.5, 150.0, 55.0),
    ),
    (
        {"truth": {"eye_closed": True, "iris_center_px": [230.5, 150.0], "iris_radius_px": 55.0}},
        None,
    ),
    (
        {
            "open": True,
            "teacher": {"iris_centre_crop_px": [200.0, 160.0], "iris_radius_crop_px": 50.0},
        },
        (200.0, 160.0, 50.0),
    ),
    (
        {
            "open": False,
            "teacher": {"iris_centre_crop_px": [200.0, 160.0], "iris_radius_crop_px": 50.0},
        },
        None,
    ),
    ({"dlib_eye_points_crop_px": [[0, 0]] * 6}, None),
]


@pytest.mark.parametrize(("meta", "circle"), CIRCLE_CASES)
def test_disc_circle_from_meta(meta, circle):
    assert amodal_disc_circle(meta) == circle


def test_targets_hold_labels_and_the_whole_disc(tmp_path):
    truth = {"eye_closed": False, "iris_center_px": [240.0, 100.0], "iris_radius_px": 60.0}
    root, rows = _dataset_with_meta(tmp_path, [{"truth": truth}, None])
    data = EyeSegmentationDataset(root, rows, amodal_disc=True)
    image, target = data[0]
    assert image.shape == (3, 320, 480)
    assert target.shape == (2, 320, 480) and target.dtype == torch.int64
    labels, disc = target[0].numpy(), target[1].numpy()
    assert set(np.unique(disc)) == {0, 1}
    # the whole circle, also above the drawn eye's upper lid (rows near y = 40-70)
    assert disc[100, 240] == 1 and disc[45, 240] == 1 and disc[100, 305] == 0
    assert abs(int(disc.sum()) - round(np.pi * 60**2)) < 60
    assert labels.max() <= 4
    # no meta: nothing known, nothing trained
    assert np.all(data[1][1][1].numpy() == DISC_UNKNOWN)


def test_disc_moves_with_the_mirror_and_beside_the_prior(tmp_path):
    truth = {"eye_closed": False, "iris_center_px": [200.0, 150.0], "iris_radius_px": 50.0}
    points = [[75, 165], [183, 95], [297, 95], [405, 165], [297, 235], [183, 235]]
    root, rows = _dataset_with_meta(tmp_path, [{"truth": truth, "dlib_eye_points_crop_px": points}])
    flip = NO_GEOMETRY.model_copy(update={"hflip_prob": 1.0})
    plain = EyeSegmentationDataset(
        root, rows, augment=NO_GEOMETRY, amodal_disc=True, prior=PriorParams(template_share=0.0)
    )
    flipped = EyeSegmentationDataset(
        root, rows, augment=flip, amodal_disc=True, prior=PriorParams(template_share=0.0)
    )
    (image, target), (image_f, target_f) = plain[0], flipped[0]
    assert image.shape[0] == 4 and image_f.shape[0] == 4
    np.testing.assert_array_equal(target_f[1].numpy(), target[1].numpy()[:, ::-1])
    np.testing.assert_allclose(image_f[3].numpy(), image[3].numpy()[:, ::-1], atol=1e-6)


def test_loss_ignores_unknown_pixels():
    logit = torch.tensor([[[4.0, -4.0, 9.0]]])
    target = torch.tensor([[[1, 0, DISC_UNKNOWN]]])
    expected = torch.nn.functional.softplus(torch.tensor(-4.0))  # both known pixels right
    assert amodal_disc_loss(logit, target).item() == pytest.approx(expected.item(), rel=1e-5)
    unknown = torch.full((1, 1, 3), DISC_UNKNOWN)
    assert amodal_disc_loss(logit, unknown).item() == 0.0


def test_a_model_grows_the_disc_channel_and_keeps_its_classes(tmp_path):
    options = {"in_channels": 3, "stem_stride": 2, "widths": [4, 8, 16]}
    torch.manual_seed(0)
    small = build_model("unet", **options).eval()
    save_weights(small, tmp_path / "w.safetensors")
    grown = build_model("unet", num_classes=6, **options).eval()
    with pytest.raises(Exception, match="shape"):
        load_weights(grown, tmp_path / "w.safetensors")
    load_weights(grown, tmp_path / "w.safetensors", grow_output_channels=True)
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        before, after = small(x), grown(x)
    torch.testing.assert_close(after[:, :5], before)
    # the new channel starts as "iris or pupil vs the rest"
    start = before[:, 2:4].mean(dim=1) - before[:, [0, 1, 4]].mean(dim=1)
    torch.testing.assert_close(after[:, 5], start, rtol=1e-4, atol=1e-4)
