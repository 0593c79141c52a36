"""Segmentation stage: a model folder -> one ONNX Runtime session -> label maps.

Split into ``model_input`` / ``_forward`` / ``_postprocess`` so the maths around the network
can be tested without one. Providers are chosen once per run: CUDA when present (and asked
for), else CPU; the chosen providers are recorded for the run's provenance.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from ocularseg.core.containers import SegmentationResult
from ocularseg.core.errors import ConfigError, InputError, ModelError
from ocularseg.io.model_folder import ModelSpec, load_model_spec, model_input, onnx_path
from ocularseg.io.model_store import CPU_PROVIDER, CUDA_PROVIDER, ONNXRUNTIME_MISSING

log = logging.getLogger(__name__)

Device = Literal["auto", "cpu", "cuda"]


def choose_providers(available: Sequence[str], device: str) -> list[str]:
    """ONNX Runtime providers for ``device`` given the ``available`` ones.

    Raises:
        ConfigError: ``device`` is unknown, or ``cuda`` was asked for but is not available.
    """
    if device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"--device must be auto, cpu or cuda, got {device!r}")
    has_cuda = CUDA_PROVIDER in available
    if device == "cuda" and not has_cuda:
        raise ConfigError(
            "--device cuda: ONNX Runtime has no CUDA provider here (install the [gpu] extra, "
            f"onnxruntime-gpu, and check the CUDA driver); available: {', '.join(available)}"
        )
    if device in ("cuda", "auto") and has_cuda:
        return [CUDA_PROVIDER, CPU_PROVIDER]
    return [CPU_PROVIDER]


class Segmenter:
    """Runs a model folder on eye crops. Build once per run; call :meth:`segment` per batch."""

    def __init__(
        self,
        model_dir: str | os.PathLike[str],
        *,
        device: Device = "auto",
        batch_size: int = 8,
        intra_op_threads: int | None = None,
    ) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ModelError(ONNXRUNTIME_MISSING) from exc
        if batch_size < 1:
            raise ConfigError(f"batch size must be >= 1, got {batch_size}")
        self.model_dir = Path(model_dir)
        self.spec: ModelSpec = load_model_spec(self.model_dir)
        self.batch_size = batch_size
        options = ort.SessionOptions()
        if intra_op_threads:
            options.intra_op_num_threads = intra_op_threads
        providers = choose_providers(ort.get_available_providers(), device)
        try:
            self.session = ort.InferenceSession(
                str(onnx_path(self.model_dir, self.spec)), options, providers=providers
            )
        except Exception as exc:  # onnxruntime raises its own unrelated exception types
            raise ModelError(
                f"{self.model_dir}: ONNX Runtime cannot load the model ({exc})"
            ) from exc
        self.providers: list[str] = list(self.session.get_providers())
        self.input_name = self.session.get_inputs()[0].name
        log.info("model %s on %s", self.spec.name, ", ".join(self.providers))

    # -- the three parts ------------------------------------------------------------------
    @property
    def has_amodal_disc(self) -> bool:
        """True when the model also predicts the whole iris disc (model.json output)."""
        return self.spec.output.amodal_iris_disc_channel is not None

    @property
    def uses_prior(self) -> bool:
        """True when the model takes the landmark-prior channel (model.json input.prior)."""
        return self.spec.input.prior is not None

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        """float32 (N, 3 or 4, H, W) (4 with the landmark prior) -> network output
        float32 (N, C', H, W): the class logits, then any further channels model.json
        ``output`` names."""
        return self.session.run(None, {self.input_name: batch})[0]

    @staticmethod
    def _postprocess(logits: np.ndarray) -> np.ndarray:
        """Class logits (N, C, H, W) -> arg-max labels uint8 (N, H, W).

        The arg-max runs channel by channel (the first of equal maxima wins, as with
        ``argmax``): a reduction over the strided class axis is several times slower.
        """
        best = logits[:, 0].copy()
        labels = np.zeros(best.shape, np.uint8)
        for channel in range(1, logits.shape[1]):
            higher = logits[:, channel] > best
            labels[higher] = channel
            np.maximum(best, logits[:, channel], out=best)
        return labels

    def _split_outputs(self, outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Network output (N, C', H, W) -> (class logits (N, C, H, W), amodal disc bool
        (N, H, W) or None), as model.json ``output`` says.

        Raises:
            ModelError: the output has fewer channels than the labels and outputs need.
        """
        classes = len(self.spec.labels)
        channel = self.spec.output.amodal_iris_disc_channel
        needed = max(classes, -1 if channel is None else channel + 1)
        if outputs.ndim != 4 or outputs.shape[1] < needed:
            raise ModelError(
                f"{self.model_dir}: the model's output has shape {outputs.shape}; model.json "
                f"needs {needed} channels ({classes} classes"
                + ("" if channel is None else f", amodal disc in channel {channel}")
                + ")"
            )
        disc = None if channel is None else outputs[:, channel] > 0
        return outputs[:, :classes], disc

    # -- public ---------------------------------------------------------------------------
    def segment(
        self,
        crops: Sequence[np.ndarray],
        eye_points: Sequence[np.ndarray | None] | None = None,
    ) -> list[SegmentationResult]:
        """Segment crops in batches of ``batch_size``; one result per crop, in order.

        ``eye_points`` (optional, per crop: dlib's six eye points in crop px or None) feed a
        model with a landmark prior; other models ignore them.
        """
        return self._run(crops, eye_points, with_mirror=False)[0]

    def segment_with_mirror(
        self,
        crops: Sequence[np.ndarray],
        eye_points: Sequence[np.ndarray | None] | None = None,
    ) -> tuple[list[SegmentationResult], list[SegmentationResult]]:
        """Segment crops and their left–right mirrors in one pass.

        The mirrored input is the crop's input flipped (normalisation and the landmark
        prior commute with the flip, so it equals the input of ``mirror(crop)`` with
        ``mirror_points``); each batch runs crops and mirrors through one network call.

        Returns:
            (results of the crops, results of the mirrored crops, still mirrored), in order.
        """
        return self._run(crops, eye_points, with_mirror=True)

    def _run(
        self,
        crops: Sequence[np.ndarray],
        eye_points: Sequence[np.ndarray | None] | None,
        *,
        with_mirror: bool,
    ) -> tuple[list[SegmentationResult], list[SegmentationResult]]:
        if eye_points is not None and len(eye_points) != len(crops):
            raise InputError(f"{len(eye_points)} eye-point sets for {len(crops)} crops")
        results: list[SegmentationResult] = []
        mirrored: list[SegmentationResult] = []
        for start in range(0, len(crops), self.batch_size):
            chunk = crops[start : start + self.batch_size]
            points = None if eye_points is None else eye_points[start : start + self.batch_size]
            batch = model_input(self.spec.input, chunk, points)
            if with_mirror:
                batch = np.concatenate([batch, batch[..., ::-1]])
            logits, disc = self._split_outputs(self._forward(np.ascontiguousarray(batch)))
            labels = self._postprocess(logits)
            found = [
                SegmentationResult(labels[i], amodal_disc=None if disc is None else disc[i])
                for i in range(len(batch))
            ]
            results.extend(found[: len(chunk)])
            mirrored.extend(found[len(chunk) :])
        return results, mirrored
