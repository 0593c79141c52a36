"""ocularseg: eye segmentation and eyelid measurements from face video, for ptosis assessment.

A measurement aid, not a diagnosis. Heavy dependencies (OpenCV, dlib, onnxruntime, torch) are
imported by the functions that need them, so ``import ocularseg`` stays light.
"""

from __future__ import annotations

__version__ = "0.1.0"
