"""Torch dataset over the on-disk dataset format (``ocularseg.data.manifest``).

Every random choice is derived from ``(seed, epoch, index)`` so a sample's augmentation is
the same whichever worker or process loads it, and a resumed run sees the same data.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch.utils.data import Dataset

from ocularseg.core.errors import DataError
from ocularseg.core.eye_prior import eye_prior_map, prior_channel
from ocularseg.core.labels import LABEL_SETS, NUM_CLASSES
from ocularseg.core.preprocess import normalise_rgb
from ocularseg.data.eye_meta import RealEyeMeta, read_meta_json
from ocularseg.data.manifest import ManifestRow
from ocularseg.io.images import read_image_rgb, read_image_unchanged
from ocularseg.training.augment import AugmentParams, augment_sample

#: Value of the amodal-disc target where nothing is known (not trained).
DISC_UNKNOWN = 255


class AmodalDiscParams(BaseModel):
    """The amodal iris-disc output (the whole iris, including what the lids cover).

    The network gets one more output channel (``num_classes`` = classes + 1) whose logit is
    trained with a binary cross-entropy against the whole iris disc: the exact circle of a
    phantom (meta ``truth``), the teacher's iris circle for a real eye (meta ``teacher``),
    nothing (not trained) for a closed eye or a crop without either.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    weight: float = Field(1.0, gt=0, description="weight of the disc loss beside the class loss")


def amodal_disc_circle(meta: Mapping[str, Any]) -> tuple[float, float, float] | None:
    """(cx, cy, r) of the whole iris disc (crop px) from a sample's decoded meta, or None.

    Phantoms: the exact iris circle of an open eye (``truth``, ``synth``'s format); real
    eyes: the teacher's iris circle (centre + mean radius of its four limbus points) when the
    teacher calls the eye open (``data.eye_meta.RealEyeMeta``).
    """
    truth = meta.get("truth")
    if isinstance(truth, dict):
        if truth.get("eye_closed") or truth.get("iris_center_px") is None:
            return None
        cx, cy = truth["iris_center_px"]
        return float(cx), float(cy), float(truth["iris_radius_px"])
    real = RealEyeMeta.from_json(meta)
    if real.teacher is not None and real.open:
        cx, cy = real.teacher.iris_centre_crop_px
        return float(cx), float(cy), float(real.teacher.iris_radius_crop_px)
    return None


def disc_map(circle: tuple[float, float, float], shape: tuple[int, int]) -> np.ndarray:
    """float32 (H, W) coverage of the disc: 1 where a pixel's centre lies inside, else 0."""
    cx, cy, r = circle
    rows, cols = np.ogrid[0 : shape[0], 0 : shape[1]]
    return (((cols - cx) ** 2 + (rows - cy) ** 2) < r * r).astype(np.float32)


class PriorParams(BaseModel):
    """The landmark-prior input channel (``ocularseg.core.eye_prior``) during training."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sigma_frac: float = Field(0.08, gt=0, le=1, description="spread outside the hexagon")
    template_share: float = Field(
        0.3, ge=0, le=1, description="share of samples given the average-eye template instead"
    )
    jitter_frac: float = Field(
        0.03, ge=0, le=0.3, description="landmark noise for phantoms, fraction of eye width"
    )


def six_points_from_truth(truth: dict) -> np.ndarray | None:
    """dlib-style six eye points (image order) from a phantom's exact truth, crop px."""
    try:
        a = np.asarray(truth["lateral_canthus_px"], float)
        b = np.asarray(truth["medial_canthus_px"], float)
        upper = np.asarray(truth["upper_lid_px"], float)
        lower = np.asarray(truth["lower_lid_px"], float)
    except (KeyError, TypeError, ValueError):
        return None
    if upper.ndim != 2 or lower.ndim != 2 or len(upper) < 2 or len(lower) < 2:
        return None
    left, right = (a, b) if a[0] <= b[0] else (b, a)
    axis = right - left
    length = float(np.hypot(*axis))
    if length <= 0:
        return None
    direction = axis / length

    def at(curve: np.ndarray, fraction: float) -> np.ndarray:
        along = (curve - left) @ direction / length
        order = np.argsort(along)
        x = np.interp(fraction, along[order], curve[order, 0])
        y = np.interp(fraction, along[order], curve[order, 1])
        return np.array([x, y])

    return np.stack(
        [left, at(upper, 1 / 3), at(upper, 2 / 3), right, at(lower, 2 / 3), at(lower, 1 / 3)]
    )


