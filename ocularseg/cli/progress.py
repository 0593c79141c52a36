"""Progress of ``ocularseg analyze``: a Rich bar over inputs and one over the current
input's frames, each with an ETA, on a terminal; plain log lines otherwise (a batch job's
log file gets one line per finished input, and a line every ``LOG_EVERY_S`` seconds of a
long input).
"""

from __future__ import annotations

import time
from typing import Any

#: Seconds between the plain progress lines of one input's frames.
LOG_EVERY_S = 30.0


class RunProgress:
    """Receives the run's callbacks (``input_done``, ``frame_done``) and shows them."""

    def __init__(self, console: Any, *, live: bool) -> None:
        self.console = console
        self._bar: Any = None
        self._inputs: Any = None
        self._frames: Any = None
        self._last_log_s = time.monotonic()
        self._started_s = time.monotonic()
        if live:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                "eta",
                TimeRemainingColumn(),
                console=console,
                transient=True,
            )
            self._inputs = self._bar.add_task("inputs", total=None)
            self._frames = self._bar.add_task("frames", total=None)

    def __enter__(self) -> RunProgress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def input_done(self, done: int, total: int, result: Any) -> None:
        """After each input: (inputs done, inputs in the run, its result)."""
        if self._bar is not None:
            self._bar.update(
                self._inputs, completed=done, total=total, description=result.label[-40:]
            )
            self._bar.reset(self._frames, total=None)
            return
        elapsed = time.monotonic() - self._started_s
        # An analysed input with an unmeasurable eye is done; its reason is in errors.csv.
        state = "failed" if result.failed else "done, see errors.csv" if result.errors else "done"
        self.console.print(
            f"[{done}/{total}] {result.label}: {state} ({elapsed:.0f} s elapsed)",
            highlight=False,
            markup=False,
        )

    def frame_done(self, done: int, expected: int | None) -> None:
        """After each frame of the current input: (frames looked at, frames expected)."""
        if self._bar is not None:
            self._bar.update(self._frames, completed=done, total=expected)
            return
        now = time.monotonic()
        if now - self._last_log_s >= LOG_EVERY_S:
            self._last_log_s = now
            of = f" of about {expected}" if expected else ""
            self.console.print(f"  {done}{of} frames looked at", highlight=False, markup=False)
