"""The error hierarchy. Library code raises these; only ``ocularseg.cli`` prints them.

Messages name the offending value and the limit, e.g.
``"eye crop 34×22 px is below the 40×27 px minimum"``, and the file when there is one.
"""

from __future__ import annotations


class OcularsegError(Exception):
    """Root of every error ocularseg raises on purpose.

    ``exit_code`` is what the CLI exits with when this error ends a command:
    2 for usage/config errors, 1 for everything else.
    """

    exit_code: int = 1


class InputError(OcularsegError):
    """An input file (image, video, annotation) is missing, unreadable or malformed."""


class DetectionError(OcularsegError):
    """No usable face or eye was found."""


class ModelError(OcularsegError):
    """A model folder is missing, corrupt, fails its checksum or does not match the labels.

    Exit code 2: the run cannot start until the model (a configuration item) is fixed.
    """

    exit_code = 2


class ConfigError(OcularsegError):
    """A configuration value or command-line option is invalid."""

    exit_code = 2


class ReportError(OcularsegError):
    """An output could not be written."""


class DataError(OcularsegError):
    """A dataset folder is inconsistent (missing files, size mismatch, unknown labels)."""
