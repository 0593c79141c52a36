"""Run an analysis over many inputs: error policy, resume, workers, reports, provenance.

Error policy: a problem with one input (unreadable file, no face, eyes never usable) is an
error row for that input and the run goes on; a problem with the run itself (bad options,
missing or corrupt model, unwritable output folder) stops before any input is touched.
"""

from __future__ import annotations

import logging
import os
import platform
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ocularseg import __version__
from ocularseg.core.errors import ConfigError, OcularsegError
from ocularseg.io.atomic import write_json_atomic, write_text_atomic
from ocularseg.io.model_folder import model_provenance
from ocularseg.io.model_store import models_dir, sha256_file
from ocularseg.pipeline.config import DEFAULT_MODEL_NAME, AnalyzeConfig
from ocularseg.pipeline.inputs import InputItem, discover_inputs
from ocularseg.pipeline.process import InputResult, load_result, process_input

log = logging.getLogger(__name__)

#: Called after each input: (done count, total, result).
ProgressCallback = Callable[[int, int, InputResult], None]


@dataclass
class AnalysisResult:
    """The outcome of :func:`run_analysis`."""

    out_dir: Path
    inputs: list[InputResult] = field(default_factory=list)
    skipped_files: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    run_info: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> list[InputResult]:
        return [r for r in self.inputs if r.failed]

    @property
    def exit_code(self) -> int:
        """0 when every input is complete, 1 when some failed."""
        return 1 if self.failed else 0

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [row for r in self.inputs for row in r.rows]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [e for r in self.inputs for e in r.errors]


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


# Worker-process state: one detector and one model session per process, loaded once.
_WORKER: dict[str, Any] = {}


def _init_worker(model_dir: str, config_json: str, threads: int | None) -> None:
    from ocularseg.stages.face import FaceDetector
    from ocularseg.stages.segment import Segmenter

    config = AnalyzeConfig.model_validate_json(config_json)
    _WORKER["config"] = config
    _WORKER["detector"] = FaceDetector(config.face)
    _WORKER["segmenter"] = Segmenter(
        model_dir, device=config.device, batch_size=config.batch_size, intra_op_threads=threads
    )


def _work(item: InputItem, out_dir: str, resume_key: str) -> InputResult:
    return process_input(
        item,
        detector=_WORKER["detector"],
        segmenter=_WORKER["segmenter"],
        config=_WORKER["config"],
        out_dir=Path(out_dir),
        resume_key=resume_key,
    )


