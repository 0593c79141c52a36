"""Where models live and what ONNX Runtime offers.

The bundled models are the repository's ``models/`` folder (one sub-folder per model) or the
folder named by ``OCULARSEG_MODELS_DIR``.
"""

from __future__ import annotations

import os
from pathlib import Path

from ocularseg.io.files import sha256_regular

MODELS_ENV = "OCULARSEG_MODELS_DIR"
CUDA_PROVIDER = "CUDAExecutionProvider"
CPU_PROVIDER = "CPUExecutionProvider"
#: The ONNX Runtime providers ocularseg runs models on (``stages.segment.choose_providers``).
USED_PROVIDERS: tuple[str, ...] = (CUDA_PROVIDER, CPU_PROVIDER)
ONNXRUNTIME_MISSING = (
    "ONNX Runtime is not installed: install exactly one of `pip install 'ocularseg[cpu]'` "
    "(onnxruntime) or `pip install 'ocularseg[gpu]'` (onnxruntime-gpu, which also runs on CPU)"
)


def models_dir() -> Path:
    """Folder holding bundled model folders."""
    env = os.environ.get(MODELS_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "models"


#: The old name of :func:`ocularseg.io.files.sha256_regular`, kept importable.
sha256_file = sha256_regular


def bundled_models() -> list[tuple[str, str, int]]:
    """(name, sha256 of model.onnx, size in bytes) for each model folder, sorted by name."""
    root = models_dir()
    if not root.is_dir():
        return []
    found = []
    for onnx_path in sorted(root.glob("*/model.onnx")):
        found.append((onnx_path.parent.name, sha256_regular(onnx_path), onnx_path.stat().st_size))
    return found


def onnxruntime_status() -> tuple[str | None, list[str], str]:
    """(version or None, the providers ocularseg can run on here, message when missing).

    Only ``USED_PROVIDERS`` that this ONNX Runtime build offers are listed (CPU always; CUDA
    with onnxruntime-gpu): others the wheel ships, such as AzureExecutionProvider, are
    never used by ocularseg.
    """
    try:
        import onnxruntime
    except ImportError:
        return None, [], ONNXRUNTIME_MISSING
    available = set(onnxruntime.get_available_providers())
    return str(onnxruntime.__version__), [p for p in USED_PROVIDERS if p in available], ""
