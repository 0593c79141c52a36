"""Segmentation losses and their registry (see ``docs/losses.md`` for the exact definitions).

Every trainer-facing loss is a :class:`SegmentationLoss` called as
``loss(logits, target, *, epoch=0, maps=None)`` — logits ``(B, C, H, W)``, integer
target ``(B, H, W)``, the 0-based epoch for scheduled losses, and optional precomputed
maps (``"rrw"``, ``"boundary"``; listed in ``loss.required_maps``). Build one by name
with :func:`build_loss`; each loss's options are one frozen model of :mod:`.options`.
"""

from __future__ import annotations

from ocularseg.training.losses.base import (
    MAP_BOUNDARY,
    MAP_RRW,
    SegmentationLoss,
    WeightedSum,
)

# Each loss's options model lives in ``losses.options``; the package names the base and TIU's.
from ocularseg.training.losses.options import LossConfigError, LossOptions, TIUOptions
from ocularseg.training.losses.pixel import CrossEntropyLoss, DiceLoss, FocalLoss
from ocularseg.training.losses.projected_pooling import (
    ProjectedPoolingLoss,
    SoftmaxProjectedPoolingLoss,
    projected_pooling_loss,
)
from ocularseg.training.losses.region_wise import (
    BoundaryLoss,
    RegionWiseLoss,
    ScheduledSum,
    alpha_schedule,
    boundary_loss,
    boundary_map,
    region_wise_loss,
    rrw_map,
)
from ocularseg.training.losses.registry import LOSSES, build_loss, loss_options
from ocularseg.training.losses.tiu import (
    TIULoss,
    relation_excess,
    relation_term,
    relation_violations,
    topology_term,
)

__all__ = [
    "LOSSES",
    "MAP_BOUNDARY",
    "MAP_RRW",
    "BoundaryLoss",
    "CrossEntropyLoss",
    "DiceLoss",
    "FocalLoss",
    "LossConfigError",
    "LossOptions",
    "ProjectedPoolingLoss",
    "RegionWiseLoss",
    "ScheduledSum",
    "SegmentationLoss",
    "SoftmaxProjectedPoolingLoss",
    "TIULoss",
    "TIUOptions",
    "WeightedSum",
    "alpha_schedule",
    "boundary_loss",
    "boundary_map",
    "build_loss",
    "loss_options",
    "projected_pooling_loss",
    "region_wise_loss",
    "relation_excess",
    "relation_term",
    "relation_violations",
    "rrw_map",
    "topology_term",
]
