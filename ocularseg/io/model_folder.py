"""The model folder's public names, at their old address (see :mod:`ocularseg.io.modelfolder`)."""

from __future__ import annotations

from ocularseg.io.modelfolder import *  # noqa: F403
from ocularseg.io.modelfolder import __all__  # noqa: F401
