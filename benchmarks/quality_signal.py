"""Does the quality signal separate good from bad masks? Phantoms (truth) and real crops.

Usage::

    python benchmarks/quality_signal.py [--model models/ocularseg-unet-real]
        [--phantoms 150] [--seed 20263] [--real IMAGES.txt] [--judgements JUDGED.csv]

Prints ROC AUC (probability that a good mask scores higher than a bad one; 0.5 = no
separation) and the share of good / bad masks kept at the gate's ``min_quality`` for four
signals: the model's mean max-softmax probability (the old ``mean_confidence``), the mirror
agreement, the outline agreement and ``quality`` = their minimum (``stages.quality``).

Phantoms (``--phantoms N``, seeded, profile "shifted": darker skin, more ptosis, harsher
light): each is segmented as rendered, after being shrunk 4× and 8× and enlarged back (a
small face far from the camera), heavily blurred and noisy (Gaussian σ 6 crop px, noise
σ 12 grey levels), and with the landmarks misplaced (the picture moved 70 crop px down
under an outline that stays put, as when dlib lands on the brow) — the degradations make
the model fail often enough to have bad masks. A mask is **bad** when the Dice of the
opening or of the iris disc against the exact truth (moved with the picture) is below 0.7.
The outline is placed on the exact lids (``synth.landmarks``), as dlib's points would be.

Real crops (``--real``: a text file, one face photograph per line): each face is found
with dlib, both eyes cropped and segmented. ``--judgements`` is a CSV ``file,side,good``
(``good`` 1/0) of a person's verdict from the overlays (would they accept MRD1 and the
visible iris fraction read from this mask?); rows for other files are ignored. Judgements
are specific to the model they were made on (its sha256 is printed). No images are stored.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
from bench_parser import benchmark_parser  # sibling module (this folder is on sys.path)

REPO = Path(__file__).resolve().parents[1]
SIGNALS = ("mean_confidence", "mirror_agreement", "outline_agreement", "quality")


def roc_auc(score: np.ndarray, good: np.ndarray) -> float:
    """P(score of a random good mask > score of a random bad one), ties counting ½."""
    score, good = np.asarray(score, float), np.asarray(good, bool)
    keep = np.isfinite(score)
    positive, negative = score[keep & good], score[keep & ~good]
    if not len(positive) or not len(negative):
        return float("nan")
    greater = (positive[:, None] > negative[None, :]).sum()
    ties = (positive[:, None] == negative[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(positive) * len(negative)))


def _signals(segmenter, image, outline, side) -> tuple[dict[str, float], np.ndarray]:
    """The quality signals of one crop, measured by analyze's per-eye chain (stages.eye)."""
    from ocularseg.stages.eye import run_eye_chain
    from ocularseg.stages.quality import mirror, mirror_points

    seg, seg_mirror = segmenter.segment(
        [image, mirror(image)], [outline, mirror_points(outline, image.shape[1])]
    )
    eye = run_eye_chain(seg, image, side, 1.0, outline, mirrored=seg_mirror)
    return {
        "mean_confidence": _mean_confidence(segmenter, image, outline),
        "mirror_agreement": eye.mirror_agreement,
        "outline_agreement": eye.outline_agreement,
        "quality": eye.quality,
    }, eye.labels


def _mean_confidence(segmenter, image: np.ndarray, outline: np.ndarray) -> float:
    """The mean over the crop of the model's max softmax probability per pixel."""
    from ocularseg.io.model_folder import model_input

    batch = model_input(segmenter.spec.input, [image], [outline])
    logits, _ = segmenter._split_outputs(segmenter._forward(np.ascontiguousarray(batch)))
    shifted = logits[0] - logits[0].max(axis=0, keepdims=True)
    return float(np.mean(1.0 / np.exp(shifted, dtype=np.float32).sum(axis=0)))


