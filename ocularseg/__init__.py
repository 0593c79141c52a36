"""ocularseg: eye segmentation and eyelid measurements from face video, for ptosis assessment.

A measurement aid, not a diagnosis. Heavy dependencies (OpenCV, dlib, onnxruntime, torch) are
imported by the functions that need them, so ``import ocularseg`` stays light.
"""

from __future__ import annotations

from ocularseg._privacy import disable_telemetry as _disable_telemetry

__version__ = "0.1.0"

# Before anything can import ONNX Runtime: patient files and facts about them never leave
# the machine (see ocularseg._privacy).
_TELEMETRY_OFF_IN_TIME = _disable_telemetry()


def analyze(paths, out="ocularseg_out", config=None, **options):
    """Analyse videos, images or folders; the Python API behind ``ocularseg analyze``.

    Args:
        paths: a path or a list of paths (files and/or folders).
        out: output folder for the reports.
        config: an ``AnalyzeConfig``, a mapping of its fields, or None for the defaults.
        **options: ``resume`` and ``jobs`` as on the command line.

    Returns:
        ``ocularseg.pipeline.run.AnalysisResult`` (rows, errors, warnings, run info, exit
        code).

    Raises:
        ConfigError: invalid or conflicting options (named), as the CLI's exit code 2.
    """
    from pathlib import Path

    from ocularseg.io.config_files import validate_config
    from ocularseg.pipeline.config import AnalyzeConfig
    from ocularseg.pipeline.run import run_analysis

    if isinstance(paths, (str, Path)):
        paths = [paths]
    if config is not None and not isinstance(config, AnalyzeConfig):
        config = validate_config(AnalyzeConfig, dict(config), "config")
    return run_analysis(list(paths), out, config, **options)
