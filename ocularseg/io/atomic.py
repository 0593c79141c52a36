"""Atomic file writes: write to a temporary file beside the target, then rename.

A crash or a full disk never leaves a half-written output where a finished one is
expected, and an existing file is only replaced by a complete new one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ocularseg.core.errors import ReportError


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in ``target``'s folder; rename it onto ``target`` on success.

    The temporary name keeps ``target``'s suffix so writers that pick a format from the
    extension (OpenCV, pandas) still work. On any exception the temporary file is removed
    and ``target`` is left untouched; an ``OSError`` (full disk, read-only folder) becomes a
    ``ReportError`` naming ``target``.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}", dir=target.parent
        )
    except OSError as exc:
        raise ReportError(f"cannot write {target}: {exc.strerror or exc}") from exc
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp creates 0600 files; give the output the permissions a normal write would
    # (0666 minus the umask) so reports and models can be shared as usual.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        # A full disk or a read-only folder: one line naming the file, not a traceback.
        raise ReportError(f"cannot write {target}: {exc.strerror or exc}") from exc
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_bytes_atomic(target: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(target: str | os.PathLike[str], text: str) -> None:
    """Write UTF-8 ``text`` to ``target`` atomically."""
    write_bytes_atomic(target, text.encode("utf-8"))


def write_json_atomic(target: str | os.PathLike[str], obj: Any, *, indent: int = 2) -> None:
    """Write ``obj`` as JSON (sorted keys, so equal objects give byte-identical files)."""
    write_text_atomic(target, json.dumps(obj, indent=indent, sort_keys=True) + "\n")


def write_with_atomic(target: str | os.PathLike[str], writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp_path)`` and rename the result onto ``target``."""
    with atomic_path(target) as tmp:
        writer(tmp)


@contextlib.contextmanager
def replacing_folder(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a new staging folder beside ``target`` that replaces it when the block succeeds.

    An existing ``target`` is removed only then; on any error the staging folder is deleted
    and ``target`` is left as it was (model folders: no half-written export is ever found
    where ``analyze --model`` would look).
    """
    final = Path(target)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-", dir=final.parent))
    # mkdtemp makes the folder private (0700); a model folder should be as readable as any
    # folder the user creates.
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)
    try:
        yield staging
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
