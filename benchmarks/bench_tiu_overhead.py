"""Overhead of the TIU loss over plain cross-entropy in a CPU training step.

Times a full step (forward, loss, backward, Adam update) of a U-Net on a batch of
480×320 crops with ``ce`` and with ``ce+tiu``, interleaved so both see the same machine
load, and the loss alone (forward + backward on fixed logits). Prints medians and ratios
of process CPU time (robust to other processes on a shared machine).

Usage::

    python benchmarks/bench_tiu_overhead.py [--batch 8] [--repeats 5] [--threads 1]

Uses ``ocularseg.training.models.build_model("unet")`` when it imports, otherwise a small
stand-in U-Net defined here (said in the output). ``--threads 1`` (the default) pins
torch to one thread so the numbers are stable on a shared machine. glibc returns large
buffers to the OS on every free, so page faults can dominate a CPU step; for stable
numbers run with ``MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=68719476736``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from ocularseg.training.losses import build_loss


class _TinyUNet(nn.Module):
    """Stand-in two-level U-Net (16/32/64 channels) for when the models module is absent."""

    def __init__(self, classes: int = 5) -> None:
        super().__init__()

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(),
                nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU(),
            )  # fmt: skip

        self.down1, self.down2, self.bottom = block(3, 16), block(16, 32), block(32, 64)
        self.up2, self.dec2 = nn.ConvTranspose2d(64, 32, 2, stride=2), block(64, 32)
        self.up1, self.dec1 = nn.ConvTranspose2d(32, 16, 2, stride=2), block(32, 16)
        self.head = nn.Conv2d(16, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d1 = self.down1(x)
        d2 = self.down2(nn.functional.max_pool2d(d1, 2))
        b = self.bottom(nn.functional.max_pool2d(d2, 2))
        u2 = self.dec2(torch.cat([d2, self.up2(b)], 1))
        return self.head(self.dec1(torch.cat([d1, self.up1(u2)], 1)))


def _model() -> tuple[nn.Module, str]:
    try:
        from ocularseg.training.models import build_model

        return build_model("unet"), "ocularseg UNet (defaults)"
    except Exception as error:  # noqa: BLE001 - any import/build failure → stand-in
        return _TinyUNet(), f"stand-in tiny U-Net (models unavailable: {error!r})"


def _eye_labels(batch: int, height: int, width: int) -> torch.Tensor:
    """A drawn eye (opening, iris, pupil) per sample, so the relation term has real work."""
    yy, xx = np.mgrid[0:height, 0:width]
    t = 1 - ((xx - width / 2) / (0.42 * width)) ** 2
    opening = (
        (t > 0) & (yy > 0.5 * height - 0.23 * height * t) & (yy < 0.5 * height + 0.17 * height * t)
    )
    labels = np.where(opening, 1, 0)
    r2 = (yy - 0.5 * height) ** 2 + (xx - 0.5 * width) ** 2
    labels[opening & (r2 <= (0.19 * height) ** 2)] = 2
    labels[opening & (r2 <= (0.075 * height) ** 2)] = 3
    return torch.from_numpy(np.repeat(labels[None], batch, axis=0)).long()


def _median_time(fn: Callable[[], None], repeats: int) -> list[float]:
    """Process CPU seconds of each of ``repeats`` calls.

    CPU time, not wall time: on a shared machine other processes' load inflates wall
    time at random, while this process's own CPU time (one thread) is what the loss costs.
    """
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--height", type=int, default=320)
    parser.add_argument("--width", type=int, default=480)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    model, model_name = _model()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-4)
    images = torch.randn(args.batch, 3, args.height, args.width)
    target = _eye_labels(args.batch, args.height, args.width)
    losses = {"ce": build_loss("ce"), "ce+tiu": build_loss("ce+tiu")}

    def step(loss: nn.Module) -> None:
        optimiser.zero_grad(set_to_none=True)
        loss(model(images), target).backward()
        optimiser.step()

    step(losses["ce"])  # warm-up (allocations, kernel selection)
    step_times: dict[str, list[float]] = {name: [] for name in losses}
    for _ in range(args.repeats):
        for name, loss in losses.items():
            step_times[name] += _median_time(lambda loss=loss: step(loss), 1)

    logits = torch.randn(args.batch, 5, args.height, args.width, requires_grad=True)

    def loss_only(loss: nn.Module) -> None:
        loss(logits, target).backward()
        logits.grad = None

    loss_times = {
        name: _median_time(lambda loss=loss: loss_only(loss), max(5, args.repeats))
        for name, loss in losses.items()
    }

    print(
        f"model: {model_name}; batch {args.batch} x 3 x {args.height} x {args.width}, "
        f"{args.threads} thread(s), torch {torch.__version__}"
    )
    step_ce, step_tiu = (statistics.median(step_times[n]) for n in ("ce", "ce+tiu"))
    loss_ce, loss_tiu = (statistics.median(loss_times[n]) for n in ("ce", "ce+tiu"))
    overhead = 100 * (step_tiu / step_ce - 1)
    print(
        f"training step (CPU s)  ce: {step_ce:8.3f} s   ce+tiu: {step_tiu:8.3f} s   "
        f"overhead {overhead:+.1f} %  (median of {args.repeats})"
    )
    for name, times in step_times.items():
        print(f"  step times {name:7s} " + " ".join(f"{t:.3f}" for t in times))
    extra = 100 * (loss_tiu - loss_ce) / step_ce
    print(
        f"loss fwd+bwd (CPU ms) ce: {1000 * loss_ce:6.1f}  ce+tiu: {1000 * loss_tiu:6.1f}  "
        f"TIU extra = {extra:.1f} % of a ce step"
    )


if __name__ == "__main__":
    main()
