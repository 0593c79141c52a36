"""Name → factory registries (models, losses): one look-up and one option check for all.

A config names what it wants as a string plus keyword options; the registry maps the name
to a factory and checks the options against the factory's keyword parameters before it
calls it, so a misspelt name or option is an error that lists the valid ones, never a
silent default. Torch-free, so the look-up lives in ``core``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar

from ocularseg.core.errors import ConfigError

T = TypeVar("T")


def option_names(factory: Callable[..., object]) -> list[str]:
    """The keyword options ``factory`` accepts, in declaration order.

    A class gives its constructor's parameters; a callable with a ``__signature__`` (a
    pydantic model, or a factory that copies one) gives that signature's.
    """
    return [
        name
        for name, param in inspect.signature(factory).parameters.items()
        if param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD)
    ]


class Registry(Mapping[str, Callable[..., T]], Generic[T]):
    """A read-only mapping name → factory that builds by name with checked options.

    Args:
        kind: What the entries are, for messages (``"loss"``, ``"model"``).
        factories: Name → factory; its keyword parameters are the valid options.
        error: The :class:`~ocularseg.core.errors.ConfigError` subclass raised for an
            unknown name or option.
        plural: ``kind`` in the plural, for messages (default: ``kind + "s"``).
    """

    def __init__(
        self,
        kind: str,
        factories: Mapping[str, Callable[..., T]],
        error: type[ConfigError] = ConfigError,
        plural: str | None = None,
    ) -> None:
        self.kind = kind
        self.plural = plural or f"{kind}s"
        self._factories = dict(factories)
        self.error = error

    def __getitem__(self, name: str) -> Callable[..., T]:
        return self._factories[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._factories)

    def __len__(self) -> int:
        return len(self._factories)

    def lookup(self, name: str) -> Callable[..., T]:
        """The factory registered as ``name``; raises ``error`` listing the valid names."""
        try:
            return self._factories[name]
        except (KeyError, TypeError):
            raise self.error(
                f"unknown {self.kind} {name!r}; valid {self.plural}: {', '.join(self)}"
            ) from None

    def options(self, name: str) -> list[str]:
        """The keyword options ``build(name, ...)`` accepts."""
        return option_names(self.lookup(name))

    def build(self, name: str, **options: object) -> T:
        """Call the factory of ``name`` with ``options`` after checking their names.

        Raises:
            ConfigError: (``error``) for an unknown name or option; the message lists the
                valid ones.
        """
        factory = self.lookup(name)
        valid = option_names(factory)
        unknown = sorted(set(options) - set(valid))
        if unknown:
            raise self.error(
                f"unknown option(s) {', '.join(unknown)} for {self.kind} {name!r}; "
                f"valid options: {', '.join(valid) if valid else '(none)'}"
            )
        return factory(**options)
