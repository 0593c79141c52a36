"""Which loss term pushes which class where? Per-term gradients on a checkpoint's logits.

For a trained checkpoint and a few test crops, prints for each loss term (weighted CE, the
TIU topology term in both forms, each TIU relation ×β) the sum of ``dL/dz_c`` over the
pixels whose reference class is ``c`` and over all other pixels, for one class ``c``.
Gradient descent moves a logit by ``−dL/dz``: a negative sum on the class's own pixels
means the term helps that class grow there. Used in docs/experiments.md ("TIU ablation").

    python benchmarks/tiu_gradients.py CHECKPOINT.safetensors --data runs/data/test500 \\
        [--class pupil] [--images 16] [--input-scale 0.4] [--beta 10]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from ocularseg.core.labels import NUM_CLASSES, Label
from ocularseg.data.manifest import read_manifest
from ocularseg.training.dataset import EyeSegmentationDataset
from ocularseg.training.losses import build_loss
from ocularseg.training.losses.tiu import relation_excess, topology_term
from ocularseg.training.models.io import load_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--class", dest="label", default="pupil")
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--input-scale", type=float, default=1.0)
    parser.add_argument("--beta", type=float, default=10.0)
    args = parser.parse_args()
    torch.set_num_threads(1)

    label = int(Label[args.label.upper()])
    model = load_model(args.checkpoint).eval()
    rows = read_manifest(args.data)[: args.images]
    data = EyeSegmentationDataset(args.data, rows, input_scale=args.input_scale)
    images = torch.stack([data[i][0] for i in range(len(rows))])
    target = torch.stack([data[i][1] for i in range(len(rows))])
    with torch.no_grad():
        logits = model(images)
    truth = torch.nn.functional.one_hot(target, NUM_CLASSES).permute(0, 3, 1, 2).float()
    ce = build_loss("ce", class_weights=[1, 1, 1, 1, 8])
    terms = {
        "ce (caruncle ×8)": lambda z: ce(z, target),
        "topology, count": lambda z: topology_term(z.softmax(1), truth, form="count"),
        "topology, location": lambda z: topology_term(z.softmax(1), truth, form="location"),
    }
    for name in relation_excess(logits.softmax(1), truth):
        terms[f"β·{name}"] = lambda z, n=name: args.beta * relation_excess(z.softmax(1), truth)[n]
    own = target == label
    predicted = int((logits.argmax(1) == label).sum())
    print(
        f"{args.checkpoint}: {len(rows)} crops, {args.label}: {int(own.sum())} reference px, "
        f"{predicted} predicted px"
    )
    print(f"| term | value | Σ dL/dz_{args.label} on its pixels | Σ elsewhere |")
    print("|---|---:|---:|---:|")
    for name, term in terms.items():
        z = logits.clone().requires_grad_(True)
        value = term(z)
        value.backward()
        grad = z.grad[:, label]
        print(
            f"| {name} | {value.item():.4f} | {grad[own].sum().item():+.2e} | "
            f"{grad[~own].sum().item():+.2e} |"
        )


if __name__ == "__main__":
    main()
