"""Writing image files beside the work: PNG encoding and atomic writes on worker threads.

OpenCV's encoder and file writes release the GIL, so while the pipeline measures the next
eye on one core, the crops, masks and overlays of the last ones are written on another.
Errors are not lost: :meth:`BackgroundWriter.close` waits for every write and raises the
first failure (a full disk is a ``ReportError`` naming the file).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from ocularseg.io.images import write_png_bytes

#: Writes queued before ``submit`` waits for the oldest (bounds the memory they hold).
MAX_PENDING = 64


class BackgroundWriter:
    """Runs writes on ``threads`` worker threads; a context manager that waits on exit."""

    def __init__(self, threads: int = 1) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="write")
        self._pending: list[Future[None]] = []

    def __enter__(self) -> BackgroundWriter:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()
        else:  # already failing: finish what was queued, keep the first error
            self._pool.shutdown(wait=True, cancel_futures=True)

    def run(self, work: Callable[[], None]) -> None:
        """Queue ``work`` (a function that writes files); errors surface in :meth:`close`."""
        self._pending.append(self._pool.submit(work))
        if len(self._pending) > MAX_PENDING:
            self._pending.pop(0).result()

    def png(self, path: str | os.PathLike[str], data: bytes) -> None:
        """Queue writing PNG bytes to ``path`` (atomically)."""
        self.run(lambda: write_png_bytes(path, data))

    def close(self) -> None:
        """Wait for every queued write; raise the first failure."""
        try:
            for future in self._pending:
                future.result()
        finally:
            self._pending.clear()
            self._pool.shutdown(wait=True)
