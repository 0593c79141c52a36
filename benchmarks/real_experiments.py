"""Score training runs or model folders on the real development set and on phantoms.

For each ``NAME=PATH`` (a run folder is exported first; a model folder is used as it is):

* real development set (``--real``, its test split): Dice / HD95 / component error of the
  opening, the iris disc and sclera ∪ caruncle against the teacher's silver labels; the share
  of open eyes measured and of anatomically impossible raw masks; MRD1 and visible-iris
  fraction agreement with the teacher (``ocularseg.pipeline.evaluate_real``); with analyze's
  landmark gate, and for prior models also without landmarks (the template prior);
* phantom test set (``--phantom``): per-class Dice with 95 % CIs.

``--pair A=B`` adds paired differences B − A (same eyes; 95 % bootstrap CIs over people).
Writes OUT/results.md and the per-model tables; prints the Markdown.

    python benchmarks/real_experiments.py --real runs/data/real --phantom runs/data/test500 \\
        --model old=models/ocularseg-unet-tiu --model default=runs/real-default-ft-prior \\
        --model tiu=runs/real-pce-tiu-ft-prior --pair default=tiu --out runs/real-experiments
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ocularseg.evaluation.bootstrap import bootstrap_ci
from ocularseg.evaluation.compare import differences_markdown, paired_differences
from ocularseg.pipeline.evaluate import evaluate
from ocularseg.pipeline.evaluate_real import evaluate_real


def _model_folder(name: str, path: Path, out: Path) -> Path:
    if (path / "model.json").is_file():
        return path
    target = out / "models" / name
    if not (target / "model.json").is_file():
        from ocularseg.training.export import export_model_folder

        export_model_folder(path, target, name=name, overwrite=True)
    return target


def _mean_ci(frame: pd.DataFrame, cls: str, metric: str) -> str:
    part = frame[(frame["class"] == cls) & (frame["metric"] == metric)]
    if part.empty:
        return "n/a"
    r = part.iloc[0]
    scale = 100 if metric == "dice" else 1
    return f"{scale * r['mean']:.1f} [{scale * r['ci_low']:.1f}, {scale * r['ci_high']:.1f}]"


def _measure(measures: pd.DataFrame, name: str) -> str:
    r = measures[measures["measure"] == name].iloc[0]
    scale = 100 if name.endswith("share") else 1
    digits = 1 if scale == 100 else 2
    return (
        f"{scale * r['value']:.{digits}f} [{scale * r['ci_low']:.{digits}f}, "
        f"{scale * r['ci_high']:.{digits}f}]"
    )


def quality_auc(real) -> tuple[float, int, int]:
    """AUC of the quality signal for telling good from bad masks on real eyes.

    Bad = opening or iris-disc Dice below 0.7 against the silver labels. AUC = probability
    that a good eye has a higher quality than a bad one (Mann-Whitney, ties count half).
    """
    dice = real.per_image[real.per_image["class"].isin(["opening", "iris_disc"])]
    worst = dice.groupby("image_id")["dice"].min()
    eyes = real.eyes.set_index("image_id")
    quality = eyes["quality"].reindex(worst.index)
    bad = (worst < 0.7).to_numpy()
    q = quality.to_numpy(float)
    good_q, bad_q = q[~bad & np.isfinite(q)], q[bad & np.isfinite(q)]
    if not len(good_q) or not len(bad_q):
        return float("nan"), len(good_q), len(bad_q)
    greater = (good_q[:, None] > bad_q[None, :]).mean()
    ties = (good_q[:, None] == bad_q[None, :]).mean()
    return float(greater + 0.5 * ties), len(good_q), len(bad_q)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, required=True)
    parser.add_argument("--phantom", type=Path, default=None)
    parser.add_argument("--model", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument("--pair", action="append", default=[], metavar="A=B")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument(
        "--no-gate-variant",
        action="store_true",
        help="skip the '+gate' run (analyze's landmark gate) of each model: half the time",
    )
    parser.add_argument(
        "--no-template-variant",
        action="store_true",
        help="skip the '-landmarks' run (prior models given the average-eye template)",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    results: dict[str, dict] = {}
    for spec in args.model:
        name, _, path = spec.partition("=")
        folder = _model_folder(name, Path(path), args.out)
        prior = json.loads((folder / "model.json").read_text())["input"].get("prior")
        runs = {
            "": {"use_landmarks": True, "landmark_gate": False},
            "+gate": {"use_landmarks": True, "landmark_gate": True},
        }
        if args.no_gate_variant:
            del runs["+gate"]
        if prior and not args.no_template_variant:
            runs["-landmarks"] = {"use_landmarks": False, "landmark_gate": False}
        for suffix, options in runs.items():
            key = name + suffix
            cache = args.out / key
            real = evaluate_real(
                args.real,
                folder,
                n_resamples=args.resamples,
                out_dir=cache,
                device="cpu",
                **options,
            )
            results[key] = {"real": real}
            print(f"{key}: real done", file=sys.stderr, flush=True)
        if args.phantom is not None:
            phantom = evaluate(
                args.phantom,
                args.out / f"{name}-phantom",
                model_dir=folder,
                split="all",
                n_resamples=args.resamples,
                device="cpu",
            )
            results[name]["phantom"] = phantom
    lines = [
        "## Real development set (silver labels; mean [95 % CI], Dice in %)",
        "",
        "| model | opening Dice | iris-disc Dice | sclera∪caruncle Dice | opening HD95 px | "
        "disc HD95 px | impossible masks % | eyes measured % | measured, all gates passed % | "
        "MRD1 median abs diff mm | MRD1 median diff mm | VIF median abs diff |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, res in results.items():
        s, m = res["real"].summary, res["real"].measures
        s = s[s["group"] == "all"]
        lines.append(
            f"| {key} | {_mean_ci(s, 'opening', 'dice')} | {_mean_ci(s, 'iris_disc', 'dice')} | "
            f"{_mean_ci(s, 'sclera_caruncle', 'dice')} | {_mean_ci(s, 'opening', 'hd95_px')} | "
            f"{_mean_ci(s, 'iris_disc', 'hd95_px')} | {_measure(m, 'impossible_share')} | "
            f"{_measure(m, 'measured_share')} | {_measure(m, 'measured_gated_share')} | "
            f"{_measure(m, 'mrd1_abs_diff_mm')} | "
            f"{_measure(m, 'mrd1_diff_mm')} | {_measure(m, 'vif_abs_diff')} |"
        )
    class_rows = (
        ("caruncle_predicted_share", "eyes with a caruncle %"),
        ("caruncle_medial_share", "caruncle px in the medial quarter %"),
        ("caruncle_in_lateral_half_share", "eyes with caruncle in the lateral half %"),
        ("caruncle_dice_silver", "caruncle Dice vs silver %"),
        ("caruncle_dice_silver_cleaned", "same after analyze's clean-up %"),
        ("pupil_predicted_share", "eyes with a pupil %"),
        ("pupil_plausible_share", "pupils concentric and of human size %"),
        ("pupil_shown_dark_iris_share", "pupil shown where silver saw none (dark iris) %"),
        ("pupil_dice_silver", "pupil Dice vs silver %"),
    )
    lines += [
        "",
        "## Caruncle and pupil on the real development set (mean [95 % CI], in %)",
        "",
        "The model's own masks (landmark gate, no clean-up) unless named. "
        "Placement by anatomy (teacher's corners; medial quarter = the quarter of the eye "
        "width next to the inner corner); Dice against the second teacher's silver labels "
        "over the pixels it decided (`evaluation.placement`); pupil verdicts of "
        "`stages.pupil_check`.",
        "",
        "| model | " + " | ".join(label for _, label in class_rows) + " |",
        "|---|" + "---|" * len(class_rows),
    ]
    for key, res in results.items():
        m = res["real"].measures
        cells = []
        for name, _ in class_rows:
            part = m[m["measure"] == name]
            if part.empty:
                cells.append("n/a")
                continue
            r = part.iloc[0]
            cells.append(
                f"{100 * r['value']:.1f} [{100 * r['ci_low']:.1f}, {100 * r['ci_high']:.1f}] "
                f"(n {r['n_eyes']})"
            )
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Quality signal (mirror and landmark agreement) on real eyes: AUC for telling masks "
        "with opening or iris-disc Dice < 0.7 (bad) from the rest:",
        "",
    ]
    for key, res in results.items():
        auc, n_good, n_bad = quality_auc(res["real"])
        lines.append(f"- {key}: AUC {auc:.3f} ({n_good} good, {n_bad} bad eyes)")
    if args.phantom is not None:
        lines += [
            "",
            "## Phantom test set (Dice %, mean [95 % CI])",
            "",
            "| model | sclera | iris | pupil | caruncle |",
            "|---|---|---|---|---|",
        ]
        for key, res in results.items():
            if "phantom" not in res:
                continue
            s = res["phantom"].summary
            s = s[s["group"] == "all"]
            cells = [_mean_ci(s, c, "dice") for c in ("sclera", "iris", "pupil", "caruncle")]
            lines.append(f"| {key} | " + " | ".join(cells) + " |")
    for spec in args.pair:
        a, _, b = spec.partition("=")
        ra, rb = results[a]["real"], results[b]["real"]
        table = paired_differences(
            ra.per_image,
            rb.per_image,
            metrics=("dice", "hd95_px", "component_error"),
            n_resamples=args.resamples,
        )
        lines += [
            "",
            f"## Paired on the real development set: {b} − {a}",
            "",
            differences_markdown(table, a, b).strip(),
        ]
        eyes = ra.eyes.merge(rb.eyes, on="image_id", suffixes=("_a", "_b"))
        eyes = eyes[eyes["teacher_open_a"]]
        for column, label in (
            ("impossible", "impossible masks"),
            ("measured", "eyes measured"),
            ("measured_gated", "eyes measured and passing every gate"),
        ):
            diff = eyes[f"{column}_b"].astype(float) - eyes[f"{column}_a"].astype(float)
            est, low, high = bootstrap_ci(
                diff.to_numpy(),
                seed=0,
                n_resamples=args.resamples,
                clusters=eyes["subject_a"].to_numpy(),
            )
            lines.append(
                f"\n{label}: {b} − {a} = {100 * est:+.1f} percentage points "
                f"[{100 * low:+.1f}, {100 * high:+.1f}] over {len(eyes)} open eyes"
            )
        both = eyes[np.isfinite(eyes["mrd1_diff_mm_a"]) & np.isfinite(eyes["mrd1_diff_mm_b"])]
        delta = both["mrd1_diff_mm_b"].abs() - both["mrd1_diff_mm_a"].abs()
        est, low, high = bootstrap_ci(
            delta.to_numpy(),
            seed=0,
            n_resamples=args.resamples,
            statistic=np.nanmedian,
            clusters=both["subject_a"].to_numpy(),
        )
        lines.append(
            f"\n|MRD1 − teacher| (median of paired differences): {b} − {a} = {est:+.3f} mm "
            f"[{low:+.3f}, {high:+.3f}] over {len(both)} eyes measured by both"
        )
    text = "\n".join(lines) + "\n"
    (args.out / "results.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
