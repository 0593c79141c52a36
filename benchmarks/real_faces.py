"""Real faces through ``ocularseg analyze``: what is used, which indicators are raised, and why.

Usage::

    python benchmarks/real_faces.py IMAGES.txt --out DIR [--model models/ocularseg-unet-real]

``IMAGES.txt`` lists face photographs, one path per line (for instance the Face Research
Lab London Set, CC-BY 4.0, DeBruine & Jones 2017: ``git -C <webmorphR.stim mirror> archive
HEAD inst/neutral_front | tar -x``). The script analyses them all (key-frame mode, quality
gates on), then prints

* how many eyes were measured and how many passed every gate, and the gates that failed;
* every screening indicator raised ("yes"), with the input, eye and value, and writes
  ``DIR/raised_indicators.png``: the overlays behind them, for a person to check that no
  indicator rests on a measurement they would reject;
* where a Psychomorph template (``.tem``, 189 points: pupil centres 0/1, iris outlines
  2–9 / 10–17, upper lids 18–22 / 23–27) lies beside an image, the signed difference
  between the measured MRD1 and the template's (pupil centre to the upper-lid line, mm
  by the template's horizontal iris width): an independent, human-placed reference. The
  templates trace the lid along the top of the lash line, so expect them to read MRD1
  about 1 mm higher than a margin-to-reflex measurement; use them for gross errors.

No image or crop is copied anywhere but ``DIR`` (the analysis output).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
IRIS_MM = 11.7
#: Psychomorph FRL template points per patient side: pupil, iris (image left, image right)
#: and the upper-lid polyline.
TEM_LAYOUT = {
    "right": {"pupil": 0, "iris": (4, 8), "lid": (18, 19, 20, 21, 22)},
    "left": {"pupil": 1, "iris": (12, 16), "lid": (23, 24, 25, 26, 27)},
}


def template_mrd1_mm(image_path: Path, side: str) -> float:
    """MRD1 (mm) from a Psychomorph template beside the image; NaN when there is none."""
    tem = image_path.with_suffix(".tem")
    if not tem.is_file():
        return float("nan")
    lines = tem.read_text().split("\n")
    count = int(lines[0])
    points = np.array([[float(v) for v in line.split()] for line in lines[1 : 1 + count]])
    if len(points) < 28:
        return float("nan")
    layout = TEM_LAYOUT[side]
    px, py = points[layout["pupil"]]
    lid = points[list(layout["lid"])]
    lid = lid[np.argsort(lid[:, 0])]
    lid_y = float(np.interp(px, lid[:, 0], lid[:, 1]))
    width = abs(points[layout["iris"][1], 0] - points[layout["iris"][0], 0])
    return (py - lid_y) * IRIS_MM / width if width > 0 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("images", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", type=Path, default=REPO / "models" / "ocularseg-unet-real")
    args = parser.parse_args()

    from ocularseg.io.images import read_image_rgb, write_image_atomic
    from ocularseg.pipeline.config import AnalyzeConfig
    from ocularseg.pipeline.run import run_analysis
    from ocularseg.report.overlay import contact_sheet

    paths = [Path(p.strip()) for p in args.images.read_text().splitlines() if p.strip()]
    result = run_analysis(paths, args.out, AnalyzeConfig(model=args.model))
    measured = pd.read_csv(args.out / "measurements.csv", encoding="utf-8-sig")
    summary = pd.read_csv(args.out / "summary.csv", encoding="utf-8-sig")
    print(f"{len(paths)} photographs, {result.exit_code=}; model {args.model}")
    with_value = measured[np.isfinite(measured.mrd1_mm)]
    used = measured[measured.used]
    print(
        f"eyes analysed {len(measured)}, with an MRD1 value {len(with_value)}, "
        f"passing every gate {len(used)}"
    )
    gates = measured.gates_failed.fillna("").str.split(";").explode()
    print("failed gates:", gates[gates != ""].value_counts().to_dict())

    eyes = summary[summary.side.isin(["right", "left"])]
    raised = []
    for column in ("indicator_mrd1_le_2mm", "indicator_fatigable_ge_2mm"):
        for _, row in eyes[eyes[column] == "yes"].iterrows():
            raised.append((row.input, row.side, column, row.mrd1_mm_median))
    pairs = summary[summary.side == "right-left"]
    for column in ("indicator_asymmetry_ge_1mm", "indicator_asymmetry_ge_2mm"):
        for _, row in pairs[pairs[column] == "yes"].iterrows():
            raised.append((row.input, "both", column, row.mrd1_mm_right_minus_left))
    counts = {
        c: eyes[c].value_counts().to_dict()
        for c in ("indicator_mrd1_le_2mm", "indicator_fatigable_ge_2mm")
    }
    counts["asymmetry_ge_1mm"] = pairs["indicator_asymmetry_ge_1mm"].value_counts().to_dict()
    print("indicator values:", counts)
    print(f"indicators raised: {len(raised)}")
    tiles, captions = [], []
    for name, side, column, value in raised:
        print(f"  {Path(name).name} {side}: {column} (value {value:+.2f} mm)")
        for eye_side in ("right", "left") if side == "both" else (side,):
            rows = used[(used.input == name) & (used.side == eye_side)]
            for _, row in rows.iterrows():
                if isinstance(row.overlay, str) and row.overlay:
                    tiles.append(read_image_rgb(args.out / row.overlay))
                    captions.append(f"{Path(name).name} {eye_side} {column[10:]}")
    if tiles:
        write_image_atomic(
            args.out / "raised_indicators.png", contact_sheet(tiles, captions, 3, 480)
        )
        print(f"overlays behind them: {args.out / 'raised_indicators.png'}")

    reference = []
    for _, row in measured.iterrows():
        mm = template_mrd1_mm(Path(row.input), row.side)
        if np.isfinite(mm):
            reference.append((bool(row.used), row.mrd1_mm - mm))
    if reference:
        ref = pd.DataFrame(reference, columns=["used", "err"]).dropna()
        for label, part in (("all with a value", ref), ("used", ref[ref.used])):
            print(
                f"MRD1 − template MRD1, {label}: n {len(part)}, median {part.err.median():+.2f}"
                f" mm, MAE {part.err.abs().mean():.2f} mm, |err| > 2 mm: "
                f"{int((part.err.abs() > 2).sum())}"
            )


if __name__ == "__main__":
    main()
