"""Run an analysis over many inputs: error policy, resume, workers, reports, provenance.

Error policy: a problem with one input (unreadable file, no face, eyes never usable) is an
error row for that input and the run goes on; a problem with the run itself (bad options,
missing or corrupt model, unwritable output folder, another run using the same output
folder) stops before any input is touched. Outputs that stop being writable part-way (a
full disk) stop the run: the inputs finished so far are saved and ``--resume`` continues.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from ocularseg import __version__
from ocularseg._privacy import silence_loaded_onnxruntime
from ocularseg.core.containers import CROP_HEIGHT_PX, CROP_WIDTH_PX
from ocularseg.core.errors import (
    ConfigError,
    ModelError,
    OcularsegError,
    ReportError,
)
from ocularseg.core.records import ErrorRecord, EyeRow, Flag, WarningRecord
from ocularseg.core.report_params import ReportParams
from ocularseg.core.text import printable
from ocularseg.io.atomic import write_json_atomic
from ocularseg.io.config_files import check_finite
from ocularseg.io.model_folder import model_provenance
from ocularseg.io.model_store import models_dir
from ocularseg.pipeline.config import DEFAULT_MODEL_NAME, AnalyzeConfig
from ocularseg.pipeline.executors import FrameCallback, Job, make_executor
from ocularseg.pipeline.inputs import InputItem, SkippedFile, discover_inputs
from ocularseg.pipeline.lock import run_lock
from ocularseg.pipeline.resume import InputResult, load_result, resume_key_for
from ocularseg.pipeline.workers import check_jobs

log = logging.getLogger(__name__)

#: Called after each input: (done count, total, result).
ProgressCallback = Callable[[int, int, InputResult], None]


class RunPhase(StrEnum):
    """The phases a run announces to its ``on_phase`` callback."""

    #: (0, inputs) once the inputs are found and the model is loaded.
    ANALYSING = "analysing"
    #: (pages drawn, pages to draw), from (0, N), as the one-page reports are drawn.
    DRAWING_REPORTS = "drawing reports"


#: Called as a run moves on: (phase, steps done, steps in the phase).
PhaseCallback = Callable[[RunPhase, int, int], None]

#: Report files of a run, written as one set (see ``report.report_set``); run.json last.
REPORT_FILES: tuple[str, ...] = (
    "measurements.csv",
    "summary.csv",
    "errors.csv",
    "warnings.csv",
    "skipped_files.txt",
    "report.xlsx",
)
RUN_JSON = "run.json"


@dataclass
class AnalysisResult:
    """The outcome of :func:`run_analysis`."""

    out_dir: Path
    inputs: list[InputResult] = field(default_factory=list)
    skipped_files: list[SkippedFile] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    run_info: dict[str, Any] = field(default_factory=dict)
    report_params: ReportParams = field(default_factory=ReportParams)
    pages: bool = True
    clock: RunClock = field(default_factory=lambda: RunClock())

    @property
    def failed(self) -> list[InputResult]:
        return [r for r in self.inputs if r.failed]

    @property
    def exit_code(self) -> int:
        """1 when some input could not be read or analysed, else 0 (an analysed input in
        which an eye was never measurable is not a failure: its reason is recorded)."""
        return 1 if self.failed else 0

    def tally(self) -> RunTally:
        """The inputs by how many eyes were measured (used frames, ``ReportParams``' rule)."""
        params = self.report_params
        measured = {
            r.label: len(r.measured_sides(params.exclude_flags, params.exclude_blinks))
            for r in self.inputs
            if not r.failed
        }
        by_eyes = list(measured.values())
        return RunTally(
            inputs=len(self.inputs),
            resumed=len(self.resumed),
            both_eyes=by_eyes.count(2),
            one_eye=by_eyes.count(1),
            neither_eye=by_eyes.count(0),
            failed=len(self.failed),
            eyes_measured=sum(by_eyes),
        )

    @property
    def rows(self) -> list[EyeRow]:
        return [row for r in self.inputs for row in r.rows]

    @property
    def errors(self) -> list[ErrorRecord]:
        return [e for r in self.inputs for e in r.errors]

    @property
    def warnings(self) -> list[WarningRecord]:
        """Warnings of the inputs, then one per file skipped inside a folder."""
        skipped = [
            WarningRecord(input=s.label, stage="inputs", warning=f"{s.label}: skipped: {s.reason}")
            for s in self.skipped_files
        ]
        return [w for r in self.inputs for w in r.warnings] + skipped


@dataclass
class RunClock:
    """Wall-clock seconds of one run (``time.perf_counter``), from the start of
    :func:`run_analysis` to the report set written; ``run.json`` gets ``elapsed_s`` and
    ``phases_s``.

    Attributes:
        started_s: when the run started.
        setup_s: finding the inputs, locking the output folder, loading the model.
        analysis_s: analysing the inputs (resumed ones are only read).
        reports_s: the rest: the run's record, drawing the pages, writing the report
            set up to ``run.json``.
    """

    started_s: float = field(default_factory=time.perf_counter)
    setup_s: float = 0.0
    analysis_s: float = 0.0
    reports_s: float = 0.0

    def elapsed_s(self) -> float:
        """Seconds since the run started."""
        return time.perf_counter() - self.started_s

    def phases_s(self) -> dict[str, float]:
        """The phases' seconds by name, rounded as ``run.json`` shows them."""
        return {
            "setup": round(self.setup_s, 3),
            "analysis": round(self.analysis_s, 3),
            "reports": round(self.reports_s, 3),
        }


@dataclass(frozen=True)
class RunCallbacks:
    """What a caller is told as a run goes on (each optional)."""

    on_progress: ProgressCallback | None = None
    on_frame: FrameCallback | None = None
    on_phase: PhaseCallback | None = None


@dataclass(frozen=True)
class RunTally:
    """The counts of the closing line: every input in exactly one of ``both_eyes``,
    ``one_eye``, ``neither_eye`` (analysed, no eye measured) and ``failed`` (could not be
    read or analysed); ``resumed`` of ``inputs`` came from an earlier run's results."""

    inputs: int
    resumed: int
    both_eyes: int
    one_eye: int
    neither_eye: int
    failed: int
    eyes_measured: int

    @property
    def analysed_now(self) -> int:
        """Inputs this run analysed itself (the others were resumed)."""
        return self.inputs - self.resumed


class RunStoppedError(ReportError):
    """The run stopped part-way because its outputs could not be written (a full disk).

    Attributes:
        result: what was finished before the stop (saved per input; ``--resume`` keeps it).
    """

    def __init__(self, message: str, result: AnalysisResult) -> None:
        super().__init__(message)
        self.result = result


def resolve_model_dir(config: AnalyzeConfig) -> Path:
    """The model folder to use: the configured one, else the bundled default."""
    if config.model is not None:
        return Path(config.model)
    return models_dir() / DEFAULT_MODEL_NAME


def check_out_dir(out_dir: Path) -> None:
    """Create ``out_dir`` and prove it is writable, before any work is done."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"output folder {out_dir} is not writable ({exc.strerror or exc})"
        ) from exc


def check_model_input(segmenter: Any) -> None:
    """Refuse, once per run, a model whose input is not the 480×320 eye crop.

    Raises:
        ModelError: model.json or the ONNX graph declares another input size.
    """
    spec = segmenter.spec.input
    folder = segmenter.model_dir
    if (spec.height, spec.width) != (CROP_HEIGHT_PX, CROP_WIDTH_PX):
        raise ModelError(
            f"{folder}: model.json declares a {spec.width}×{spec.height} px input, but "
            f"analyze feeds {CROP_WIDTH_PX}×{CROP_HEIGHT_PX} px eye crops"
        )
    shape = list(segmenter.session.get_inputs()[0].shape)
    channels = 3 + (getattr(spec, "prior", None) is not None)  # RGB (+ landmark prior)
    expected = [None, channels, CROP_HEIGHT_PX, CROP_WIDTH_PX]
    wrong = len(shape) != 4 or any(
        isinstance(dim, int) and want is not None and dim != want
        for dim, want in zip(shape, expected, strict=False)
    )
    if wrong:
        raise ModelError(
            f"{folder}: the ONNX model's input is {shape}; analyze needs "
            f"[batch, {channels}, {CROP_HEIGHT_PX}, {CROP_WIDTH_PX}]"
        )


def run_analysis(
    paths: list[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    config: AnalyzeConfig | None = None,
    *,
    resume: bool = False,
    jobs: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
    on_progress: ProgressCallback | None = None,
    on_frame: FrameCallback | None = None,
    on_phase: PhaseCallback | None = None,
) -> AnalysisResult:
    """Analyse every input and write the reports into ``out_dir``.

    Args:
        executor: ``"local"`` (this machine: ``jobs`` processes, 1 = this process) or
            ``"dask"`` (the Dask cluster at ``scheduler``, ``tcp://HOST:PORT``).
        on_progress: called after each input (done, total, result).
        on_frame: called after each frame of a serial run (frames done, expected), from
            the decoding thread.
        on_phase: called as the run moves on (``RunPhase``, done, total).

    Raises:
        ConfigError / ModelError: the run cannot start (nothing is analysed), including
            another run holding ``out_dir``.
        RunStoppedError: outputs stopped being writable part-way (a full disk); inputs
            finished before are saved for ``--resume``.
    """
    clock = RunClock()
    config = config or AnalyzeConfig()
    check_finite(config, "options")
    out = Path(out_dir)
    if executor == "local":
        check_jobs(jobs)
    items, skipped = discover_inputs(list(paths), exclude=[out])
    check_out_dir(out)
    with run_lock(out):
        return _run_locked(
            items,
            skipped,
            out,
            config,
            resume,
            _Where(executor, jobs, scheduler),
            RunCallbacks(on_progress, on_frame, on_phase),
            clock,
        )


@dataclass(frozen=True)
class _Where:
    """Where a run's inputs are analysed (see ``pipeline.executors.make_executor``)."""

    executor: str
    jobs: int
    scheduler: str | None


def _run_locked(
    items: list[InputItem],
    skipped: list[SkippedFile],
    out: Path,
    config: AnalyzeConfig,
    resume: bool,
    where: _Where,
    calls: RunCallbacks,
    clock: RunClock,
) -> AnalysisResult:
    model_dir = resolve_model_dir(config)
    segmenter = _load_segmenter(model_dir, config)
    result = AnalysisResult(
        out_dir=out,
        skipped_files=skipped,
        report_params=config.report,
        pages=config.pages,
        clock=clock,
    )
    clock.setup_s = clock.elapsed_s()
    if calls.on_phase:
        calls.on_phase(RunPhase.ANALYSING, 0, len(items))
    todo = _reuse_saved(items, out, config, segmenter.spec.sha256, resume, result, calls)
    stop: ReportError | None = None
    if todo:
        stop = _analyse(todo, len(items), where, segmenter, model_dir, config, result, calls)
    order = {item.label: i for i, item in enumerate(items)}
    result.inputs.sort(key=lambda r: order.get(r.label, len(order)))
    clock.analysis_s = clock.elapsed_s() - clock.setup_s
    result.run_info = _run_info(config, model_dir, segmenter, result)
    result.run_info["executor"] = where.executor
    if stop is not None:
        result.run_info["stopped"] = str(stop)
        with contextlib.suppress(ReportError):
            write_reports(result, on_phase=calls.on_phase)
        raise RunStoppedError(
            f"{stop}; the run stopped after {len(result.inputs)} of {len(items)} input(s) "
            "(each finished input is saved: free some space and rerun with --resume)",
            result,
        )
    write_reports(result, on_phase=calls.on_phase)
    return result


def _load_segmenter(model_dir: Path, config: AnalyzeConfig) -> Any:
    """The run's model session. Loading it here (also when workers load their own) checks
    folder, JSON, checksum and input size once, before any input is touched."""
    try:
        import onnxruntime

        silence_loaded_onnxruntime(onnxruntime)
    except ImportError:
        pass  # the Segmenter says what to install
    from ocularseg.stages.segment import Segmenter

    segmenter = Segmenter(model_dir, device=config.device, batch_size=config.batch_size)
    check_model_input(segmenter)
    return segmenter


def _reuse_saved(
    items: list[InputItem],
    out: Path,
    config: AnalyzeConfig,
    model_sha: str,
    resume: bool,
    result: AnalysisResult,
    calls: RunCallbacks,
) -> list[Job]:
    """Put every reusable saved result into ``result``; return the inputs still to do."""
    config_hash = config.content_hash()
    todo: list[Job] = []
    for item in items:
        resume_key = resume_key_for(item, model_sha, config_hash)
        saved = load_result(out, item) if resume else None
        # Every input that finished (measurable or not) with the same file, model and
        # options is reused; one that crashed or was interrupted left no result.json.
        if saved is not None and saved.resume_key == resume_key:
            result.inputs.append(saved)
            result.resumed.append(item.label)
            if calls.on_progress:
                calls.on_progress(len(result.inputs), len(items), saved)
            continue
        todo.append(Job(item, resume_key))
    return todo


def _analyse(
    todo: list[Job],
    total: int,
    where: _Where,
    segmenter: Any,
    model_dir: Path,
    config: AnalyzeConfig,
    result: AnalysisResult,
    calls: RunCallbacks,
) -> ReportError | None:
    """Run ``todo`` on the chosen executor, collecting into ``result``; returns the
    output error that stopped the run, if one did."""
    runner = make_executor(
        where.executor,
        jobs=where.jobs,
        scheduler=where.scheduler,
        segmenter=segmenter,
        model_dir=model_dir,
        config=config,
        out_dir=result.out_dir,
        on_frame=calls.on_frame,
    )
    with runner:
        try:
            for item, outcome in runner.results(todo):
                try:
                    done = _safe_process(outcome, item)
                except ReportError as exc:
                    runner.stop()
                    return exc
                result.inputs.append(done)
                if calls.on_progress:
                    calls.on_progress(len(result.inputs), total, done)
        except BaseException:
            # Ctrl-C: leaving the block would wait for every queued input to finish.
            runner.stop()
            raise
    return None


def _safe_process(call: Callable[[], InputResult], item: InputItem) -> InputResult:
    """Run one input; an unexpected failure becomes an error row, never a lost batch.

    Raises:
        ReportError: the input's outputs could not be written (a full disk, a read-only
            folder): a problem of the run, not of this input, so the run stops.
    """
    try:
        return call()
    except ReportError:
        raise
    except OcularsegError as exc:
        message = printable(str(exc))
    except BrokenProcessPool:
        message = (
            f"{item.label}: a worker process ended unexpectedly (killed, for example by the "
            "out-of-memory killer); rerun with --resume and fewer --jobs"
        )
    except Exception as exc:  # a bug must not lose the other patients' results
        message = f"{item.label}: internal error ({type(exc).__name__}: {printable(str(exc))})"
        # One line for the user; the traceback only with --verbose.
        log.error("%s", message)
        log.debug("traceback of the internal error on %s", item.label, exc_info=True)
    failed = InputResult(label=item.label, key=item.key)
    failed.errors.append(ErrorRecord(input=item.label, stage="pipeline", error=message))
    return failed


def _run_info(config, model_dir, segmenter, result: AnalysisResult):
    """``run.json`` without ``elapsed_s``, ``phases_s`` and ``report_files`` (added as the
    report set is written)."""
    import onnxruntime

    timings: dict[str, float] = {}
    for r in result.inputs:
        for stage, seconds in r.timings_s.items():
            timings[stage] = round(timings.get(stage, 0.0) + seconds, 4)
    frames = sum(r.frames.get("analysed", 0) for r in result.inputs)
    tally = result.tally()
    return {
        "ocularseg_version": __version__,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "onnxruntime_version": onnxruntime.__version__,
        "providers": segmenter.providers,
        "model": {
            "name": segmenter.spec.name,
            "folder": str(model_dir),
            "sha256": segmenter.spec.sha256,
        },
        "model_provenance": model_provenance(segmenter.spec),
        "unreliable_classes": dict(segmenter.spec.output.unreliable_classes),
        "config": config.model_dump(mode="json"),
        "mode": config.mode,
        "inputs": len(result.inputs),
        "inputs_failed": [r.label for r in result.failed],
        "inputs_partial": [
            r.label for r in result.inputs if any(Flag.PARTIAL_VIDEO in row.flags for row in r.rows)
        ],
        "inputs_resumed": result.resumed,
        "skipped_files": [{"file": s.label, "reason": s.reason} for s in result.skipped_files],
        "warnings": len(result.warnings),
        "inputs_by_eyes_measured": {
            "both": tally.both_eyes,
            "one": tally.one_eye,
            "neither": tally.neither_eye,
            "failed": tally.failed,
        },
        "eyes_measured": tally.eyes_measured,
        "frames_analysed": frames,
        "frames_no_face": sum(r.frames.get("no_face", 0) for r in result.inputs),
        "timings_s": timings,
        "iris_diameter_mm": config.measure.iris_diameter_mm,
    }


def write_reports(result: AnalysisResult, *, on_phase: PhaseCallback | None = None) -> None:
    """The report files of ``REPORT_FILES`` and ``run.json``, written as one set, and per
    input ``report.png`` / ``report.pdf`` (the one-page report) and its chart.

    Either all the set's files come from this run or the previous run's set is left as it
    was (see ``report.report_set``); ``skipped_files.txt`` (``PATH<TAB>REASON`` lines) only
    when something was skipped. ``run.json``'s ``elapsed_s`` runs from the start of the
    run (``result.clock``) to the moment it is written, after every other file.

    Raises:
        ReportError: the set could not be written (the reason and folder are named).
    """
    from ocularseg.pipeline.pages import RunTables, remove_pages, write_pages
    from ocularseg.report.report_set import write_report_set
    from ocularseg.report.summary import mark_used, summarise
    from ocularseg.report.tables import errors_frame, measurements_frame, warnings_frame
    from ocularseg.stages.measure import MEASUREMENT_COLUMNS

    clock = result.clock
    params = result.report_params
    measurements = mark_used(measurements_frame(result.rows, MEASUREMENT_COLUMNS), params)
    summary = summarise(
        measurements, params, frame_counts={r.label: r.frame_counts() for r in result.inputs}
    )
    tables = RunTables(
        measurements, summary, errors_frame(result.errors), warnings_frame(result.warnings)
    )
    charts: dict[str, Path] = {}
    if result.pages:
        charts = write_pages(
            result.out_dir,
            result.inputs,
            tables,
            _page_context(result),
            resumed=set(result.resumed),
            on_page=_pages_callback(on_phase),
        )
    else:
        remove_pages(result.out_dir, result.inputs)
    writers = _set_writers(result, tables, charts)

    def write_run_json(path: Path, hashes: dict[str, str]) -> None:
        elapsed_s = clock.elapsed_s()
        clock.reports_s = elapsed_s - clock.setup_s - clock.analysis_s
        result.run_info["elapsed_s"] = round(elapsed_s, 3)
        result.run_info["phases_s"] = clock.phases_s()
        result.run_info["report_files"] = hashes
        write_json_atomic(path, result.run_info)

    write_report_set(result.out_dir, writers, RUN_JSON, write_run_json, previous=REPORT_FILES)


def _set_writers(result: AnalysisResult, tables, charts: dict[str, Path]):
    """The writers of the report set's files (``REPORT_FILES``), by file name."""
    from ocularseg.report.tables import write_csv
    from ocularseg.report.xlsx import write_xlsx

    params = result.report_params
    writers: dict[str, Callable[[Path], None]] = {
        "measurements.csv": lambda p: write_csv(p, tables.measurements),
        "summary.csv": lambda p: write_csv(p, tables.summary),
        "errors.csv": lambda p: write_csv(p, tables.errors),
        "warnings.csv": lambda p: write_csv(p, tables.warnings),
    }
    if result.skipped_files:
        text = "".join(f"{s.line()}\n" for s in result.skipped_files)
        writers["skipped_files.txt"] = lambda p: p.write_text(text, encoding="utf-8")
    writers["report.xlsx"] = lambda p: write_xlsx(
        p,
        tables.summary,
        tables.measurements,
        tables.errors,
        result.run_info,
        extra_sheets={"warnings": tables.warnings},
        charts=charts,
        params=params,
    )
    return writers


def _pages_callback(on_phase: PhaseCallback | None) -> Callable[[int, int], None] | None:
    if on_phase is None:
        return None
    return lambda done, total: on_phase(RunPhase.DRAWING_REPORTS, done, total)


def _page_context(result: AnalysisResult):
    """The run-wide facts every page prints, from ``result.run_info``."""
    from ocularseg.report.page import PageContext
    from ocularseg.report.unreliable import run_marks

    info = result.run_info or {}
    model = info.get("model") or {}
    return PageContext(
        provenance=str(info.get("model_provenance") or ""),
        unreliable_classes=run_marks(info),
        version=str(info.get("ocularseg_version") or __version__),
        model_sha256=str(model.get("sha256") or ""),
        created_utc=str(info.get("created_utc") or ""),
        params=result.report_params,
    )
