"""One run at a time per output folder.

Two runs writing the same ``--out`` used to finish with the last one's reports: the other
run's inputs vanished from measurements.csv and report.xlsx, and both exited 0. Merging
two live runs safely would need each to re-read the other's results at the very end, and
their configs or models may differ, which makes one "merged" report misleading. So the
second run refuses to start, naming the run that holds the folder; ``--resume`` after the
first finishes picks up what the second would have added.

The lock is an OS file lock (``flock`` / ``LockFileEx``) on ``OUT/.ocularseg.lock``: the
operating system releases it when the process ends in any way, kill -9 included, so a
crashed run never leaves a stale lock behind. The file stays as the mark of an ocularseg
output folder (input discovery skips such folders).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from ocularseg.core.errors import ConfigError
from ocularseg.pipeline.inputs import OUTPUT_MARKER

log = logging.getLogger(__name__)


def _try_lock(fd: int, path: Path) -> bool:
    """True when this process now holds the lock (or the file system has no locks)."""
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:
        # Some network shares have no locks (ENOLCK): refusing would make them unusable.
        log.warning("%s: the file system cannot lock (%s); make sure one run at a time", path, exc)
    return True


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return f"process {info.get('pid')} on {info.get('host')}, started {info.get('started_utc')}"
    except (OSError, ValueError, AttributeError):
        return "another process"


@contextlib.contextmanager
def run_lock(out_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold the output folder's lock for the block.

    Raises:
        ConfigError: another ocularseg run holds the folder (the message names it), or the
            lock file cannot be created.
    """
    path = Path(out_dir) / OUTPUT_MARKER
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise ConfigError(f"cannot lock output folder {out_dir} ({exc.strerror or exc})") from exc
    try:
        if not _try_lock(fd, path):
            raise ConfigError(
                f"output folder {out_dir} is in use by another ocularseg run "
                f"({_holder(path)}); wait for it to finish or choose another --out "
                "(then --resume adds what is missing)"
            )
        info = {
            "pid": os.getpid(),
            "host": platform.node(),
            "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps(info).encode("utf-8"))
        yield path
    finally:
        os.close(fd)  # closing releases the lock
