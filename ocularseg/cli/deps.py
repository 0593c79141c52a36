"""Clear messages when an optional dependency is missing."""

from __future__ import annotations

import importlib.util

from ocularseg.core.errors import ConfigError


def require_torch() -> None:
    """Raise a one-line ConfigError if the [train] extra is not installed."""
    missing = [m for m in ("torch", "safetensors") if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(
            f"this command needs {', '.join(missing)}: install the training extra with "
            "`pip install -e '.[train]'` (pins torch==2.13.0)"
        )
