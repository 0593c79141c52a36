"""Region-wise loss with rectified region-wise (RRW) maps, and the boundary loss it is
compared with (Valverde & Tohka, "Region-wise loss for biomedical image segmentation").

Both losses are ``mean over B·C·pixels of softmax(logits) · M`` for a fixed map ``M`` that
depends only on the reference, so the maps are computed once per sample on the CPU
(:func:`rrw_map`, :func:`boundary_map`) and may be cached by the dataset and handed to
the loss through ``maps`` (keys ``"rrw"`` and ``"boundary"``, see ``base``).

Maps are float32 on purpose: the published code builds them in float32 even for float64
logits, and the reference values depend on that rounding. Multiplying float64
probabilities by a float32 map promotes to float64, as there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np
import torch
from scipy.ndimage import distance_transform_edt
from torch import Tensor

from ocularseg.training.losses.base import MAP_BOUNDARY, MAP_RRW, Maps, SegmentationLoss
from ocularseg.training.losses.options import SCHEDULES, LossConfigError, Schedule


def _labels_array(labels: np.ndarray | torch.Tensor, num_classes: int) -> np.ndarray:
    """Validate ``labels`` (B, 1, *S) of class ids and return it as a NumPy int array."""
    if isinstance(labels, torch.Tensor):
        labels = labels.detach().cpu().numpy()
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iub":
        raise TypeError(f"labels must hold integer class ids, got dtype {labels.dtype}")
    if labels.ndim < 3 or labels.shape[1] != 1:
        raise ValueError(
            f"labels must be (B, 1, *S), got shape {labels.shape} "
            "(add the axes with labels[None, None] for a single (H, W) mask)"
        )
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"labels span [{labels.min()}, {labels.max()}], outside [0, {num_classes})"
        )
    return labels


def rrw_map(labels: np.ndarray | torch.Tensor, num_classes: int) -> np.ndarray:
    """Rectified region-wise map of each sample and class.

    For class ``c``: ``D = EDT(Y_c)`` (Euclidean distance to the nearest pixel outside
    the class, unit spacing, ``scipy.ndimage.distance_transform_edt``);
    ``M = −D / max(D + 1e-15)``; then every 0 becomes +1. Inside the class the map runs
    from −1 (deepest pixel) towards 0; outside it is +1, and +1 everywhere when the class
    is absent. A class covering the whole image has no outside; scipy then measures to a
    virtual pixel beyond the first row, and the map follows it, as in the reference code.

    The arithmetic is float32, like the published code (its array is ``zeros_like`` a
    float32 one-hot), so the values match it bit for bit.

    Args:
        labels: Integer class ids ``(B, 1, *S)`` (NumPy or torch; use ``[None, None]``
            for a single mask).
        num_classes: Number of classes ``C``.

    Returns:
        float32 array ``(B, C, *S)``.
    """
    out = _per_class_maps(labels, num_classes, _rrw_class_map)
    out[out == 0] = 1
    return out


def _rrw_class_map(inside: np.ndarray) -> np.ndarray:
    """``−EDT(Y) / max(EDT(Y) + 1e-15)`` of one class mask ``Y`` (float32)."""
    dist = distance_transform_edt(inside).astype(np.float32)
    # `+ np.float32(1e-15)` keeps the sum float32 as in the reference; it only
    # matters for an absent class, where it avoids 0/0.
    return -(dist / np.max(dist + np.float32(1e-15)))


def boundary_map(labels: np.ndarray | torch.Tensor, num_classes: int) -> np.ndarray:
    """Boundary-loss distance map ``M = EDT(¬Y)·¬Y − EDT(Y)·Y`` of each sample and class.

    Positive outside the class (distance to it), negative inside (distance to its
    outside). For a class absent from a sample the map is 0 (no boundary to measure
    from), as in Kervadec et al.'s original code; the region-wise paper's code reuses the
    previous class's distances there, which is a bug and is not reproduced.

    Args:
        labels: Integer class ids ``(B, 1, *S)``.
        num_classes: Number of classes ``C``.

    Returns:
        float32 array ``(B, C, *S)``.
    """
    return _per_class_maps(labels, num_classes, _boundary_class_map)


def _boundary_class_map(inside: np.ndarray) -> np.ndarray | None:
    """``EDT(¬Y)·¬Y − EDT(Y)·Y`` of one class mask ``Y``; None (map 0) when it is empty."""
    if not inside.any():
        return None
    outside = ~inside
    return distance_transform_edt(outside) * outside - (distance_transform_edt(inside) * inside)


def _per_class_maps(
    labels: np.ndarray | torch.Tensor,
    num_classes: int,
    class_map: Callable[[np.ndarray], np.ndarray | None],
) -> np.ndarray:
    """float32 ``(B, C, *S)``: ``class_map(labels[b, 0] == c)`` of each sample and class
    (0 where it returns None), ``labels`` checked by :func:`_labels_array`."""
    labels = _labels_array(labels, num_classes)
    out = np.zeros((labels.shape[0], num_classes, *labels.shape[2:]), dtype=np.float32)
    for b in range(labels.shape[0]):
        for c in range(num_classes):
            value = class_map(labels[b, 0] == c)
            if value is not None:
                out[b, c] = value
    return out


def _map_tensor(
    maps: Maps | None, key: str, target: torch.Tensor, logits: torch.Tensor
) -> torch.Tensor:
    """``maps[key]`` if given (checked), else the map computed from ``target`` on the CPU."""
    if maps is not None and key in maps:
        value = maps[key]
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"maps[{key!r}] must be a tensor, got {type(value).__name__}")
        if tuple(value.shape) != tuple(logits.shape):
            raise ValueError(
                f"maps[{key!r}] has shape {tuple(value.shape)}, expected {tuple(logits.shape)}"
            )
        return value.to(logits.device)
    compute = rrw_map if key == MAP_RRW else boundary_map
    labels = target.detach().cpu().numpy()[:, None]
    return torch.from_numpy(compute(labels, logits.shape[1])).to(logits.device)


def _check_map(logits: torch.Tensor, value: torch.Tensor, name: str) -> None:
    if not isinstance(logits, torch.Tensor) or not isinstance(value, torch.Tensor):
        raise TypeError(f"logits and {name} must be torch tensors")
    if not logits.is_floating_point() or not value.is_floating_point():
        raise TypeError(f"logits and {name} must be floating-point tensors")
    if logits.shape != value.shape:
        raise ValueError(
            f"{name} shape {tuple(value.shape)} does not match logits {tuple(logits.shape)}"
        )


def region_wise_loss(logits: torch.Tensor, rw_map: torch.Tensor) -> torch.Tensor:
    """Region-wise loss ``mean over B·C·pixels of softmax(logits) · rw_map``.

    Args:
        logits: ``(B, C, *S)``.
        rw_map: ``(B, C, *S)`` map, e.g. from :func:`rrw_map` (background included).

    Returns:
        Scalar in the promoted dtype of logits and map.
    """
    _check_map(logits, rw_map, "rw_map")
    return torch.mean(torch.softmax(logits, dim=1) * rw_map.to(logits.device))


def boundary_loss(logits: torch.Tensor, boundary_map: torch.Tensor) -> torch.Tensor:
    """Boundary loss ``mean over B·C·pixels of softmax(logits) · boundary_map``.

    Args:
        logits: ``(B, C, *S)``.
        boundary_map: ``(B, C, *S)`` map from :func:`boundary_map`.

    Returns:
        Scalar (can be negative: the map is negative inside each class).
    """
    _check_map(logits, boundary_map, "boundary_map")
    return torch.mean(torch.softmax(logits, dim=1) * boundary_map.to(logits.device))


def alpha_schedule(epoch: int) -> float:
    """Weight of the pixel loss at ``epoch``: ``max((100 − epoch) / 100, 0.01)``.

    1 at epoch 0, falling linearly to 0.01 at epoch 99 and staying there.
    """
    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)):
        raise TypeError(f"epoch must be an int, got {epoch!r}")
    if epoch < 0:
        raise ValueError(f"epoch must be ≥ 0, got {epoch}")
    return max((100 - int(epoch)) / 100, 0.01)


class _MapLoss(SegmentationLoss):
    """``mean(softmax(logits) · M)`` with ``M = maps[key]`` or computed from ``target``."""

    key: ClassVar[str]
    function: ClassVar[Callable[[Tensor, Tensor], Tensor]]

    def compute(self, logits: Tensor, target: Tensor, epoch: int, maps: Maps | None) -> Tensor:
        return type(self).function(logits, _map_tensor(maps, self.key, target, logits))


class RegionWiseLoss(_MapLoss):
    """:func:`region_wise_loss` with the RRW map from ``maps["rrw"]`` or from ``target``."""

    required_maps = (MAP_RRW,)
    key = MAP_RRW
    function = staticmethod(region_wise_loss)


class BoundaryLoss(_MapLoss):
    """:func:`boundary_loss` with the map from ``maps["boundary"]`` or from ``target``."""

    required_maps = (MAP_BOUNDARY,)
    key = MAP_BOUNDARY
    function = staticmethod(boundary_loss)


class ScheduledSum(SegmentationLoss):
    """A pixel loss combined with a map loss on the region-wise paper's schedules.

    * ``"gradual"``: ``α(e)·L_pixel + (1 − α(e))·L_map`` with ``α = alpha_schedule(e)``;
    * ``"equal"``: ``L_pixel + L_map`` (the epoch is ignored).

    Args:
        pixel: E.g. :class:`~ocularseg.training.losses.pixel.CrossEntropyLoss`.
        region: :class:`RegionWiseLoss` or :class:`BoundaryLoss`.
        schedule: ``"gradual"`` or ``"equal"``.
    """

    def __init__(
        self, pixel: SegmentationLoss, region: SegmentationLoss, schedule: Schedule
    ) -> None:
        super().__init__()
        if schedule not in SCHEDULES:
            raise LossConfigError(f"schedule {schedule!r} is not one of {', '.join(SCHEDULES)}")
        if not isinstance(pixel, SegmentationLoss) or not isinstance(region, SegmentationLoss):
            raise TypeError("pixel and region must be SegmentationLoss instances")
        self.pixel = pixel
        self.region = region
        self.schedule = schedule

    @property
    def required_maps(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(dict.fromkeys((*self.pixel.required_maps, *self.region.required_maps)))

    def check(self, logits: Tensor, target: Tensor) -> None:
        """The two terms check their inputs."""

    def compute(self, logits: Tensor, target: Tensor, epoch: int, maps: Maps | None) -> Tensor:
        pixel = self.pixel(logits, target, epoch=epoch, maps=maps)
        region = self.region(logits, target, epoch=epoch, maps=maps)
        if self.schedule == "equal":
            return pixel + region
        alpha = alpha_schedule(epoch)
        return alpha * pixel + (1 - alpha) * region
