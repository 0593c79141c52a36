"""Opening input files without hanging: only regular files are read.

Opening a FIFO (named pipe) for reading blocks until some other program writes to it, and a
link to ``/dev/zero`` never ends; both used to hang a run. Files are therefore opened
non-blocking and checked with ``fstat`` on the open descriptor (no gap between check and
use), and anything that is not a regular file is refused with a message naming its kind.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path

from ocularseg.core.errors import InputError
from ocularseg.core.text import printable

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def file_kind(mode: int) -> str:
    """What a ``st_mode`` describes, in words ("a FIFO (named pipe)", "a regular file" ...)."""
    if stat.S_ISREG(mode):
        return "a regular file"
    for test, words in _KINDS:
        if test(mode):
            return words
    return "not a regular file"


def link_problem(path: str | os.PathLike[str]) -> str | None:
    """Why a symbolic link cannot be followed ("broken symbolic link to X", "symbolic link
    loop"), or None when ``path`` is not a link or leads somewhere."""
    path = Path(path)
    if not path.is_symlink():
        return None
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop"
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return f"broken symbolic link (to {printable(target)}, which does not exist)"
    return None


def open_regular(path: str | os.PathLike[str]) -> int:
    """Open ``path`` read-only and return the descriptor, refusing anything but a regular file.

    Raises:
        InputError: missing, unreadable, a folder, a FIFO, a device, a socket, a broken link
            or a link loop (the message names the file and what it is).
    """
    shown = printable(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        problem = link_problem(path)
        if problem:
            raise InputError(f"{shown}: {problem}") from exc
        if exc.errno == errno.ENOENT:
            raise InputError(f"{shown}: file not found") from exc
        if exc.errno == errno.EISDIR:
            raise InputError(f"{shown}: is a folder, expected a file") from exc
        raise InputError(f"{shown}: cannot open ({exc.strerror or exc})") from exc
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise InputError(f"{shown}: is {file_kind(mode)}, not a regular file")
    return fd


def check_regular_file(path: str | os.PathLike[str]) -> int:
    """Size in bytes of the regular file ``path`` (see :func:`open_regular` for what is refused).

    Raises:
        InputError: as :func:`open_regular`.
    """
    fd = open_regular(path)
    try:
        return os.fstat(fd).st_size
    finally:
        os.close(fd)


def read_regular_bytes(path: str | os.PathLike[str], *, max_bytes: int | None = None) -> bytes:
    """The whole content of a regular file.

    Args:
        path: the file.
        max_bytes: refuse files larger than this (None = no limit).

    Raises:
        InputError: as :func:`open_regular`, a read error, or a file over ``max_bytes``.
    """
    fd = open_regular(path)
    try:
        size = os.fstat(fd).st_size
        if max_bytes is not None and size > max_bytes:
            raise InputError(
                f"{printable(path)}: file is {size / 1e6:.1f} MB, over the "
                f"{max_bytes / 1e6:.0f} MB limit"
            )
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read()
    except OSError as exc:
        raise InputError(f"{printable(path)}: cannot read ({exc.strerror or exc})") from exc
    finally:
        os.close(fd)


def sha256_regular(path: str | os.PathLike[str], chunk_bytes: int = 1 << 20) -> str:
    """Hex sha256 of a regular file, read in chunks.

    Raises:
        InputError: as :func:`open_regular`, or a read error.
    """
    digest = hashlib.sha256()
    fd = open_regular(path)
    try:
        with os.fdopen(fd, "rb", closefd=False) as handle:
            while chunk := handle.read(chunk_bytes):
                digest.update(chunk)
    except OSError as exc:
        raise InputError(f"{printable(path)}: cannot read ({exc.strerror or exc})") from exc
    finally:
        os.close(fd)
    return digest.hexdigest()
