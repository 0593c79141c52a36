"""Pipeline stages (keyframes, face, crop, segment, measure).

Each stage lives in its own module with its own frozen ``Params``; import from the module
(e.g. ``from ocularseg.stages.measure import measure_eye``). This package deliberately
imports nothing at load time so that ``ocularseg --help`` stays fast and a stage's heavy
dependencies (cv2, dlib, onnxruntime) are only loaded by the stage that needs them.
"""

from __future__ import annotations