def subsample_subjects(
    rows: Sequence[ManifestRow], fraction: float, seed: int
) -> list[ManifestRow]:
    """Keep the rows of a seeded random ``fraction`` of the subjects (at least one subject).

    Subsampling by subject, not by image, keeps the paper's protocol: fewer *people*, each
    with all their images.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"train fraction must be in (0, 1], got {fraction}")
    subjects = sorted({row.subject for row in rows})
    if fraction == 1 or not subjects:
        return list(rows)
    keep_count = max(1, int(round(fraction * len(subjects))))
    rng = np.random.default_rng(seed)
    keep = set(rng.choice(np.array(subjects, dtype=object), size=keep_count, replace=False))
    return [row for row in rows if row.subject in keep]


class EyeSegmentationDataset(Dataset):
    """(image, labels) pairs for training and validation.

    Items are ``(image, labels)``: float32 tensor (3, H, W) normalised as in
    ``ocularseg.core.preprocess`` (4 channels with the landmark prior) and int64 tensor
    (H, W) with values in ``Label`` — or, with ``amodal_disc``, int64 (2, H, W): the labels,
    then the whole-iris target (1 inside, 0 outside, ``DISC_UNKNOWN`` not known).
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        rows: Sequence[ManifestRow],
        *,
        augment: AugmentParams | None = None,
        seed: int = 0,
        crop_hw: tuple[int, int] | None = None,
        input_scale: float = 1.0,
        prior: PriorParams | None = None,
        amodal_disc: bool = False,
    ) -> None:
        if not 0 < input_scale <= 1:
            raise ValueError(f"input_scale must be in (0, 1], got {input_scale}")
        self.root = Path(root)
        self.crop_hw = crop_hw
        self.input_scale = float(input_scale)
        self.rows = list(rows)
        self.augment = augment
        self.seed = int(seed)
        self.epoch = 0
        self.prior = prior
        self.amodal_disc = amodal_disc

    def set_epoch(self, epoch: int) -> None:
        """Change the augmentation draw (call once per epoch)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.rows)

    def load_pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Raw uint8 RGB (H, W, 3) and uint8 labels (H, W) of sample ``index``."""
        row = self.rows[index]
        image = read_image_rgb(self.root / row.image)
        labels = read_image_unchanged(self.root / row.mask)
        if labels.ndim != 2:
            raise DataError(
                f"{self.root / row.mask}: mask must be single-channel, got {labels.shape}"
            )
        if labels.shape != image.shape[:2]:
            raise DataError(
                f"{self.root / row.mask}: mask {labels.shape[1]}×{labels.shape[0]} px does not "
                f"match image {image.shape[1]}×{image.shape[0]} px"
            )
        if int(labels.max(initial=0)) >= NUM_CLASSES:
            # Silver masks of real eyes hold set-valued partial labels (PartialLabel).
            bad = [int(v) for v in np.unique(labels) if int(v) not in LABEL_SETS]
            if bad:
                raise DataError(f"{self.root / row.mask}: unknown label values {bad}")
        return image, labels

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, labels = self.load_pair(index)
        rng = np.random.default_rng([self.seed, self.epoch, index])
        augment = self.augment
        # Maps moved with the geometry but never changed photometrically: the landmark
        # prior and the whole-iris disc, stacked as channels of one float32 array.
        maps: list[np.ndarray] = []
        if self.prior is not None:
            # Drawn from its own generator so the prior leaves the augmentation draws as
            # they are without it.
            points = self._prior_points(
                index, np.random.default_rng([self.seed, self.epoch, index, 1])
            )
            maps.append(eye_prior_map(points, labels.shape, self.prior.sigma_frac))
        circle = self._disc_circle(index) if self.amodal_disc else None
        if circle is not None:
            maps.append(disc_map(circle, labels.shape))
        extra = np.stack(maps, axis=-1).astype(np.float32) if maps else None
        if self.input_scale != 1:
            # Shrinking first makes the augmentation ~6× cheaper at scale 0.4 (it was most
            # of a CPU step); blur is given in full-size crop px, so it shrinks too.
            image, labels = rescale_pair(image, labels, self.input_scale)
            if extra is not None:
                extra = cv2.resize(extra, labels.shape[::-1], interpolation=cv2.INTER_AREA)
                extra = extra.reshape(*labels.shape, len(maps))
            if augment is not None:
                augment = augment.model_copy(
                    update={"max_blur_sigma_px": augment.max_blur_sigma_px * self.input_scale}
                )
        if augment is not None:
            image, labels, extra, _ = augment_sample(image, labels, extra, rng, augment)
            if extra is not None:
                extra = extra.reshape(*labels.shape, len(maps))
        if self.crop_hw is not None:
            window = eye_crop_window(labels, self.crop_hw, rng)
            image, labels = (
                np.ascontiguousarray(image[window]),
                np.ascontiguousarray(labels[window]),
            )
            extra = None if extra is None else np.ascontiguousarray(extra[window])
        inputs = normalise_rgb(image)
        if self.prior is not None and extra is not None:
            inputs = np.concatenate([inputs, prior_channel(extra[..., 0])[None]], axis=0)
        target = torch.from_numpy(labels.astype(np.int64))
        if not self.amodal_disc:
            return torch.from_numpy(inputs), target
        if circle is None:
            disc = np.full(labels.shape, DISC_UNKNOWN, np.int64)
        else:
            disc = (extra[..., -1] >= 0.5).astype(np.int64)
        return torch.from_numpy(inputs), torch.stack([target, torch.from_numpy(disc)])

    def _disc_circle(self, index: int) -> tuple[float, float, float] | None:
        meta_path = self.root / self.rows[index].meta
        if not meta_path.is_file():
            return None
        return amodal_disc_circle(read_meta_json(meta_path))

    def _prior_points(self, index: int, rng: np.random.Generator) -> np.ndarray | None:
        """Six eye points (crop px) of sample ``index`` for the prior, or None (template).

        Real crops carry dlib's points in their metadata; phantoms get six points placed as
        dlib places them (corners, lids at a third and two thirds) from their exact truth,
        jittered by dlib's typical error. A share of samples gets the template instead, so
        the network also works on crops without landmarks.
        """
        if self.prior is None or rng.random() < self.prior.template_share:
            return None
        meta_path = self.root / self.rows[index].meta
        if not meta_path.is_file():
            return None
        meta = read_meta_json(meta_path)
        points = RealEyeMeta.from_json(meta, str(meta_path)).dlib_points()
        if points is None and "truth" in meta:
            points = six_points_from_truth(meta["truth"])
            if points is None:
                return None
            width = float(np.hypot(*(points[3] - points[0])))
            points = points + rng.normal(0, self.prior.jitter_frac * width, size=points.shape)
        return None if points is None else np.asarray(points, dtype=np.float64)


