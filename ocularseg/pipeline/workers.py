"""Worker processes for ``--jobs N``: how many the machine allows, and that they die with
the run that started them.

Killing the parent (kill -9, or SIGTERM from ``timeout``, systemd or the OOM killer) used to
leave the workers finishing their queue and then blocking forever on a pipe, each holding
its model and frames in memory. Each worker now (1) asks Linux to send it SIGTERM when its
parent dies (``PR_SET_PDEATHSIG``) and (2) runs a watchdog thread that ends it once its
parent process has changed (the orphan was adopted by init), which also covers systems
without ``prctl``.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocularseg.core.errors import ConfigError

log = logging.getLogger(__name__)

#: Memory one worker needs at most in practice (model session, detector, 4K frames), bytes.
#: Measured: ~0.4 GB on a 1080p video, up to 1.24 GB on 4K input.
WORKER_MEMORY_BYTES = 1_000_000_000
#: Seconds between the watchdog's looks at the parent process.
WATCHDOG_INTERVAL_S = 0.5
_PR_SET_PDEATHSIG = 1


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask, else the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def available_memory_bytes() -> int | None:
    """Memory available for new processes (Linux ``MemAvailable``), or None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_jobs(jobs: int, *, cores: int | None = None, memory_bytes: int | None = None) -> None:
    """Refuse a ``--jobs`` value the machine cannot serve.

    More workers than cores only slow every worker down (two are allowed on one core); more
    than the available memory holds ends with the OOM killer.

    Args:
        jobs: requested worker processes.
        cores: usable cores (default: :func:`usable_cores`).
        memory_bytes: available memory (default: :func:`available_memory_bytes`; not
            checked when that is unknown).

    Raises:
        ConfigError: ``jobs`` < 1, above the cores, or above what the memory holds; the
            message says the largest value that fits.
    """
    if jobs < 1:
        raise ConfigError(f"--jobs must be >= 1, got {jobs}")
    if jobs == 1:
        return
    cores = usable_cores() if cores is None else cores
    max_by_cores = max(2, cores)
    if jobs > max_by_cores:
        raise ConfigError(
            f"--jobs {jobs} is more than the {cores} CPU core(s) available; use --jobs "
            f"{max_by_cores} or fewer"
        )
    memory = available_memory_bytes() if memory_bytes is None else memory_bytes
    if memory is not None:
        max_by_memory = max(1, int(memory // WORKER_MEMORY_BYTES))
        if jobs > max_by_memory:
            raise ConfigError(
                f"--jobs {jobs} needs about {jobs * WORKER_MEMORY_BYTES / 1e9:.0f} GB of memory "
                f"({WORKER_MEMORY_BYTES / 1e9:.1f} GB per worker) but "
                f"{memory / 1e9:.1f} GB is available; use --jobs {max_by_memory} or fewer"
            )


def die_with_parent() -> None:
    """Make the calling (worker) process end when its parent process ends."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        except (OSError, AttributeError):
            log.debug("prctl(PR_SET_PDEATHSIG) unavailable; relying on the watchdog")
    if os.getppid() != parent or parent == 1:
        os._exit(1)  # the parent died before the request took effect
    watchdog = threading.Thread(
        target=_watch_parent, args=(parent,), name="ocularseg-parent-watchdog", daemon=True
    )
    watchdog.start()


def _watch_parent(parent: int) -> None:
    event = threading.Event()
    while not event.wait(WATCHDOG_INTERVAL_S):
        if os.getppid() != parent:
            # Adopted by init: the run that wanted our results is gone. Exit at once
            # (no cleanup: every output is written atomically, so none is half-written).
            os._exit(1)


@dataclass(frozen=True)
class WorkerModels:
    """What a worker (a ``--jobs`` process or a Dask worker) loads once and analyses with."""

    config: Any  # AnalyzeConfig (imported lazily: this module loads in every worker)
    detector: Any  # stages.face.FaceDetector
    segmenter: Any  # stages.segment.Segmenter

    @classmethod
    def load(cls, model_dir: str, config_json: str, threads: int | None) -> WorkerModels:
        """The config, face detector and model session, with ONNX Runtime telemetry off
        (also when the start method does not inherit the environment)."""
        from ocularseg._privacy import disable_telemetry
        from ocularseg.pipeline.config import AnalyzeConfig
        from ocularseg.stages.face import FaceDetector
        from ocularseg.stages.segment import Segmenter

        disable_telemetry()
        config = AnalyzeConfig.model_validate_json(config_json)
        segmenter = Segmenter(
            model_dir, device=config.device, batch_size=config.batch_size, intra_op_threads=threads
        )
        return cls(config, FaceDetector(config.face), segmenter)

    def analyse(self, item: Any, out_dir: str, resume_key: str) -> Any:
        """One input (see ``pipeline.process.process_input``)."""
        from ocularseg.pipeline.process import process_input

        return process_input(
            item,
            detector=self.detector,
            segmenter=self.segmenter,
            config=self.config,
            out_dir=Path(out_dir),
            resume_key=resume_key,
        )


# Worker-process state: one detector and one model session per process, loaded once.
_WORKER: list[WorkerModels] = []


def init_worker(model_dir: str, config_json: str, threads: int | None) -> None:
    """ProcessPoolExecutor initializer: tie the worker to its parent, load the models."""
    die_with_parent()
    _WORKER[:] = [WorkerModels.load(model_dir, config_json, threads)]


def work(item: Any, out_dir: str, resume_key: str) -> Any:
    """Analyse one input in a worker (see ``pipeline.process.process_input``)."""
    return _WORKER[0].analyse(item, out_dir, resume_key)
