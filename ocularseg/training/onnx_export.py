"""Export a segmentation network to ONNX and check it against PyTorch.

The graph takes ``image``: float32 ``(batch, C, height, width)``, normalised RGB (C = 3) or
that and the landmark-prior channel (C = 4, ``core.eye_prior``), and returns
``logits``: float32 ``(batch, num_classes, height, width)``; the batch axis is dynamic,
height and width are fixed at export (480×320 px crops by default). Weights are stored
inside the ``.onnx`` file (no external data), so one file is the whole model.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ocularseg.core.errors import ModelError
from ocularseg.io.atomic import atomic_path
from ocularseg.io.model_store import ONNXRUNTIME_MISSING

logger = logging.getLogger(__name__)

INPUT_NAME = "image"
OUTPUT_NAME = "logits"
DEFAULT_OPSET = 18
#: Parity tolerances: largest allowed |PyTorch − ONNX| logit, smallest argmax agreement.
MAX_ABS_LOGIT_DIFF = 1e-3
MIN_ARGMAX_AGREEMENT = 0.999


@dataclass(frozen=True)
class ParityReport:
    """How closely ONNX Runtime reproduces PyTorch on one batch.

    Attributes:
        max_abs_logit_diff: Largest absolute logit difference over the batch.
        argmax_agreement: Fraction (0–1) of pixels whose arg-max class agrees.
        batch_size: Images in the batch compared.
        num_pixels: Pixels compared (batch × height × width).
    """

    max_abs_logit_diff: float
    argmax_agreement: float
    batch_size: int
    num_pixels: int


@contextlib.contextmanager
def _eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in eval mode for the block and restore its previous mode after."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence exporter chatter that is not about our model.

    Without torchvision installed the exporter warns once per torchvision operator it
    cannot register, and torch's own pytree code raises a deprecation FutureWarning; neither
    says anything about the graph being exported.
    """
    registration = logging.getLogger("torch.onnx._internal.exporter._registration")
    previous = registration.level
    registration.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*LeafSpec.*", category=FutureWarning)
            yield
    finally:
        registration.setLevel(previous)


def _model_device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def export_onnx(
    model: nn.Module,
    path: str | os.PathLike[str],
    *,
    height: int = 320,
    width: int = 480,
    opset: int = DEFAULT_OPSET,
    in_channels: int = 3,
) -> None:
    """Write ``model`` (in eval mode) as a self-contained ONNX file with a dynamic batch axis.

    The model's train/eval mode is restored afterwards. The file is written atomically and
    validated with ``onnx.checker``; call :func:`check_parity` to compare it with PyTorch.

    Args:
        model: Network mapping ``(B, in_channels, height, width)`` to
            ``(B, num_classes, height, width)`` logits.
        path: Target ``.onnx`` file; parent folders are created.
        height: Input height in pixels (fixed in the graph).
        width: Input width in pixels (fixed in the graph).
        opset: ONNX opset version.
        in_channels: Input channels: 3 (normalised RGB) or 4 (RGB + the landmark-prior
            channel of ``core.eye_prior``).

    Raises:
        ModelError: If export fails or the exported graph is invalid.
        InputSizeError: If ``height``/``width`` do not fit the network.
    """
    target = Path(path)
    # Batch 2 for tracing: torch.export specialises a dimension of size 1 to a constant.
    example = torch.zeros(2, in_channels, height, width, device=_model_device(model))
    with _eval_mode(model), atomic_path(target) as tmp:
        # Run once eagerly so a bad size fails with the network's own clear error
        # rather than deep inside the exporter.
        with torch.no_grad():
            model(example)
        _write_onnx(model, example, tmp, opset)
        _check_onnx_file(model, tmp)
    logger.info("exported %s to %s (opset %d)", type(model).__name__, target, opset)


def _write_onnx(model: nn.Module, example: torch.Tensor, tmp: Path, opset: int) -> None:
    """``torch.onnx.export`` (dynamo) of ``model`` to ``tmp``, batch axis dynamic."""
    batch = torch.export.Dim("batch", min=1, max=1024)
    try:
        with _quiet_exporter():
            torch.onnx.export(
                model,
                (example,),
                str(tmp),
                dynamo=True,
                opset_version=opset,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_shapes=({0: batch},),
                external_data=False,
                verbose=False,
            )
    except Exception as exc:
        raise ModelError(f"ONNX export of {type(model).__name__} failed: {exc}") from exc


