"""Augmentation keeps masks valid and aligned; the dataset is deterministic per seed/epoch."""

from __future__ import annotations

import numpy as np
import pytest

from ocularseg.data.manifest import ManifestRow
from ocularseg.io.images import write_image_atomic
from ocularseg.training.augment import AugmentParams, augment_pair

torch = pytest.importorskip("torch")

from ocularseg.training.dataset import EyeSegmentationDataset, subsample_subjects  # noqa: E402

#: The augmentations that move pixels (image and mask together) and those that only change
#: the image's colours and sharpness.
_GEOMETRIC = ("hflip_prob", "max_rotation_deg", "max_scale_change", "max_shift_frac")
_PHOTOMETRIC = ("brightness", "contrast", "saturation", "max_hue_shift_deg", "gamma",
                "colour_cast", "blur_prob", "noise_prob", "jpeg_prob")  # fmt: skip


def _switched_off(names: tuple[str, ...], **others: float) -> AugmentParams:
    """The defaults with ``names`` set to 0 (off) and ``others`` as given."""
    return AugmentParams(**dict.fromkeys(names, 0), **others)


def _eye(height=64, width=96):
    yy, xx = np.mgrid[0:height, 0:width]
    labels = np.zeros((height, width), np.uint8)
    labels[((xx - 48) / 40) ** 2 + ((yy - 32) / 18) ** 2 <= 1] = 1
    labels[(xx - 40) ** 2 + (yy - 32) ** 2 <= 14**2] = 2
    labels[(xx - 40) ** 2 + (yy - 32) ** 2 <= 5**2] = 3
    image = np.zeros((height, width, 3), np.uint8)
    palette = np.array(
        [[180, 120, 100], [235, 230, 225], [90, 60, 30], [10, 10, 10], [200, 120, 130]]
    )
    image[:] = palette[labels]
    return image, labels


def test_augmentation_is_deterministic_and_keeps_labels_valid():
    image, labels = _eye()
    a = augment_pair(image, labels, np.random.default_rng(3))
    b = augment_pair(image, labels, np.random.default_rng(3))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert set(np.unique(a[1])) <= {0, 1, 2, 3}
    assert a[0].dtype == np.uint8 and a[0].shape == image.shape


def test_geometry_moves_image_and_mask_together():
    image, labels = _eye()
    photometric_off = _switched_off(_PHOTOMETRIC, hflip_prob=1.0)
    out_image, out_labels, flipped = augment_pair(
        image, labels, np.random.default_rng(1), photometric_off
    )
    assert flipped
    pupil = out_labels == 3
    # The dark pixels of the image are where the mask says pupil (up to interpolation at edges).
    dark = out_image.mean(axis=2) < 40
    overlap = (pupil & dark).sum() / max(pupil.sum(), 1)
    assert overlap > 0.8
    # Mirrored: the pupil centre moved to the other side of the crop centre (40 -> ~56).
    assert np.argwhere(pupil)[:, 1].mean() > 48


def test_unknown_augment_option_is_rejected():
    with pytest.raises(ValueError, match="extra"):
        AugmentParams(blur_probability=0.5)


def test_subsample_by_subject_keeps_whole_subjects():
    rows = [ManifestRow(f"images/{i}.png", f"masks/{i}.png", f"s{i % 10}") for i in range(40)]
    kept = subsample_subjects(rows, 0.3, seed=1)
    subjects = {r.subject for r in kept}
    assert len(subjects) == 3 and len(kept) == 12
    assert subsample_subjects(rows, 0.3, seed=1) == kept
    with pytest.raises(ValueError, match="fraction"):
        subsample_subjects(rows, 0.0, seed=1)


def test_dataset_items_are_normalised_tensors(tmp_path):
    image, labels = _eye()
    write_image_atomic(tmp_path / "images" / "a.png", image)
    write_image_atomic(tmp_path / "masks" / "a.png", labels)
    rows = [ManifestRow("images/a.png", "masks/a.png", "s1")]
    plain = EyeSegmentationDataset(tmp_path, rows)
    x, y = plain[0]
    assert x.shape == (3, 64, 96) and x.dtype == torch.float32
    assert y.dtype == torch.int64 and torch.equal(y, torch.from_numpy(labels.astype(np.int64)))
    augmented = EyeSegmentationDataset(tmp_path, rows, augment=AugmentParams(), seed=5)
    first = augmented[0][0]
    assert torch.equal(first, augmented[0][0])  # same epoch, same draw
    augmented.set_epoch(1)
    assert not torch.equal(first, augmented[0][0])


def test_random_eye_crop_is_a_window_of_the_pair_near_the_eye():
    from ocularseg.training.dataset import random_eye_crop

    image, labels = _eye(128, 192)
    rng = np.random.default_rng(0)
    for _ in range(20):
        crop_image, crop_labels = random_eye_crop(image, labels, (64, 96), rng)
        assert crop_image.shape == (64, 96, 3) and crop_labels.shape == (64, 96)
        assert (crop_labels > 0).any()  # the jitter keeps some of the eye in view
    with pytest.raises(ValueError, match="larger than the image"):
        random_eye_crop(image, labels, (256, 96), rng)


