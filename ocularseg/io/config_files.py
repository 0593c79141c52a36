"""Reading YAML option files and validating them into frozen pydantic models.

One place for the rules every config follows: the file must exist and hold a mapping;
unknown keys and bad values are a ``ConfigError`` naming each offending field; relative
paths inside a file are taken relative to that file's folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ocularseg.core.errors import ConfigError

ModelT = TypeVar("ModelT", bound=BaseModel)


def read_yaml_mapping(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The top-level mapping of a YAML file (empty file = empty mapping).

    Raises:
        ConfigError: missing file, invalid YAML, or a top level that is not a mapping.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: expected a mapping of options at the top level")
    return loaded


def relative_to_file(config_path: str | os.PathLike[str], value: Any) -> str:
    """``value`` as a path, made relative to the config file's folder unless absolute."""
    path = Path(os.path.expanduser(str(value)))
    return str(path if path.is_absolute() else Path(config_path).parent / path)


def validate_config(model: type[ModelT], raw: dict[str, Any], source: str) -> ModelT:
    """Validate ``raw`` into ``model``; errors name every offending field and ``source``."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"{source}: {problems}") from exc
