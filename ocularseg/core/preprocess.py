"""The one definition of how an eye crop becomes network input.

Training, ONNX export and inference all call these, and ``model.json`` records the same
constants so an exported model rebuilds its preprocessing from its own folder.
"""

from __future__ import annotations

import numpy as np

#: Channel order the network sees.
CHANNEL_ORDER: str = "RGB"
#: Per-channel mean and std applied to pixel values scaled to [0, 1] (ImageNet statistics:
#: a common, documented choice that keeps inputs roughly zero-mean for real photographs).
NORM_MEAN_RGB: tuple[float, float, float] = (0.485, 0.456, 0.406)
NORM_STD_RGB: tuple[float, float, float] = (0.229, 0.224, 0.225)


def normalise_rgb(
    images: np.ndarray,
    mean: tuple[float, float, float] = NORM_MEAN_RGB,
    std: tuple[float, float, float] = NORM_STD_RGB,
) -> np.ndarray:
    """uint8 RGB (..., H, W, 3) -> float32 (..., 3, H, W), scaled to [0, 1] and normalised."""
    if images.dtype != np.uint8 or images.shape[-1] != 3:
        raise ValueError(f"expected uint8 (..., H, W, 3) RGB, got {images.dtype} {images.shape}")
    scaled = images.astype(np.float32) / 255.0
    scaled = (scaled - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.moveaxis(scaled, -1, -3).copy()
