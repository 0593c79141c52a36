"""The training loop: data, model, loss, Adam, schedule, validation, checkpoints, metrics.

A run folder holds::

    RUN/
      train_config.json          effective configuration (every field)
      checkpoints/last.safetensors, last_state.pt   for --resume (weights; optimizer state)
      checkpoints/best.safetensors                  best validation Dice so far
      metrics.csv, curve.png                        one row / point per epoch
      run.json                                      versions, device, git commit, timings

``last_state.pt`` holds only tensors and numbers (optimizer, scheduler, epoch counters) and
is read back with ``torch.load(weights_only=True)``; model weights are safetensors.
"""

from __future__ import annotations

import logging
import math
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler, WeightedRandomSampler

from ocularseg import __version__
from ocularseg.core.errors import ConfigError, DataError
from ocularseg.core.labels import NUM_CLASSES, Label, PartialLabel
from ocularseg.data.manifest import ManifestRow, read_manifest
from ocularseg.io.atomic import atomic_path, write_json_atomic, write_text_atomic
from ocularseg.training import distributed as dist_utils
from ocularseg.training.config import TrainConfig
from ocularseg.training.dataset import (
    DISC_UNKNOWN,
    EyeSegmentationDataset,
    MixedDataset,
    mixing_weights,
    subsample_subjects,
)
from ocularseg.training.losses import build_loss
from ocularseg.training.models import build_model
from ocularseg.training.models.io import load_weights, save_weights
from ocularseg.training.source_version import git_commit

log = logging.getLogger(__name__)

#: Unions scored on validation samples with silver (partial) labels: real eyes.
UNION_NAMES: tuple[str, ...] = ("opening", "iris_disc")

METRIC_COLUMNS: tuple[str, ...] = (
    "epoch",
    "train_loss",
    "val_loss",
    "val_dice_mean",
    *(f"val_dice_{label.name.lower()}" for label in Label if label != Label.BACKGROUND),
    *(f"val_dice_real_{name}" for name in UNION_NAMES),
    "learning_rate",
    "seconds",
)


@dataclass
class TrainResult:
    """What a finished run produced."""

    run_dir: Path
    best_val_dice: float
    best_epoch: int
    epochs_run: int
    history: list[dict[str, float]] = field(default_factory=list)


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when present, else CPU; ``cuda`` without a GPU is a config error."""
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was requested but no CUDA GPU is available")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def split_train_val(
    rows: list[ManifestRow], val_fraction: float, seed: int
) -> tuple[list[ManifestRow], list[ManifestRow]]:
    """Training and validation rows, never sharing a subject.

    Uses the manifest's ``train``/``val`` splits when any row has one (``test`` rows are never
    used for training); otherwise holds out a seeded ``val_fraction`` of the subjects.
    """
    if any(row.split for row in rows):
        train = [r for r in rows if r.split == "train"]
        val = [r for r in rows if r.split == "val"]
    else:
        subjects = sorted({r.subject for r in rows})
        n_val = int(round(val_fraction * len(subjects)))
        if val_fraction > 0 and len(subjects) > 1:
            n_val = min(max(1, n_val), len(subjects) - 1)
        rng = np.random.default_rng([seed, 1])
        val_subjects = set(rng.permutation(np.array(subjects, dtype=object))[:n_val])
        train = [r for r in rows if r.subject not in val_subjects]
        val = [r for r in rows if r.subject in val_subjects]
    if not train:
        raise DataError("no training images: the manifest has no 'train' rows or too few subjects")
    return train, val


def amodal_disc_loss(logit: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy of the whole-iris logit (B, H, W) over known pixels.

    ``target`` (B, H, W) holds 1 inside the disc, 0 outside and ``DISC_UNKNOWN`` where it
    is not known (not trained); 0 when no pixel is known.
    """
    known = target != DISC_UNKNOWN
    if not bool(known.any()):
        return logit.sum() * 0.0
    return torch.nn.functional.binary_cross_entropy_with_logits(
        logit[known], target[known].to(logit.dtype)
    )