def phantom_rows(segmenter, n: int, seed: int) -> pd.DataFrame:
    from ocularseg.stages._label_map import iris_disc_mask, opening_mask
    from ocularseg.stages.quality import dice
    from ocularseg.synth.dataset import sample_params
    from ocularseg.synth.landmarks import outline_from_truth
    from ocularseg.synth.render import render_eye

    rows = []
    for index in range(n):
        params = sample_params(index, seed=seed, n_subjects=max(1, n // 5), profile="shifted")
        eye = render_eye(params)
        if eye.truth["eye_closed"]:
            continue
        outline = outline_from_truth(eye.truth)
        rng = np.random.default_rng([seed, index])
        for name, image, truth in _degradations(eye.image, eye.labels, rng):
            scores, labels = _signals(segmenter, image, outline, params.side)
            dice_o = dice(opening_mask(labels), opening_mask(truth))
            dice_d = dice(iris_disc_mask(labels), iris_disc_mask(truth))
            rows.append(
                {
                    "index": index,
                    "degradation": name,
                    "dice_opening": dice_o,
                    "dice_iris_disc": dice_d,
                    "good": bool(min(dice_o, dice_d) >= 0.7),
                    **scores,
                }
            )
    return pd.DataFrame(rows)


def _degradations(image: np.ndarray, labels: np.ndarray, rng: np.random.Generator):
    """(name, image, truth labels) of each way a phantom is shown to the model."""
    import cv2
    from phantom_accuracy import degrade  # sibling benchmark script (sys.path in main)

    yield "as rendered", image, labels
    yield "shrunk 4x", degrade(image, 4.0), labels
    yield "shrunk 8x", degrade(image, 8.0), labels
    blurred = cv2.GaussianBlur(image, (0, 0), 6.0).astype(np.float32)
    noisy = blurred + rng.normal(0.0, 12.0, blurred.shape).astype(np.float32)
    yield "blur + noise", np.clip(np.rint(noisy), 0, 255).astype(np.uint8), labels
    shift = np.float32([[1, 0, 0], [0, 1, 70]])
    moved = cv2.warpAffine(image, shift, (480, 320), borderMode=cv2.BORDER_REPLICATE)
    moved_labels = cv2.warpAffine(labels, shift, (480, 320), flags=cv2.INTER_NEAREST)
    yield "landmarks 70 px off", moved, moved_labels


def real_rows(segmenter, images: list[str], judgements: dict[tuple[str, str], bool]):
    from ocularseg.core.errors import OcularsegError
    from ocularseg.io.images import read_image_rgb
    from ocularseg.stages.crop import crop_eye
    from ocularseg.stages.face import FaceDetector
    from ocularseg.stages.landmark_gate import eye_points_in_crop

    detector = FaceDetector()
    rows = []
    for path in images:
        try:
            face = detector.detect(read_image_rgb(path))
        except OcularsegError as exc:
            print(f"skipped {path}: {exc}")
            continue
        image = read_image_rgb(path)
        for side in ("right", "left"):
            key = (Path(path).name, side)
            if key not in judgements:
                continue
            crop = crop_eye(image, face, side)
            outline = eye_points_in_crop(face.eye_points_px(side), crop.crop_from_frame)
            scores, _ = _signals(segmenter, crop.image, outline, side)
            rows.append({"file": key[0], "side": side, "good": judgements[key], **scores})
    return pd.DataFrame(rows)


def report(name: str, df: pd.DataFrame, min_quality: float) -> None:
    good = df["good"].to_numpy(bool)
    print(f"\n{name}: {len(df)} masks, {int(good.sum())} good, {int((~good).sum())} bad")
    for signal in SIGNALS:
        values = df[signal].to_numpy(float)
        line = f"  {signal:18s} ROC AUC {roc_auc(values, good):.3f}"
        if signal == "quality":
            kept_good = np.mean(values[good] >= min_quality) if good.any() else float("nan")
            kept_bad = np.mean(values[~good] >= min_quality) if (~good).any() else float("nan")
            line += (
                f"; at min_quality {min_quality:g}: keeps {100 * kept_good:.0f} % of good, "
                f"{100 * kept_bad:.0f} % of bad"
            )
        print(line)


def main() -> None:
    parser = benchmark_parser(__doc__, csv_help="write every scored mask here (prefix)")
    parser.add_argument("--phantoms", type=int, default=150)
    parser.add_argument("--seed", type=int, default=20263)
    parser.add_argument("--real", type=Path, help="text file: one face photograph per line")
    parser.add_argument("--judgements", type=Path, help="CSV file,side,good for --real")
    args = parser.parse_args()

    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from ocularseg.stages.gates import GateParams
    from ocularseg.stages.segment import Segmenter

    segmenter = Segmenter(args.model, device="cpu", batch_size=2)
    print(f"model {args.model} (sha256 {segmenter.spec.sha256[:12]})")
    min_quality = GateParams().min_quality
    if args.phantoms:
        phantoms = phantom_rows(segmenter, args.phantoms, args.seed)
        report(f"phantoms (seed {args.seed}, five degradations)", phantoms, min_quality)
        bad = phantoms[~phantoms.good]
        print("  bad masks per degradation:", bad.degradation.value_counts().to_dict())
        if args.csv:
            phantoms.to_csv(f"{args.csv}_phantoms.csv", index=False)
    if args.real:
        images = [line.strip() for line in args.real.read_text().splitlines() if line.strip()]
        judged: dict[tuple[str, str], bool] = {}
        if args.judgements:
            with open(args.judgements, newline="", encoding="utf-8") as handle:
                for row in csv.DictReader(handle):
                    judged[(row["file"], row["side"])] = row["good"].strip() in ("1", "true")
        real = real_rows(segmenter, images, judged)
        if len(real):
            report("real eye crops (judged by eye from the overlays)", real, min_quality)
            if args.csv:
                real.to_csv(f"{args.csv}_real.csv", index=False)


if __name__ == "__main__":
    main()
