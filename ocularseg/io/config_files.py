"""Reading YAML option files and validating them into frozen pydantic models.

One place for the rules every config follows: the file must exist and hold a mapping;
unknown keys and bad values are a ``ConfigError`` naming each offending field; relative
paths inside a file are taken relative to that file's folder.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
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
        loaded = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        # PyYAML's messages span lines; errors are one line.
        raise ConfigError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from exc
    except RecursionError as exc:
        raise ConfigError(f"{path}: not a config file (nested too deeply to read)") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: expected a mapping of options at the top level")
    return loaded


def relative_to_file(config_path: str | os.PathLike[str], value: Any) -> str:
    """``value`` as a path, made relative to the config file's folder unless absolute."""
    path = Path(os.path.expanduser(str(value)))
    return str(path if path.is_absolute() else Path(config_path).parent / path)


def validate_config(model: type[ModelT], raw: dict[str, Any], source: str) -> ModelT:
    """Validate ``raw`` into ``model``; errors name every offending field and ``source``.

    Infinite and NaN numbers are refused in every field (``iris_diameter_mm: .inf`` would
    turn every millimetre value into inf; ``learning_rate: .inf`` trains to nothing).
    """
    try:
        validated = model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(_problem(err) for err in exc.errors())
        raise ConfigError(f"{source}: {problems}") from exc
    except RecursionError as exc:
        raise ConfigError(f"{source}: options nested too deeply") from exc
    check_finite(validated, source)
    return validated


def _problem(err: Any) -> str:
    message = str(err["msg"]).removeprefix("Value error, ")
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {message}" if where else message


def check_finite(config: BaseModel, source: str) -> None:
    """Refuse a config with an infinite or NaN number anywhere in it.

    Raises:
        ConfigError: naming each such field (dotted path) and ``source``.
    """
    bad = [f"{where}: must be a finite number, got {value}" for where, value in _floats(config)]
    if bad:
        raise ConfigError(f"{source}: {'; '.join(bad)}")


def _floats(config: BaseModel) -> Iterator[tuple[str, float]]:
    def walk(value: Any, where: str) -> Iterator[tuple[str, float]]:
        if isinstance(value, float) and not math.isfinite(value):
            yield where, value
        elif isinstance(value, dict):
            for key, item in value.items():
                yield from walk(item, f"{where}.{key}" if where else str(key))
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                yield from walk(item, f"{where}[{index}]")

    yield from walk(config.model_dump(), "")