@dataclass(frozen=True)
class _TrainingData:
    """The rows and datasets of a run: its main dataset and every ``extra_data`` one."""

    train_rows: list[ManifestRow]
    val_rows: list[ManifestRow]
    train_set: EyeSegmentationDataset | MixedDataset
    val_set: EyeSegmentationDataset | MixedDataset
    #: Per-sample sampling weights of the mixed training set; None without extra data.
    mixing: np.ndarray | None


def _source_rows(
    config: TrainConfig,
) -> tuple[list[tuple[Path, list[ManifestRow], float]], list[tuple[Path, list[ManifestRow]]]]:
    """``(root, train rows, batch share)`` and ``(root, val rows)`` of every dataset."""
    rows = read_manifest(config.data)
    train_rows, val_rows = split_train_val(rows, config.val_fraction, config.seed)
    train_rows = subsample_subjects(train_rows, config.train_fraction, config.seed)
    parts_train = [(config.data, train_rows, config.data_share)]
    parts_val = [(config.data, val_rows)]
    for extra in config.extra_data:
        extra_rows = read_manifest(extra.path)
        parts_train.append(
            (extra.path, [r for r in extra_rows if r.split in ("train", "")], extra.share)
        )
        parts_val.append((extra.path, [r for r in extra_rows if r.split == "val"]))
    return parts_train, parts_val


def _training_data(config: TrainConfig) -> _TrainingData:
    """Reads the manifests and builds the training and validation sets."""
    parts_train, parts_val = _source_rows(config)
    train_parts = [
        EyeSegmentationDataset(
            root,
            rows,
            augment=config.augment,
            seed=config.seed + 7919 * i,
            crop_hw=config.crop_hw,
            input_scale=config.input_scale,
            prior=config.prior,
            amodal_disc=config.amodal_disc is not None,
        )
        for i, (root, rows, _) in enumerate(parts_train)
    ]
    # Validation sees every real crop with its landmarks (template_share 0): what
    # analyze does; the template-only case is scored by the real-set evaluation.
    val_prior = (
        None if config.prior is None else config.prior.model_copy(update={"template_share": 0.0})
    )
    val_parts = [
        EyeSegmentationDataset(
            root,
            rows,
            input_scale=config.input_scale,
            prior=val_prior,
            amodal_disc=config.amodal_disc is not None,
        )
        for root, rows in parts_val
    ]
    train_rows = [row for _, rows, _ in parts_train for row in rows]
    val_rows = [row for _, rows in parts_val for row in rows]
    if not config.extra_data:
        return _TrainingData(train_rows, val_rows, train_parts[0], val_parts[0], None)
    mixing = mixing_weights([len(p) for p in train_parts], [share for _, _, share in parts_train])
    return _TrainingData(
        train_rows, val_rows, MixedDataset(train_parts), MixedDataset(val_parts), mixing
    )


def _checked_model(config: TrainConfig) -> torch.nn.Module:
    """The configured network, its input and output channels checked against the data."""
    model = build_model(config.model.name, **config.model.options)
    expected_outputs = NUM_CLASSES + (config.amodal_disc is not None)
    if int(getattr(model, "num_classes", NUM_CLASSES)) != expected_outputs:
        raise ConfigError(
            f"model has num_classes {model.num_classes} but the training gives "
            f"{expected_outputs} outputs ({NUM_CLASSES} classes"
            f"{' + the amodal iris disc' if config.amodal_disc else ''}); set "
            f"model.options.num_classes: {expected_outputs}"
        )
    expected_channels = 3 + (config.prior is not None)
    if model.in_channels != expected_channels:
        raise ConfigError(
            f"model has in_channels {model.in_channels} but the data give "
            f"{expected_channels} (RGB{' + landmark prior' if config.prior else ''}); set "
            f"model.options.in_channels: {expected_channels}"
        )
    return model


