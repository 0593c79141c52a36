"""Overlapping the stages of one input on the machine's cores.

Decoding and the face stage (OpenCV releases the GIL), the network (ONNX Runtime releases
it) and the per-eye measurement (NumPy, SciPy and OpenCV for the large arrays) can run at
the same time: :func:`prefetched` produces the next frames on a thread while the caller
segments and measures the last ones.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def prefetched(items: Iterator[T], depth: int) -> Iterator[T]:
    """``items``, produced on a background thread up to ``depth`` ahead of the consumer.

    An exception raised by ``items`` is raised here, at the point the consumer reaches
    it; a consumer that stops early stops the producer at its next item.
    """
    buffer: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        buffer.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            buffer.put(_Failure(exc))

    thread = threading.Thread(target=produce, name="ocularseg-frames", daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
