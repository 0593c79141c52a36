"""What a model folder may carry when it is shared: no patient ids, no machine paths.

A model folder is made to be passed on (to a colleague, another clinic, a repository). As
exported it used to hold the subject and image ids of every test image in
``evaluation/per_image.csv`` (folder names such as ``Doe_Jane_MRN002``) and absolute data-set
paths in ``model.json`` and ``MODEL_CARD.md`` (user names, clinic names). By default the
export now writes pseudonyms for the ids (:func:`pseudonymise`) and cuts every path to its
last component (:func:`without_paths`); ``--include-ids`` keeps both.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

#: Prefixes of the pseudonyms written for image and subject ids.
IMAGE_PREFIX = "img-"
SUBJECT_PREFIX = "subj-"
_PATH_LIKE = re.compile(r"[/\\]")
#: A whole string that is one path: no white space, at least one separator.
_PATH_TOKEN = re.compile(r"^[^\s]*[/\\][^\s]*$")
#: An absolute path inside text (Markdown of a card section): "/home/a/x", "~/x", "C:\x".
#: Not "mm/s", "a / b" or the "//host" of a URL.
_EMBEDDED_PATH = re.compile(r"(?<![\w.~:/\\])(?:~?/|[A-Za-z]:\\)[^\s`'\"|<>()\[\]]+")


def pseudonymise(values: Iterable[Any], prefix: str, key: bytes) -> dict[Any, str]:
    """Map each distinct value to ``prefix`` + 12 hex digits of HMAC-SHA256 under ``key``.

    With a random ``key`` that is never stored (:func:`new_key`), the pseudonyms keep rows
    of one person together within the file but cannot be traced back by hashing a list of
    names or record numbers.
    """
    return {
        value: prefix + hmac.new(key, str(value).encode("utf-8"), hashlib.sha256).hexdigest()[:12]
        for value in dict.fromkeys(values)
    }


def new_key() -> bytes:
    """A fresh random key for :func:`pseudonymise` (the export uses one per model folder)."""
    return secrets.token_bytes(32)


def last_component(value: str) -> str:
    """The last part of a path written with ``/`` or ``\\`` ("/home/a/data/x" -> "x")."""
    parts = PureWindowsPath(value).parts if "\\" in value else PurePosixPath(value).parts
    parts = [p for p in parts if p not in ("/", "\\", "..", ".")]
    return parts[-1] if parts else ""


def without_paths(obj: Any) -> Any:
    """A copy of a JSON-like object with every path cut to its last component.

    A string that is one path (no white space, a ``/`` or ``\\``, not a URL) becomes its
    last component; in other text (Markdown of the card) each absolute path does. Keys are
    kept.
    """
    if isinstance(obj, dict):
        return {key: without_paths(value) for key, value in obj.items()}
    if isinstance(obj, list):
        return [without_paths(value) for value in obj]
    if isinstance(obj, str) and _PATH_LIKE.search(obj):
        if _PATH_TOKEN.match(obj):
            return obj if "://" in obj else last_component(obj)
        return _EMBEDDED_PATH.sub(lambda m: last_component(m.group()), obj)
    return obj


def text_without_paths(text: str, paths: Iterable[str]) -> str:
    """``text`` with each of ``paths`` (as written) replaced by its last component."""
    for path in sorted({p for p in paths if p}, key=len, reverse=True):
        if _PATH_LIKE.search(path):
            text = text.replace(path, last_component(path))
    return text
