"""Where inputs are analysed: in this process, in worker processes (``--jobs``), or on a
Dask cluster (``--executor dask``). One interface, so the run has one progress, stop and
error policy for all three.

An executor takes the inputs still to do and yields, as each finishes, the input and a
call that returns its :class:`~ocularseg.pipeline.resume.InputResult` or raises what went
wrong (the run turns that into an error row, or stops on an unwritable output). Every
executor writes each input's files into the one output folder, so on a cluster that folder
and the inputs must be reachable from every worker at the same paths.
"""

from __future__ import annotations

import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocularseg.core.errors import ConfigError
from ocularseg.pipeline.config import AnalyzeConfig
from ocularseg.pipeline.inputs import InputItem
from ocularseg.pipeline.resume import InputResult

log = logging.getLogger(__name__)

#: One input's outcome: returns its result or raises.
Outcome = Callable[[], InputResult]
#: Called by a serial run after each frame looked at: (frames done, frames expected or None).
FrameCallback = Callable[[int, int | None], None]


@dataclass(frozen=True)
class Job:
    """An input to analyse and the resume key its ``result.json`` will carry."""

    item: InputItem
    resume_key: str


class Executor(ABC):
    """Runs jobs; a context manager that releases its workers on exit."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abstractmethod
    def results(self, jobs: Sequence[Job]) -> Iterator[tuple[InputItem, Outcome]]:
        """Each job's input and outcome, as the jobs finish."""

    @abstractmethod
    def stop(self) -> None:
        """Stop now: cancel what has not started (what finished is saved)."""

    @abstractmethod
    def close(self) -> None:
        """Release the workers after a normal end."""


class SerialExecutor(Executor):
    """Every input in this process, one after the other, with the run's own model session."""

    def __init__(
        self,
        segmenter: Any,
        config: AnalyzeConfig,
        out_dir: Path,
        on_frame: FrameCallback | None = None,
    ) -> None:
        from ocularseg.stages.face import FaceDetector

        self.segmenter, self.config, self.out_dir = segmenter, config, out_dir
        self.detector = FaceDetector(config.face)
        self.on_frame = on_frame

    def results(self, jobs: Sequence[Job]) -> Iterator[tuple[InputItem, Outcome]]:
        from ocularseg.pipeline.process import process_input

        for job in jobs:
            yield (
                job.item,
                lambda job=job: process_input(
                    job.item,
                    detector=self.detector,
                    segmenter=self.segmenter,
                    config=self.config,
                    out_dir=self.out_dir,
                    resume_key=job.resume_key,
                    on_frame=self.on_frame,
                ),
            )

    def stop(self) -> None:
        """Nothing runs beside the caller: the loop simply ends."""

    def close(self) -> None:
        """The detector and session belong to the run; nothing to release."""


class ProcessExecutor(Executor):
    """``--jobs N``: N worker processes on this machine, each with its own model session."""

    def __init__(self, jobs: int, model_dir: Path, config: AnalyzeConfig, out_dir: Path) -> None:
        from ocularseg.pipeline.workers import init_worker, usable_cores

        threads = max(1, usable_cores() // jobs)
        self.out_dir = out_dir
        self.pool = ProcessPoolExecutor(
            max_workers=jobs,
            initializer=init_worker,
            initargs=(str(model_dir), config.model_dump_json(exclude_unset=True), threads),
        )

    def results(self, jobs: Sequence[Job]) -> Iterator[tuple[InputItem, Outcome]]:
        from ocularseg.pipeline.workers import work

        futures = [
            (job.item, self.pool.submit(work, job.item, str(self.out_dir), job.resume_key))
            for job in jobs
        ]
        for item, future in futures:
            yield item, future.result

    def stop(self) -> None:
        """End the workers now and cancel what is queued (what they finished is saved)."""
        # Taken first: shutdown() forgets the processes. A private attribute, hence the
        # guard; without it the workers still end, after their current input.
        processes = list((getattr(self.pool, "_processes", None) or {}).values())
        for process in processes:
            with contextlib.suppress(Exception):
                process.terminate()
        self.pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def make_executor(
    kind: str,
    *,
    jobs: int,
    scheduler: str | None,
    segmenter: Any,
    model_dir: Path,
    config: AnalyzeConfig,
    out_dir: Path,
    on_frame: FrameCallback | None = None,
) -> Executor:
    """The executor a run asked for.

    Raises:
        ConfigError: an unknown kind, ``--scheduler`` without the Dask executor or the
            reverse, or ``[distributed]`` not installed.
    """
    if kind == "dask":
        if not scheduler:
            raise ConfigError("--executor dask needs --scheduler tcp://HOST:PORT")
        from ocularseg.pipeline.dask_executor import DaskExecutor

        return DaskExecutor(scheduler, model_dir, config, out_dir)
    if kind != "local":
        raise ConfigError(f"--executor must be 'local' or 'dask', got {kind!r}")
    if scheduler:
        raise ConfigError("--scheduler is only used with --executor dask")
    if jobs > 1:
        return ProcessExecutor(jobs, model_dir, config, out_dir)
    return SerialExecutor(segmenter, config, out_dir, on_frame)