class Trainer:
    """Runs one training configuration. Build with a config, then call :meth:`fit`."""

    def __init__(self, config: TrainConfig, *, show_progress: bool = True) -> None:
        self.config = config
        self.device = resolve_device(config.device)
        self.dist = dist_utils.init_distributed(self.device)
        if self.dist.enabled and self.device.type == "cuda":
            self.device = torch.device("cuda", self.dist.local_rank)
        self.show_progress = show_progress and self.dist.is_main
        self.run_dir = Path(config.out)
        self.ckpt_dir = self.run_dir / "checkpoints"
        torch.manual_seed(config.seed)  # model initialisation

        data = _training_data(config)
        self.train_rows, self.val_rows = data.train_rows, data.val_rows
        self.train_set, self.val_set = data.train_set, data.val_set
        self.mixing: np.ndarray | None = data.mixing

        self.model = _checked_model(config).to(self.device)
        if config.init is not None:
            # An RGB model may be fine-tuned into one with the landmark-prior channel: its
            # first convolution gains a zero-initialised input channel.
            load_weights(
                self.model,
                _weights_file(config.init),
                grow_input_channels=config.prior is not None,
                grow_output_channels=config.amodal_disc is not None,
            )
        self.loss_fn = build_loss(config.loss.name, **config.loss.options)
        self.optimizer = torch.optim.Adam(
            self.model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self._lr_factor)
        self.use_amp = config.amp and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.net: torch.nn.Module = self.model
        if self.dist.enabled:
            self.net = torch.nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None
            )

    # -- loss -----------------------------------------------------------------------------
    def _loss(self, logits: torch.Tensor, targets: torch.Tensor, epoch: int) -> torch.Tensor:
        """The configured class loss, plus the amodal-disc loss when the model has one.

        ``targets``: (B, H, W) labels, or (B, 2, H, W) labels and whole-iris target.
        """
        if self.config.amodal_disc is None:
            return self.loss_fn(logits, targets, epoch=epoch)
        labels, disc = targets[:, 0], targets[:, 1]
        loss = self.loss_fn(logits[:, :NUM_CLASSES], labels, epoch=epoch)
        return loss + self.config.amodal_disc.weight * amodal_disc_loss(
            logits[:, NUM_CLASSES], disc
        )

    # -- schedule -------------------------------------------------------------------------
    def _lr_factor(self, epoch: int) -> float:
        total = self.config.epochs
        if self.config.lr_schedule == "cosine":
            return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(epoch, total) / total))
        if self.config.lr_schedule == "step":
            return 0.1 if epoch >= (2 * total) // 3 else 1.0
        return 1.0

    # -- loaders --------------------------------------------------------------------------
    def _loader(self, dataset: Any, *, shuffle: bool, epoch: int) -> DataLoader:
        sampler = None
        if shuffle and self.mixing is not None:
            # Mixed sources: each batch draws its configured shares, with replacement, from
            # an epoch-seeded generator (so a resumed run sees the same batches).
            steps = self.config.max_steps_per_epoch or max(
                1, len(dataset.parts[0]) // self.config.batch_size
            )
            sampler = WeightedRandomSampler(
                torch.as_tensor(self.mixing, dtype=torch.float64),
                num_samples=steps * self.config.batch_size,
                replacement=True,
                generator=torch.Generator().manual_seed(self.config.seed * 1000 + epoch + 17),
            )
        elif self.dist.enabled:
            sampler = DistributedSampler(dataset, shuffle=shuffle, seed=self.config.seed)
            sampler.set_epoch(epoch)
        generator = torch.Generator().manual_seed(self.config.seed * 1000 + epoch)
        return DataLoader(
            dataset,
            batch_size=self.config.batch_size,
            shuffle=shuffle and sampler is None,
            sampler=sampler,
            num_workers=self.config.num_workers,
            generator=generator,
            drop_last=False,
            pin_memory=self.device.type == "cuda",
        )

    # -- one epoch ------------------------------------------------------------------------
    def _train_epoch(self, epoch: int, progress: Any) -> float:
        self.net.train()
        self.train_set.set_epoch(epoch)
        loader = self._loader(self.train_set, shuffle=True, epoch=epoch)
        steps = len(loader)
        if self.config.max_steps_per_epoch is not None:
            steps = min(steps, self.config.max_steps_per_epoch)
        task = progress.add_task(f"epoch {epoch + 1}", total=steps) if progress else None
        total, count = torch.zeros((), dtype=torch.float64), 0
        for step, (images, labels) in enumerate(loader):
            if step >= steps:
                break
            images = images.to(self.device, non_blocking=True)
            labels = labels.to(self.device, non_blocking=True)
            self.optimizer.zero_grad(set_to_none=True)
            with torch.autocast(self.device.type, enabled=self.use_amp):
                logits = self.net(images)
            loss = self._loss(logits.float(), labels, epoch)
            if not torch.isfinite(loss):
                raise DataError(f"training loss became {loss.item()} at epoch {epoch + 1}")
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            total += loss.detach().double().cpu() * images.shape[0]
            count += images.shape[0]
            if task is not None:
                progress.update(task, advance=1)
        if task is not None:
            progress.remove_task(task)
        self.scheduler.step()
        summed = dist_utils.all_reduce_sum(
            torch.tensor([total.item(), count], dtype=torch.float64), self.dist
        )
        return float(summed[0] / max(summed[1], 1))

    @torch.no_grad()
    def validate(self, epoch: int) -> tuple[float, np.ndarray]:
        """Mean validation loss and pooled Dice over the val set.

        Returns ``(loss, dice)`` with ``dice`` of length ``NUM_CLASSES + 2``: classes 0..4
        pooled over fully labelled samples (phantoms, imported annotations), then the
        opening and the iris disc pooled over silver-labelled samples (real eyes, whose
        teacher knows only these unions). Pooled = sum of intersections / sum of sizes:
        cheap, stable on small sets, and what early stopping needs; per-image Dice with
        confidence intervals is ``ocularseg evaluate``'s job.
        """
        self.net.eval()
        n_scores = NUM_CLASSES + len(UNION_NAMES)
        stats = torch.zeros(2 + 3 * n_scores, dtype=torch.float64)
        if len(self.val_set):
            loader = self._loader(self.val_set, shuffle=False, epoch=epoch)
            for images, labels in loader:
                images, labels = images.to(self.device), labels.to(self.device)
                with torch.autocast(self.device.type, enabled=self.use_amp):
                    logits = self.net(images)
                loss = self._loss(logits.float(), labels, epoch)
                if self.config.amodal_disc is not None:
                    labels, logits = labels[:, 0], logits[:, :NUM_CLASSES]
                pred = logits.argmax(dim=1)
                stats[0] += float(loss) * images.shape[0]
                stats[1] += images.shape[0]
                full = (labels < NUM_CLASSES).flatten(1).all(dim=1)
                pairs = [(pred[full] == c, labels[full] == c) for c in range(NUM_CLASSES)]
                silver = ~full
                p_s, l_s = pred[silver], labels[silver]
                pairs += [
                    (p_s > 0, (l_s > 0) & (l_s != PartialLabel.IGNORE)),
                    (
                        (p_s == Label.IRIS) | (p_s == Label.PUPIL),
                        (l_s == PartialLabel.IRIS_DISC)
                        | (l_s == Label.IRIS)
                        | (l_s == Label.PUPIL),
                    ),
                ]
                for k, (p, r) in enumerate(pairs):
                    stats[2 + k] += float((p & r).sum())
                    stats[2 + n_scores + k] += float(p.sum())
                    stats[2 + 2 * n_scores + k] += float(r.sum())
        stats = dist_utils.all_reduce_sum(stats, self.dist)
        n = stats[1].item()
        inter = stats[2 : 2 + n_scores].numpy()
        ref_sizes = stats[2 + 2 * n_scores :].numpy()
        sizes = stats[2 + n_scores : 2 + 2 * n_scores].numpy() + ref_sizes
        with np.errstate(invalid="ignore", divide="ignore"):
            dice = np.where(ref_sizes > 0, 2 * inter / sizes, np.nan)
        return (stats[0].item() / n if n else float("nan")), dice

    # -- checkpoints ----------------------------------------------------------------------
    def _metadata(self, epoch: int) -> dict[str, str]:
        # save_weights itself records the model's name and config (ocularseg.model/.config).
        return {"epoch": str(epoch), "ocularseg_version": __version__}

    def _save_checkpoint(self, epoch: int, best: dict[str, float], is_best: bool) -> None:
        if not self.dist.is_main:
            return
        save_weights(self.model, self.ckpt_dir / "last.safetensors", self._metadata(epoch))
        state = {
            "epoch": epoch,
            "best_dice": best["dice"],
            "best_epoch": best["epoch"],
            "epochs_without_improvement": best["stale"],
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
        }
        with atomic_path(self.ckpt_dir / "last_state.pt") as tmp:
            torch.save(state, tmp)
        if is_best:
            save_weights(self.model, self.ckpt_dir / "best.safetensors", self._metadata(epoch))

    def _resume(self) -> tuple[int, dict[str, float], list[dict[str, float]]]:
        weights = self.ckpt_dir / "last.safetensors"
        state_path = self.ckpt_dir / "last_state.pt"
        if not (weights.is_file() and state_path.is_file()):
            raise ConfigError(f"--resume: no checkpoint in {self.ckpt_dir}")
        load_weights(self.model, weights)
        state = torch.load(state_path, map_location=self.device, weights_only=True)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        best = {
            "dice": float(state["best_dice"]),
            "epoch": int(state["best_epoch"]),
            "stale": int(state["epochs_without_improvement"]),
        }
        history = _read_metrics(self.run_dir / "metrics.csv")[: int(state["epoch"]) + 1]
        return int(state["epoch"]) + 1, best, history

    # -- the run --------------------------------------------------------------------------
    def fit(self, *, resume: bool = False) -> TrainResult:
        """Train until ``epochs`` or early stopping; returns the best validation Dice."""
        config = self.config
        start_epoch, best, history = self._start(resume)
        log.info(
            "training %s with %s on %s: %d train / %d val images",
            config.model.name,
            config.loss.name,
            self.device,
            len(self.train_set),
            len(self.val_set),
        )
        progress = _progress() if self.show_progress else None
        epoch = start_epoch - 1
        try:
            if progress:
                progress.start()
            for epoch in range(start_epoch, config.epochs):
                history.append(self._run_epoch(epoch, progress))
                self._record_epoch(epoch, history, best)
                patience = config.early_stopping_patience
                if patience and best["stale"] >= patience:
                    log.info("early stopping: %d epochs without a better val Dice", patience)
                    break
        finally:
            if progress:
                progress.stop()
            dist_utils.barrier(self.dist)
        return TrainResult(
            run_dir=self.run_dir,
            best_val_dice=best["dice"] if len(self.val_set) else float("nan"),
            best_epoch=best["epoch"] + 1,
            epochs_run=epoch + 1 - start_epoch,
            history=history,
        )

    def _start(self, resume: bool) -> tuple[int, dict[str, float], list[dict[str, float]]]:
        """First epoch, best-so-far and history (resumed or new); writes the config."""
        start_epoch, history = 0, []
        best = {"dice": -1.0, "epoch": -1, "stale": 0}
        if resume:
            start_epoch, best, history = self._resume()
        elif self.dist.is_main and (self.ckpt_dir / "last.safetensors").exists():
            raise ConfigError(
                f"{self.run_dir} already holds a run: pass --resume to continue it or choose "
                "another 'out' folder"
            )
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            write_json_atomic(
                self.run_dir / "train_config.json", self.config.model_dump(mode="json")
            )
            self._write_run_json(history, best, started=True)
        return start_epoch, best, history

    def _run_epoch(self, epoch: int, progress: Any) -> dict[str, float]:
        """Trains and validates one epoch; its row of ``metrics.csv``."""
        began = time.perf_counter()
        lr = self.optimizer.param_groups[0]["lr"]
        train_loss = self._train_epoch(epoch, progress)
        val_loss, dice = self.validate(epoch)
        fg = dice[1:]  # foreground classes, then the real-eye unions
        mean_dice = float(np.nanmean(fg)) if np.isfinite(fg).any() else float("nan")
        row = {
            "epoch": epoch + 1,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "val_dice_mean": mean_dice,
            "learning_rate": lr,
            "seconds": time.perf_counter() - began,
        }
        for label in Label:
            if label != Label.BACKGROUND:
                row[f"val_dice_{label.name.lower()}"] = float(dice[int(label)])
        for k, name in enumerate(UNION_NAMES):
            row[f"val_dice_real_{name}"] = float(dice[NUM_CLASSES + k])
        return row

    def _record_epoch(
        self, epoch: int, history: list[dict[str, float]], best: dict[str, float]
    ) -> None:
        """Updates ``best`` from the last row of ``history``; checkpoints and writes it."""
        row = history[-1]
        mean_dice = row["val_dice_mean"]
        # Without a validation set, the latest epoch counts as the best.
        score = mean_dice if math.isfinite(mean_dice) else float(epoch)
        is_best = score > best["dice"]
        if is_best:
            best.update(dice=score, epoch=epoch, stale=0)
        else:
            best["stale"] += 1
        self._save_checkpoint(epoch, best, is_best)
        if self.dist.is_main:
            _write_metrics(self.run_dir / "metrics.csv", history)
            _plot_curves(self.run_dir / "curve.png", history)
            self._write_run_json(history, best, started=False)
            log.info(
                "epoch %d: train loss %.4f, val Dice %.4f", epoch + 1, row["train_loss"], mean_dice
            )

    def _write_run_json(self, history, best, *, started: bool) -> None:
        write_json_atomic(
            self.run_dir / "run.json",
            {
                "ocularseg_version": __version__,
                "torch_version": torch.__version__,
                "python": platform.python_version(),
                "device": str(self.device),
                "world_size": self.dist.world_size,
                "git_commit": git_commit(),
                "train_images": len(self.train_set),
                "val_images": len(self.val_set),
                "train_subjects": len({r.subject for r in self.train_rows}),
                "val_subjects": len({r.subject for r in self.val_rows}),
                "epochs_done": len(history),
                "best_epoch": best["epoch"] + 1,
                "best_val_dice_mean": best["dice"] if history and len(self.val_set) else None,
                "total_seconds": sum(h["seconds"] for h in history),
                "status": "running" if started else "ok",
            },
        )