def test_low_resolution_augmentation_softens_the_image():
    import cv2

    image, labels = _eye()
    only_lowres = _switched_off(_GEOMETRIC + _PHOTOMETRIC, lowres_prob=1.0, max_downscale=6.0)
    out, out_labels, _ = augment_pair(image, labels, np.random.default_rng(2), only_lowres)
    np.testing.assert_array_equal(out_labels, labels)  # labels stay sharp and exact
    sharpness = cv2.Laplacian(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()
    original = cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()
    assert sharpness < 0.7 * original


def test_jpeg_while_small_compresses_the_shrunk_crop_and_nothing_else():
    image, labels = _eye(128, 192)
    neutral = {"lowres_prob": 1.0, "max_downscale": 4.0, "min_jpeg_quality": 5}
    plain_params = _switched_off(_GEOMETRIC + _PHOTOMETRIC, **neutral)
    plain, _, _ = augment_pair(image, labels, np.random.default_rng(3), plain_params)
    again, _, _ = augment_pair(image, labels, np.random.default_rng(3), plain_params)
    coded_params = _switched_off(_GEOMETRIC + _PHOTOMETRIC, **neutral, lowres_jpeg_prob=1.0)
    coded, coded_labels, _ = augment_pair(image, labels, np.random.default_rng(3), coded_params)
    np.testing.assert_array_equal(plain, again)  # off by default: draws as before
    np.testing.assert_array_equal(coded_labels, labels)
    # Same shrink factor (drawn first), so the only difference is the codec's loss.
    difference = np.abs(coded.astype(int) - plain.astype(int)).mean()
    assert difference > 1.0


def test_input_scale_shrinks_image_and_mask_together(tmp_path):
    image, labels = _eye(320, 480)  # a full-size crop with a small eye in its corner
    write_image_atomic(tmp_path / "images" / "a.png", image)
    write_image_atomic(tmp_path / "masks" / "a.png", labels)
    rows = [ManifestRow("images/a.png", "masks/a.png", "s1")]
    x, y = EyeSegmentationDataset(tmp_path, rows, input_scale=0.4)[0]
    assert x.shape == (3, 128, 192) and y.shape == (128, 192)  # 480×320 → 192×128
    # Nearest-neighbour labels: same classes, areas scaled by 0.4² (within a few px).
    assert set(torch.unique(y).tolist()) == set(np.unique(labels).tolist())
    for label in (1, 2, 3):
        small, full = int((y == label).sum()), int((labels == label).sum())
        assert abs(small - 0.16 * full) <= 0.1 * 0.16 * full + 6, label
    augmented = EyeSegmentationDataset(
        tmp_path, rows, input_scale=0.4, augment=AugmentParams(), crop_hw=(64, 96)
    )
    x, y = augmented[0]
    assert x.shape == (3, 64, 96) and y.shape == (64, 96)  # windows are in scaled px
    with pytest.raises(ValueError, match="input_scale"):
        EyeSegmentationDataset(tmp_path, rows, input_scale=0)


def test_prior_channel_moves_with_the_geometry_and_falls_back_to_the_template(tmp_path):
    import json

    from ocularseg.core.eye_prior import eye_prior_map, prior_channel
    from ocularseg.data.manifest import read_manifest
    from ocularseg.training.dataset import PriorParams
    from tests.training.eye_dataset import make_eye_dataset

    root = make_eye_dataset(tmp_path / "eyes", n_images=2, n_subjects=1)
    rows = read_manifest(root)
    points = [[75, 165], [183, 95], [297, 95], [405, 165], [297, 235], [183, 235]]
    (root / "meta").mkdir(exist_ok=True)
    (root / rows[0].meta).write_text(json.dumps({"dlib_eye_points_crop_px": points}))
    own = EyeSegmentationDataset(root, rows[:1], prior=PriorParams(template_share=0.0))
    image, _ = own[0]
    assert image.shape == (4, 320, 480)
    expected = prior_channel(eye_prior_map(np.array(points, float), (320, 480)))
    assert np.allclose(image[3].numpy(), expected)
    template = EyeSegmentationDataset(root, rows[:1], prior=PriorParams(template_share=1.0))
    assert np.allclose(template[0][0][3].numpy(), prior_channel(eye_prior_map(None, (320, 480))))
    # A mirrored sample gets a mirrored prior (the flip is the only geometry here).
    flip = AugmentParams(hflip_prob=1.0, max_rotation_deg=0, max_scale_change=0, max_shift_frac=0)
    flipped = EyeSegmentationDataset(
        root, rows[:1], augment=flip, prior=PriorParams(template_share=0.0)
    )
    assert np.allclose(flipped[0][0][3].numpy(), expected[:, ::-1])
