"""Crops -> the network's input tensor, exactly as ``model.json``'s ``input`` says."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ocularseg.core.errors import InputError
from ocularseg.core.eye_prior import eye_prior_map, prior_channel
from ocularseg.io.modelfolder.spec import InputSpec


def model_input(
    spec: InputSpec,
    crops: Sequence[np.ndarray],
    eye_points: Sequence[np.ndarray | None] | None = None,
) -> np.ndarray:
    """uint8 (H, W, 3) RGB crops -> float32 (N, C, H, W) as model.json's ``input`` says.

    ``eye_points``: per crop, dlib's six eye points in crop px (or None), used only by
    models with a landmark prior; a crop without points gets the template's prior. Also
    what int8 calibration feeds the network (``training.quantize``).

    Raises:
        InputError: a crop is not (H, W, 3) uint8 of the model's size.
    """
    channels = 3 + (spec.prior is not None)
    batch = np.empty((len(crops), channels, spec.height, spec.width), np.float32)
    # (byte × scale − mean) / std in float32 for every byte value: a look-up per channel
    # gives the same numbers as the arithmetic on the whole crop, several times faster.
    levels = np.arange(256, dtype=np.float32)[:, None] * np.float32(spec.scale)
    table = ((levels - np.asarray(spec.mean, np.float32)) / np.asarray(spec.std, np.float32)).T
    for i, crop in enumerate(crops):
        if crop.shape != (spec.height, spec.width, 3) or crop.dtype != np.uint8:
            raise InputError(
                f"crop {i} is {crop.shape} {crop.dtype}; the model needs "
                f"({spec.height}, {spec.width}, 3) uint8"
            )
        image = crop[..., ::-1] if spec.channel_order == "BGR" else crop
        for channel in range(3):
            np.take(table[channel], image[..., channel], out=batch[i, channel])
        if spec.prior is not None:
            points = None if eye_points is None else eye_points[i]
            prior = eye_prior_map(
                points,
                (spec.height, spec.width),
                spec.prior.sigma_frac,
                template=np.asarray(spec.prior.template_points_crop_px, float),
            )
            batch[i, 3] = prior_channel(prior)
    return batch
