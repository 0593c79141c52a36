"""Progress of ``ocularseg analyze``: a Rich bar over inputs and one over the current
input's frames (frames looked at of the frames expected, or frames looked at alone when the
video does not say), each with an ETA, then one over the report pages as they are drawn, on
a terminal; plain log lines otherwise (a batch job's log file gets one line per finished
input, a line every ``LOG_EVERY_S`` seconds of a long input or of the report drawing).
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
        self._step_started_s = self._started_s
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

    def phase(self, phase: str, done: int, total: int) -> None:
        """As the run moves on (``pipeline.run.RunPhase``, steps done, steps in the phase):
        the number of inputs once they are found, then the report pages as they are drawn."""
        from ocularseg.pipeline.run import RunPhase

        if phase == RunPhase.ANALYSING:
            self._step_started_s = time.monotonic()
            if self._bar is not None:
                self._bar.update(self._inputs, completed=done, total=total)
            return
        if done == 0:
            self._step_started_s = self._last_log_s = time.monotonic()
        if self._bar is not None:
            if done == 0:
                self._restart_second_row(str(phase), total=total)
            self._bar.update(self._frames, completed=done, total=total)
            return
        if done == 0 or self._log_due():
            line = f"{phase} {done}/{total}{self._eta(done, total)}"
            self.console.print(line, highlight=False, markup=False)

    def input_done(self, done: int, total: int, result: Any) -> None:
        """After each input: (inputs done, inputs in the run, its result)."""
        self._step_started_s = time.monotonic()
        if self._bar is not None:
            self._bar.update(
                self._inputs, completed=done, total=total, description=result.label[-40:]
            )
            self._restart_second_row("frames", total=None)
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
        """After each frame of the current input: (frames looked at, frames expected or
        None); called from the thread that decodes. An estimate the input outgrows counts
        as unknown."""
        total = expected if expected and expected >= done else None
        if self._bar is not None:
            (shown,) = [t.total for t in self._bar.tasks if t.id == self._frames]
            if total is None and shown is not None:
                self._restart_second_row("frames", total=None, completed=done)
            self._bar.update(self._frames, completed=done, total=total)
            return
        if self._log_due():
            of = f" of about {total}" if total else ""
            line = f"  {done}{of} frames looked at{self._eta(done, total)}"
            self.console.print(line, highlight=False, markup=False)

    def _restart_second_row(self, description: str, total: int | None, completed: int = 0) -> None:
        """The frames / report pages row anew, its clock restarted. Rich's ``reset`` and
        ``update`` keep a known total when given None, hence a new task."""
        self._bar.remove_task(self._frames)
        self._frames = self._bar.add_task(description, total=total, completed=completed)

    def _log_due(self) -> bool:
        """Whether a plain progress line is due (one each ``LOG_EVERY_S`` seconds)."""
        now = time.monotonic()
        if now - self._last_log_s < LOG_EVERY_S:
            return False
        self._last_log_s = now
        return True

    def _eta(self, done: int, total: int | None) -> str:
        """ ", about M:SS left" from the pace of the current step, or "" when unknown."""
        spent_s = time.monotonic() - self._step_started_s
        if not total or done <= 0 or spent_s <= 0:
            return ""
        left_s = round(spent_s / done * max(0, total - done))
        return f", about {left_s // 60}:{left_s % 60:02d} left"