def scaled_size_wh(height: int, width: int, scale: float) -> tuple[int, int]:
    """``(width, height)`` in px after scaling by ``scale`` (each side rounded, at least 1)."""
    return max(1, round(width * scale)), max(1, round(height * scale))


def rescale_image(image: np.ndarray, scale: float) -> np.ndarray:
    """An (H, W, 3) uint8 image resized by ``scale`` with area averaging (480×320 → 240×160)."""
    size_wh = scaled_size_wh(image.shape[0], image.shape[1], scale)
    return np.ascontiguousarray(cv2.resize(image, size_wh, interpolation=cv2.INTER_AREA))


def rescale_pair(
    image: np.ndarray, labels: np.ndarray, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """Resize an (H, W, 3) image (area-averaged) and its (H, W) labels (nearest) by ``scale``.

    Used by experiments that train at reduced resolution to fit a CPU.
    """
    size_wh = scaled_size_wh(labels.shape[0], labels.shape[1], scale)
    small_labels = cv2.resize(labels, size_wh, interpolation=cv2.INTER_NEAREST)
    return rescale_image(image, scale), np.ascontiguousarray(small_labels)


def random_eye_crop(
    image: np.ndarray, labels: np.ndarray, crop_hw: tuple[int, int], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A random (h, w) window at full resolution near the eye (:func:`eye_crop_window`)."""
    window = eye_crop_window(labels, crop_hw, rng)
    return np.ascontiguousarray(image[window]), np.ascontiguousarray(labels[window])


def eye_crop_window(
    labels: np.ndarray, crop_hw: tuple[int, int], rng: np.random.Generator
) -> tuple[slice, slice]:
    """A random (h, w) window at full resolution, centred near the eye opening.

    Training on windows instead of whole 480×320 crops makes a step several times cheaper
    on a CPU; the network is fully convolutional, so it still runs on whole crops. The
    window centre is the opening's centroid (crop centre when there is none) jittered by up
    to half the window, so most windows hold part of the eye and some hold lid and skin.
    """
    height, width = labels.shape
    crop_h, crop_w = crop_hw
    if crop_h > height or crop_w > width:
        raise ValueError(f"crop {crop_w}×{crop_h} px is larger than the image {width}×{height} px")
    # Labelled pixels of the eye (ignored ones, value 255, do not pull the window).
    ys, xs = np.nonzero((labels > 0) & (labels != 255))
    cy, cx = (ys.mean(), xs.mean()) if len(ys) else (height / 2, width / 2)
    cy += rng.uniform(-0.5, 0.5) * crop_h
    cx += rng.uniform(-0.5, 0.5) * crop_w
    top = int(np.clip(round(cy - crop_h / 2), 0, height - crop_h))
    left = int(np.clip(round(cx - crop_w / 2), 0, width - crop_w))
    return (slice(top, top + crop_h), slice(left, left + crop_w))


class MixedDataset(Dataset):
    """Several datasets drawn as one: items are looked up by a global index.

    Used with :func:`mixing_weights` and a weighted sampler so each source gets its share of
    every batch whatever its size (5,000 phantoms beside 400 real eyes).
    """

    def __init__(self, parts: Sequence[EyeSegmentationDataset]) -> None:
        self.parts = list(parts)
        self.offsets = np.cumsum([0] + [len(p) for p in self.parts])

    def set_epoch(self, epoch: int) -> None:
        for part in self.parts:
            part.set_epoch(epoch)

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        part = int(np.searchsorted(self.offsets, index, side="right")) - 1
        return self.parts[part][index - int(self.offsets[part])]

    @property
    def rows(self) -> list[ManifestRow]:
        return [row for part in self.parts for row in part.rows]


def mixing_weights(sizes: Sequence[int], shares: Sequence[float]) -> np.ndarray:
    """Per-sample sampling weights giving part ``i`` the batch share ``shares[i]``.

    Shares are normalised over the non-empty parts; an empty part gets no weight.
    """
    sizes = np.asarray(sizes, dtype=np.float64)
    shares = np.where(sizes > 0, np.asarray(shares, dtype=np.float64), 0.0)
    if not shares.sum() > 0:
        raise ValueError(f"no data to sample: sizes {sizes.tolist()}, shares {shares.tolist()}")
    shares = shares / shares.sum()
    per_sample = np.divide(shares, sizes, out=np.zeros_like(shares), where=sizes > 0)
    return np.repeat(per_sample, sizes.astype(int))
