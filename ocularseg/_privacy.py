"""Nothing leaves the machine: switch off the telemetry of the libraries ocularseg loads.

ONNX Runtime's Python wheels carry Microsoft's 1DS telemetry. As shipped, importing it
created ``~/.cache/Microsoft/DeveloperTools/.onnxruntime/`` (a device id and an event
database holding the executable path, model name, provider, timings and error messages)
and looked up a telemetry host. ``onnxruntime.disable_telemetry_events()`` after import did
not stop the lookups; the environment variable ``ORT_DISABLE_TELEMETRY=1`` read when the
library loads does. Importing ``ocularseg`` sets it, so every entry point (the CLI, the
``ocularseg.analyze`` API, worker processes) has it before ONNX Runtime can load.
"""

from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger(__name__)

#: Environment variables that keep third-party libraries from sending or queuing telemetry.
TELEMETRY_OFF: dict[str, str] = {"ORT_DISABLE_TELEMETRY": "1"}


def disable_telemetry() -> bool:
    """Set :data:`TELEMETRY_OFF` in this process's environment (inherited by its children).

    Returns:
        False when ONNX Runtime was already imported before this call (by the caller's own
        code), so the variable came too late for this process; True otherwise.
    """
    for name, value in TELEMETRY_OFF.items():
        os.environ[name] = value
    return "onnxruntime" not in sys.modules


def silence_loaded_onnxruntime(ort: object) -> None:
    """Second line of defence when ONNX Runtime was imported before ocularseg: stop its
    event collection through the API (it cannot undo what happened at import)."""
    stop = getattr(ort, "disable_telemetry_events", None)
    if callable(stop):
        stop()


def private_matplotlib_cache() -> None:
    """Keep matplotlib's font cache out of the home folder (call before importing it).

    matplotlib writes a font list to ``~/.cache/matplotlib`` (or ``~/.config``) the first
    time it draws. It holds no patient data, but ocularseg promises to write nothing outside
    ``--out``: unless the user chose ``MPLCONFIGDIR``, it points to a private temporary
    folder that is removed when the process ends (the font list, ~1 s, is rebuilt per run).
    """
    if os.environ.get("MPLCONFIGDIR"):
        return
    import atexit
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="ocularseg-mpl-")
    os.environ["MPLCONFIGDIR"] = folder
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