def _check_onnx_file(model: nn.Module, tmp: Path) -> None:
    """Raise ``ModelError`` unless ``tmp`` is a non-empty graph that ``onnx.checker`` accepts."""
    import onnx

    if not tmp.is_file() or not tmp.stat().st_size:
        raise ModelError(f"ONNX export of {type(model).__name__} wrote an empty file")
    try:
        onnx.checker.check_model(str(tmp), full_check=True)
    except Exception as exc:
        raise ModelError(f"exported ONNX graph is invalid: {exc}") from exc


def onnx_logits(onnx_path: str | os.PathLike[str], batch: np.ndarray) -> np.ndarray:
    """Run an exported model on ``batch`` ``(B, C, H, W)`` float32 with ONNX Runtime (CPU).

    Returns:
        Logits ``(B, num_classes, H, W)`` float32.
    """
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise ModelError(ONNXRUNTIME_MISSING) from exc
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only; warnings about unused initialisers are noise
    try:
        session = ort.InferenceSession(
            str(onnx_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:
        raise ModelError(f"ONNX Runtime cannot load {onnx_path}: {exc}") from exc
    input_name = session.get_inputs()[0].name
    (logits,) = session.run(None, {input_name: np.ascontiguousarray(batch, dtype=np.float32)})
    return logits


def check_parity(
    model: nn.Module,
    onnx_path: str | os.PathLike[str],
    batch: torch.Tensor | np.ndarray,
    *,
    max_abs_logit_diff: float = MAX_ABS_LOGIT_DIFF,
    min_argmax_agreement: float = MIN_ARGMAX_AGREEMENT,
) -> ParityReport:
    """Run ``batch`` through ``model`` (eval mode) and the ONNX file; fail if they disagree.

    Args:
        model: The PyTorch network that was exported.
        onnx_path: The exported ``.onnx`` file.
        batch: Input ``(B, C, H, W)`` float as the model takes it, at the exported size.
        max_abs_logit_diff: Largest allowed absolute logit difference.
        min_argmax_agreement: Smallest allowed fraction (0–1) of pixels with equal arg-max.

    Returns:
        The measured :class:`ParityReport`.

    Raises:
        ModelError: If either tolerance is exceeded or the outputs differ in shape.
    """
    inputs = torch.as_tensor(np.asarray(batch) if not torch.is_tensor(batch) else batch)
    inputs = inputs.detach().to(torch.float32).cpu()
    if inputs.dim() != 4:
        raise ModelError(f"parity batch must be (B, C, H, W), got shape {tuple(inputs.shape)}")
    with _eval_mode(model), torch.no_grad():
        expected = model(inputs.to(_model_device(model))).float().cpu().numpy()
    actual = onnx_logits(onnx_path, inputs.numpy())
    if actual.shape != expected.shape:
        raise ModelError(
            f"ONNX output shape {actual.shape} differs from PyTorch {expected.shape} "
            f"for input {tuple(inputs.shape)}"
        )
    diff = float(np.max(np.abs(actual.astype(np.float64) - expected))) if actual.size else 0.0
    agree = expected.argmax(axis=1) == actual.argmax(axis=1)
    report = ParityReport(
        max_abs_logit_diff=diff,
        argmax_agreement=float(agree.mean()) if agree.size else 1.0,
        batch_size=int(inputs.shape[0]),
        num_pixels=int(agree.size),
    )
    if not np.isfinite(diff) or diff > max_abs_logit_diff:
        raise ModelError(
            f"ONNX parity failed for {onnx_path}: max |Δlogit| {diff:.3g} exceeds "
            f"{max_abs_logit_diff:g}"
        )
    if report.argmax_agreement < min_argmax_agreement:
        raise ModelError(
            f"ONNX parity failed for {onnx_path}: arg-max agreement "
            f"{100 * report.argmax_agreement:.3f} % is below {100 * min_argmax_agreement:.1f} %"
        )
    logger.info(
        "ONNX parity on %d image(s): max |Δlogit| %.2e, arg-max agreement %.4f %%",
        report.batch_size,
        report.max_abs_logit_diff,
        100 * report.argmax_agreement,
    )
    return report