def train(config: TrainConfig, *, resume: bool = False, show_progress: bool = True) -> TrainResult:
    """Build a :class:`Trainer` and run it (the Python entry point of ``ocularseg train``)."""
    trainer = Trainer(config, show_progress=show_progress)
    try:
        return trainer.fit(resume=resume)
    finally:
        dist_utils.shutdown(trainer.dist)


def _weights_file(init: Path) -> Path:
    """A safetensors file from ``init``: a file, a run folder or a model folder."""
    candidates = [init, init / "checkpoints" / "best.safetensors", init / "model.safetensors"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"--init {init}: no weights found (expected a .safetensors file, a run folder with "
        "checkpoints/best.safetensors, or a model folder with model.safetensors)"
    )


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    )


def _write_metrics(path: Path, history: list[dict[str, float]]) -> None:
    lines = [",".join(METRIC_COLUMNS)]
    for row in history:
        lines.append(",".join(_fmt(row.get(col, float("nan"))) for col in METRIC_COLUMNS))
    write_text_atomic(path, "\n".join(lines) + "\n")


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e12 else f"{value:.6g}"


def _read_metrics(path: Path) -> list[dict[str, float]]:
    if not path.is_file():
        return []
    lines = path.read_text().strip().splitlines()
    header = lines[0].split(",")
    return [dict(zip(header, map(float, line.split(",")), strict=True)) for line in lines[1:]]


def _plot_curves(path: Path, history: list[dict[str, float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_dice) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    ax_loss.plot(epochs, [h["train_loss"] for h in history], "o-", label="train")
    ax_loss.plot(epochs, [h["val_loss"] for h in history], "s-", label="validation")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="Loss")
    ax_loss.legend()
    for label in Label:
        if label != Label.BACKGROUND:
            key = f"val_dice_{label.name.lower()}"
            ax_dice.plot(epochs, [h[key] for h in history], "o-", label=label.name.lower())
    for name in UNION_NAMES:
        values = [h.get(f"val_dice_real_{name}", float("nan")) for h in history]
        if np.isfinite(values).any():
            ax_dice.plot(epochs, values, "x:", label=f"real {name}")
    ax_dice.plot(epochs, [h["val_dice_mean"] for h in history], "k--", label="mean")
    ax_dice.set(xlabel="epoch", ylabel="Dice", title="Validation Dice (pooled)", ylim=(0, 1))
    ax_dice.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp)
    plt.close(fig)
