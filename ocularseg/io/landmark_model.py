"""Locate dlib's 68-point landmark model shipped by the ``face-recognition-models`` package.

The package's own ``import`` fails on current setuptools (it needs ``pkg_resources``), so we
find the file through the import system without executing the package.

Licence note: the model was trained on iBUG 300-W, whose terms exclude commercial use.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ocularseg.core.errors import ModelError

LANDMARK_MODEL_FILE = "shape_predictor_68_face_landmarks.dat"


def landmark_model_path() -> Path:
    """Path of ``shape_predictor_68_face_landmarks.dat``.

    Raises:
        ModelError: the package is not installed or the file is missing.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "the 68-point landmark model is missing: install it with "
            "`pip install face-recognition-models`"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / LANDMARK_MODEL_FILE
    if not path.is_file():
        raise ModelError(f"landmark model not found at {path}: reinstall face-recognition-models")
    return path