def run_analysis(
    paths: list[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    config: AnalyzeConfig | None = None,
    *,
    resume: bool = False,
    jobs: int = 1,
    on_progress: ProgressCallback | None = None,
) -> AnalysisResult:
    """Analyse every input and write the reports into ``out_dir``.

    Raises:
        ConfigError / ModelError: the run cannot start (nothing is analysed).
    """
    config = config or AnalyzeConfig()
    out = Path(out_dir)
    if jobs < 1:
        raise ConfigError(f"--jobs must be >= 1, got {jobs}")
    items, skipped = discover_inputs(list(paths))
    check_out_dir(out)
    model_dir = resolve_model_dir(config)
    started = time.perf_counter()
    # Loading the model here (also when workers load their own) checks folder, JSON and
    # checksum once, before any input is touched.
    from ocularseg.stages.face import FaceDetector
    from ocularseg.stages.segment import Segmenter

    segmenter = Segmenter(model_dir, device=config.device, batch_size=config.batch_size)
    model_sha = segmenter.spec.sha256
    config_hash = config.content_hash()
    result = AnalysisResult(out_dir=out, skipped_files=skipped)
    todo: list[tuple[InputItem, str]] = []
    for item in items:
        try:
            content = sha256_file(item.path)
        except OSError:
            content = "unreadable"
        resume_key = f"{content}:{model_sha}:{config_hash}"
        saved = load_result(out, item) if resume else None
        # Only inputs that completed without errors count as done; failed ones are retried.
        if saved is not None and saved.resume_key == resume_key and not saved.failed:
            result.inputs.append(saved)
            result.resumed.append(item.label)
            if on_progress:
                on_progress(len(result.inputs), len(items), saved)
            continue
        todo.append((item, resume_key))

    if todo and jobs == 1:
        detector = FaceDetector(config.face)
        for item, resume_key in todo:
            done = _safe_process(
                lambda i=item, k=resume_key: process_input(
                    i,
                    detector=detector,
                    segmenter=segmenter,
                    config=config,
                    out_dir=out,
                    resume_key=k,
                ),
                item,
            )
            result.inputs.append(done)
            if on_progress:
                on_progress(len(result.inputs), len(items), done)
    elif todo:
        threads = max(1, (os.cpu_count() or 1) // jobs)
        with ProcessPoolExecutor(
            max_workers=jobs,
            initializer=_init_worker,
            initargs=(str(model_dir), config.model_dump_json(), threads),
        ) as pool:
            futures = [(item, pool.submit(_work, item, str(out), key)) for item, key in todo]
            for item, future in futures:
                done = _safe_process(future.result, item)
                result.inputs.append(done)
                if on_progress:
                    on_progress(len(result.inputs), len(items), done)

    order = {item.label: i for i, item in enumerate(items)}
    result.inputs.sort(key=lambda r: order.get(r.label, len(order)))
    result.run_info = _run_info(
        config, model_dir, segmenter, result, elapsed_s=time.perf_counter() - started
    )
    write_reports(result)
    return result


def _safe_process(call: Callable[[], InputResult], item: InputItem) -> InputResult:
    """Run one input; an unexpected failure becomes an error row, never a lost batch."""
    try:
        return call()
    except OcularsegError as exc:
        message = str(exc)
    except Exception as exc:  # a bug must not lose the other patients' results
        log.exception("unexpected failure on %s", item.label)
        message = f"{item.label}: internal error ({type(exc).__name__}: {exc})"
    failed = InputResult(label=item.label, key=item.key)
    failed.errors.append(
        {"input": item.label, "stage": "pipeline", "error": message, "frame_index": None}
    )
    return failed


def _run_info(config, model_dir, segmenter, result: AnalysisResult, *, elapsed_s: float):
    import onnxruntime

    timings: dict[str, float] = {}
    for r in result.inputs:
        for stage, seconds in r.timings_s.items():
            timings[stage] = round(timings.get(stage, 0.0) + seconds, 4)
    frames = sum(r.frames.get("analysed", 0) for r in result.inputs)
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
        "config": config.model_dump(mode="json"),
        "mode": config.mode,
        "inputs": len(result.inputs),
        "inputs_failed": [r.label for r in result.failed],
        "inputs_resumed": result.resumed,
        "skipped_files": result.skipped_files,
        "frames_analysed": frames,
        "timings_s": timings,
        "elapsed_s": round(elapsed_s, 3),
        "iris_diameter_mm": config.measure.iris_diameter_mm,
    }


def write_reports(result: AnalysisResult) -> None:
    """measurements.csv, summary.csv, errors.csv, report.xlsx, run.json and, per input,
    report.png / report.pdf (all atomic)."""
    from ocularseg.report.summary import mark_used, summarise
    from ocularseg.report.tables import errors_frame, measurements_frame, write_tables
    from ocularseg.report.xlsx import write_xlsx
    from ocularseg.stages.gates import EXCLUSION_TEXT
    from ocularseg.stages.measure import MEASUREMENT_COLUMNS

    out = result.out_dir
    measurements = mark_used(measurements_frame(result.rows, MEASUREMENT_COLUMNS))
    summary = summarise(measurements)
    errors = errors_frame(result.errors)
    write_tables(out, measurements, summary, errors)
    charts = _write_input_pages(result, measurements, summary, errors)
    write_xlsx(
        out / "report.xlsx",
        summary,
        measurements,
        errors,
        result.run_info,
        charts=charts,
        exclusion_text=EXCLUSION_TEXT,
    )
    write_json_atomic(out / "run.json", result.run_info)
    if result.skipped_files:
        write_text_atomic(out / "skipped_files.txt", "\n".join(result.skipped_files) + "\n")


def _write_input_pages(result: AnalysisResult, measurements, summary, errors) -> dict[str, Path]:
    """The one-page report of every input with rows or errors; returns its chart PNGs."""
    from ocularseg.report.page import PageContext, input_frames, write_input_report
    from ocularseg.stages.gates import EXCLUSION_TEXT

    info = result.run_info or {}
    model = info.get("model") or {}
    context = PageContext(
        provenance=str(info.get("model_provenance") or ""),
        version=str(info.get("ocularseg_version") or __version__),
        model_sha256=str(model.get("sha256") or ""),
        created_utc=str(info.get("created_utc") or ""),
        exclusion_text=EXCLUSION_TEXT,
    )
    charts: dict[str, Path] = {}
    for done in result.inputs:
        rows, eyes, problems = input_frames(measurements, summary, errors, done.label)
        if not len(rows):
            continue
        folder = result.out_dir / "inputs" / done.key
        paths = write_input_report(folder, result.out_dir, rows, eyes, problems, context)
        if "chart" in paths:
            charts[done.label] = paths["chart"]
    return charts
