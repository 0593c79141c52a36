"""``--executor dask``: inputs analysed on a Dask distributed cluster (extra ``[distributed]``).

Dask rather than Ray: the work is independent inputs of a few seconds to minutes that read
files and write into one output folder, which ``distributed``'s futures, worker plugins
and plain TCP scheduler cover with a pure-Python install from PyPI; Ray brings its own
object store, dashboard and binary wheels for a feature that needs none of them.

* Each worker loads the face models and the ONNX session once, in a worker plugin
  (:class:`ModelPlugin`), with ONNX Runtime's telemetry switched off.
* A worker that dies loses only its in-flight input: the scheduler gives the input to
  another worker; when the scheduler gives up on it (``KilledWorker``) it is submitted
  once more, and a second loss becomes an error row. (A scheduler's own
  ``distributed.scheduler.allowed-failures`` adds its retries before that.)
* Inputs, the model folder and the output folder must be reachable from every worker at
  the same paths (a shared file system); each worker writes its inputs' files there and
  returns the rows, which this process gathers into the one report set.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ocularseg.core.errors import ConfigError, OcularsegError
from ocularseg.pipeline.config import AnalyzeConfig
from ocularseg.pipeline.executors import Executor, Job, Outcome
from ocularseg.pipeline.inputs import InputItem
from ocularseg.pipeline.resume import InputResult
from ocularseg.pipeline.workers import WorkerModels

try:
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # the extra is missing: make_executor says what to install
    WorkerPlugin = object  # type: ignore[assignment,misc]

log = logging.getLogger(__name__)

PLUGIN_NAME = "ocularseg-models"
#: Seconds to wait for the scheduler when connecting.
CONNECT_TIMEOUT_S = 30
#: Times an input lost with its worker is submitted again.
RESUBMITS = 1


class WorkerLostError(OcularsegError):
    """The input's worker died twice while analysing it."""


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise ConfigError(
            "--executor dask needs the optional extra: pip install 'ocularseg[distributed]'"
        ) from exc
    return distributed


class ModelPlugin(WorkerPlugin):
    """Loads the detector and the model session once per worker (a Dask worker plugin)."""

    name = PLUGIN_NAME

    def __init__(self, model_dir: str, config_json: str) -> None:
        self.model_dir, self.config_json = model_dir, config_json
        self.models: WorkerModels | None = None

    def setup(self, worker: Any) -> None:
        threads = max(1, int(getattr(worker.state, "nthreads", 1) or 1))
        self.models = WorkerModels.load(self.model_dir, self.config_json, threads)

    def teardown(self, worker: Any) -> None:
        self.models = None


def analyse_on_worker(item: InputItem, out_dir: str, resume_key: str) -> InputResult:
    """The task run on a worker: one input with the worker's loaded models."""
    from distributed import get_worker

    models = get_worker().plugins[PLUGIN_NAME].models
    return models.analyse(item, out_dir, resume_key)


class DaskExecutor(Executor):
    """Inputs as futures on the cluster at ``scheduler`` (``tcp://HOST:PORT``)."""

    def __init__(
        self, scheduler: str, model_dir: Path, config: AnalyzeConfig, out_dir: Path
    ) -> None:
        distributed = _distributed()
        try:
            self.client = distributed.Client(
                scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False
            )
        except (OSError, TimeoutError) as exc:
            raise ConfigError(f"cannot reach the Dask scheduler at {scheduler} ({exc})") from exc
        self.out_dir = out_dir
        plugin = ModelPlugin(
            str(Path(model_dir).resolve()), config.model_dump_json(exclude_unset=True)
        )
        self.client.register_plugin(plugin, name=PLUGIN_NAME)
        self._futures: list[Any] = []

    def _submit(self, job: Job, attempt: int) -> Any:
        future = self.client.submit(
            analyse_on_worker,
            job.item,
            str(self.out_dir),
            job.resume_key,
            key=f"ocularseg-{job.item.key}-{attempt}",
            pure=False,
        )
        self._futures.append(future)
        return future

    def results(self, jobs: Sequence[Job]) -> Iterator[tuple[InputItem, Outcome]]:
        distributed = _distributed()
        from distributed.scheduler import KilledWorker

        pending = {self._submit(job, 0): (job, 0) for job in jobs}
        done = distributed.as_completed(list(pending), loop=self.client.loop)
        for future in done:
            job, attempt = pending.pop(future)
            if future.status == "error" and isinstance(future.exception(), KilledWorker):
                if attempt < RESUBMITS:
                    log.warning(
                        "%s: its worker died; analysing it again on another", job.item.label
                    )
                    again = self._submit(job, attempt + 1)
                    pending[again] = (job, attempt + 1)
                    done.add(again)
                    continue
                yield job.item, _lost(job.item)
                continue
            yield job.item, future.result

    def stop(self) -> None:
        self.client.cancel(self._futures, force=True)
        self.close()

    def close(self) -> None:
        self.client.close()


def _lost(item: InputItem) -> Outcome:
    def raise_lost() -> InputResult:
        raise WorkerLostError(
            f"{item.label}: the Dask worker analysing it died twice (killed, for example by "
            "the out-of-memory killer); rerun with --resume"
        )

    return raise_lost
