"""MRD1, MRD2 and fissure height against human-placed lid points: Bland–Altman and ICC(2,1).

The reference is a person, not the teacher. The Face Research Lab London Set (neutral) and
the Young Adult White Faces (``canada``) ship, beside each photo, a Psychomorph template
placed by hand (``.tem``, 189 points; CC-BY 4.0, DeBruine & Jones): per eye an 8-point iris
outline, the two corners and three points on each lid. **How the template's lid line is
defined**: the three upper-lid points are placed on the upper lid margin where it meets
the globe, along the base of the lashes (checked by eye on drawn templates); between the points this
script runs a centripetal Catmull-Rom curve through corner, three points, corner (as the
teacher's lids are drawn), so between points the line is an interpolation, not a tracing.

Per eye of the chosen split (default ``test``: people in no training data):

* human: iris centre = mean of the 8 outline points, radius = their mean distance from it;
  MRD1 = centre y − upper-lid curve at the centre's x, MRD2 = lower − centre, fissure =
  lower − upper; mm by the human iris (11.7 mm / 2 r);
* teacher (MediaPipe, the silver labels' source): the same from its iris circle and its
  two lid curves, mm by its own iris;
* each model: ``evaluate_real``'s path (analyze's crop, landmark gate, clean-up,
  measurement with its own iris ruler, analyze's per-frame quality gates), scored on every
  eye it measures and on the eyes that pass every gate.

For each method and measure: n eyes / people, Bland–Altman bias and 95 % limits of
agreement, MAE and ICC(2,1) (absolute agreement), each with a percentile-bootstrap 95 % CI
over people (``ocularseg.evaluation.agreement``). Also the paired difference
|model − human| − |teacher − human| on eyes both measure, the share of eyes measured, and
the error split into its parts on the human's mm scale (upper-lid position, iris centre
height, ruler). No offset is fitted anywhere.

    python benchmarks/human_reference.py --real runs/data/real \\
        --mirror /work/.mirror/debruine+webmorphR.stim/repo \\
        --model default=models/ocularseg-unet-real --out runs/human-ref

Writes ``human_reference.csv`` (one row per eye and method) and ``human_reference.md``.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ocularseg.data.eye_meta import read_eye_meta
from ocularseg.data.manifest import read_manifest
from ocularseg.evaluation.agreement import Agreement, agreement
from ocularseg.evaluation.bootstrap import bootstrap_ci
from ocularseg.realdata.silver import TeacherEye, catmull_rom

REPO = Path(__file__).resolve().parents[1]
IRIS_MM = 11.7
#: Sources with human templates (CC-BY 4.0); the 3DSK set in the same repository is not
#: CC-BY for its photographs and is not used.
TEMPLATE_GROUPS = ("london-neutral", "canada")
#: Template indices per image side of the eye: iris outline, corners, upper lid, lower lid.
#: Eye "a" is around pupil point 0, eye "b" around pupil point 1; the lower-lid points of
#: both run from the corner listed first.
_EYES = {
    "a": (list(range(2, 10)), (18, 22), (19, 20, 21), (28, 29, 30)),
    "b": (list(range(10, 18)), (23, 27), (24, 25, 26), (31, 32, 33)),
}
MEASURES = ("mrd1_mm", "mrd2_mm", "fissure_height_mm")


@dataclass(frozen=True)
class EyeLines:
    """One method's view of an eye in crop px: iris circle and lid curves (x sorted)."""

    centre: np.ndarray
    radius: float
    upper: np.ndarray
    lower: np.ndarray

    def lid_y(self, x: float) -> tuple[float, float]:
        """Upper and lower lid y at column x (NaN outside the curves)."""
        out = []
        for curve in (self.upper, self.lower):
            if not curve[0, 0] <= x <= curve[-1, 0]:
                out.append(math.nan)
            else:
                out.append(float(np.interp(x, curve[:, 0], curve[:, 1])))
        return out[0], out[1]

    def measures(self) -> dict[str, float]:
        upper, lower = self.lid_y(float(self.centre[0]))
        mm = IRIS_MM / (2.0 * self.radius)
        cy = float(self.centre[1])
        return {
            "mrd1_mm": (cy - upper) * mm,
            "mrd2_mm": (lower - cy) * mm,
            "fissure_height_mm": (lower - upper) * mm,
        }


def _sorted_curve(points: np.ndarray) -> np.ndarray:
    curve = catmull_rom(np.asarray(points, float))
    return curve[np.argsort(curve[:, 0], kind="stable")]


def read_tem(text: str) -> np.ndarray:
    lines = text.split("\n")
    count = int(lines[0])
    return np.array([[float(v) for v in lines[1 + i].split()] for i in range(count)])


def human_lines(points: np.ndarray, which: str, affine: np.ndarray) -> EyeLines:
    """The template's eye ``which`` mapped into the crop by ``affine`` (frame → crop px)."""
    iris, (c0, c1), upper, lower = _EYES[which]
    to_crop = lambda p: np.asarray(p, float) @ affine[:, :2].T + affine[:, 2]  # noqa: E731
    outline = to_crop(points[iris])
    centre = outline.mean(axis=0)
    radius = float(np.mean(np.hypot(*(outline - centre).T)))
    up = to_crop(np.vstack([points[c0], points[list(upper)], points[c1]]))
    low = to_crop(np.vstack([points[c0], points[list(lower)], points[c1]]))
    return EyeLines(centre, radius, _sorted_curve(up), _sorted_curve(low))


def teacher_lines(eye: TeacherEye) -> EyeLines:
    """The teacher's eye (crop px) as the same lines as :func:`human_lines`."""
    return EyeLines(
        eye.iris_centre,
        eye.iris_radius,
        _sorted_curve(eye.upper_lid),
        _sorted_curve(eye.lower_lid),
    )


def reference_eyes(real: Path, mirror: Path, split: str) -> pd.DataFrame:
    """One row per template eye of ``split``: human and teacher measures (crop px, mm)."""
    records = []
    templates: dict[tuple[str, str], np.ndarray] = {}
    for row in read_manifest(real):
        if row.group not in TEMPLATE_GROUPS or (split != "all" and row.split != split):
            continue
        meta = read_eye_meta(real / row.meta)
        key = (meta.commit, meta.path.rsplit(".", 1)[0] + ".tem")
        if key not in templates:
            shown = subprocess.run(
                ["git", "-C", str(mirror), "show", f"{key[0]}:{key[1]}"],
                capture_output=True,
                text=True,
            )
            templates[key] = read_tem(shown.stdout) if shown.returncode == 0 else np.empty(0)
        points = templates[key]
        if len(points) < 34:
            continue
        affine = np.asarray(meta.crop_from_frame, float)
        teacher = teacher_lines(TeacherEye.from_meta(meta, str(real / row.meta)))
        # Whichever template eye lands nearer the teacher's iris is this crop's eye.
        human = min(
            (human_lines(points, which, affine) for which in _EYES),
            key=lambda h: float(np.hypot(*(h.centre - teacher.centre))),
        )
        record = {"image_id": row.stem, "subject": row.subject, "group": row.group}
        record.update({f"human_{k}": v for k, v in human.measures().items()})
        record.update({f"teacher_{k}": v for k, v in teacher.measures().items()})
        record.update(
            human_cx_px=float(human.centre[0]),
            human_cy_px=float(human.centre[1]),
            human_radius_px=human.radius,
        )
        records.append((record, human))
    frame = pd.DataFrame([r for r, _ in records])
    frame.attrs["human_lines"] = {r["image_id"]: h for r, h in records}
    return frame


def model_eyes(real: Path, model: Path, split: str, resamples: int) -> pd.DataFrame:
    from ocularseg.pipeline.evaluate_real import evaluate_real

    evaluation = evaluate_real(
        real,
        model,
        split=split,
        n_resamples=max(2, resamples // 10),
        landmark_gate=True,
        groups=TEMPLATE_GROUPS,
    )
    return evaluation.eyes


def error_parts(eyes: pd.DataFrame, humans: dict[str, EyeLines]) -> pd.DataFrame:
    """Model MRD1 − human MRD1 split on the human's mm scale: lid, centre, ruler.

    ``lid_mm``: (human upper lid − model upper lid) at the model's centre column (negative
    = the model's lid lower, MRD1 smaller); ``centre_mm``: (model centre y − human centre
    y); ``ruler_mm``: the rest (the model's mm per px differs from the human's).
    """
    rows = []
    for record in eyes.itertuples():
        human = humans[record.image_id]
        mm = IRIS_MM / (2.0 * human.radius)
        upper_model = record.iris_cy_px - record.mrd1_px
        upper_human, _ = human.lid_y(float(record.iris_cx_px))
        lid = (upper_human - upper_model) * mm
        centre = (record.iris_cy_px - human.centre[1]) * mm
        total = record.mrd1_mm - record.human_mrd1_mm
        rows.append({"lid_mm": lid, "centre_mm": centre, "ruler_mm": total - lid - centre})
    return pd.DataFrame(rows, index=eyes.index)


def _agree(frame: pd.DataFrame, a: str, b: str, resamples: int) -> Agreement:
    """Agreement of columns ``a`` and ``b`` of ``frame``, CIs over its ``subject``s."""
    return agreement(frame[a], frame[b], frame["subject"], n_resamples=resamples)


def _people_mean(
    frame: pd.DataFrame, values: pd.Series, resamples: int
) -> tuple[float, float, float]:
    """Mean of ``values`` (rows of ``frame``) with a 95 % CI over its ``subject``s."""
    return bootstrap_ci(
        values.to_numpy(float),
        seed=0,
        n_resamples=resamples,
        clusters=frame["subject"].to_numpy(),
    )


def _agreement_row(method: str, measure: str, result: Agreement) -> dict:
    return {
        "method": method,
        "measure": measure,
        "eyes": result.n,
        "people": result.clusters,
        "bias": result.bias.text(2, signed=True),
        "LoA low": result.loa_low.text(2, signed=True),
        "LoA high": result.loa_high.text(2, signed=True),
        "MAE": result.mae.text(2),
        "ICC(2,1)": result.icc.text(2),
    }


def _markdown(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(False)]
    return "\n".join([header, rule, *body])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, required=True)
    parser.add_argument("--mirror", type=Path, required=True)
    parser.add_argument("--model", action="append", default=[], help="NAME=MODEL_DIR")
    parser.add_argument("--split", default="test")
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    models = [spec.split("=", 1) for spec in args.model] or [
        ["default", str(REPO / "models" / "ocularseg-unet-real")]
    ]
    reference = reference_eyes(args.real, args.mirror, args.split)
    humans = reference.attrs["human_lines"]
    n_people = reference["subject"].nunique()
    lines = [
        f"# MRD1 against human templates ({args.split} split: {len(reference)} eyes of "
        f"{n_people} people, London neutral + canada)",
        "",
        f"Bootstrap: {args.resamples} resamples of people, seed 0; 95 % CIs in brackets.",
        "",
    ]
    table = [
        _agreement_row(
            "teacher", m, _agree(reference, f"teacher_{m}", f"human_{m}", args.resamples)
        )
        for m in MEASURES
    ]
    per_eye = [reference.assign(method="teacher")]
    extra = []
    for name, folder in models:
        eyes = model_eyes(args.real, Path(folder), args.split, args.resamples)
        # The teacher is measured here from its lid curves, as the human is.
        eyes = eyes.drop(columns=[c for c in eyes.columns if c.startswith("teacher_")])
        eyes = reference.merge(eyes, on=["image_id", "subject", "group"], how="left")
        eyes = eyes.join(error_parts(eyes, humans))
        per_eye.append(eyes.assign(method=name))
        human_ok = eyes[np.isfinite(eyes["human_mrd1_mm"])]
        share = _people_mean(human_ok, human_ok["measured"].astype(float), args.resamples)
        extra.append(
            f"- {name}: eyes measured among those the human template measures: "
            f"{100 * share[0]:.1f} % [{100 * share[1]:.1f}, {100 * share[2]:.1f}]"
        )
        measured_mask = eyes["measured"].fillna(False).astype(bool)
        gated_mask = eyes["measured_gated"].fillna(False).astype(bool)
        for label, mask in (("all measured", measured_mask), ("gated", gated_mask)):
            for m in MEASURES:
                result = _agree(eyes[mask], m, f"human_{m}", args.resamples)
                table.append(_agreement_row(f"{name} ({label})", m, result))
        measured = eyes[measured_mask]
        for m in MEASURES:
            result = _agree(measured, m, f"teacher_{m}", args.resamples)
            table.append(_agreement_row(f"{name} vs teacher", m, result))
            paired = np.abs(measured[m] - measured[f"human_{m}"]) - np.abs(
                measured[f"teacher_{m}"] - measured[f"human_{m}"]
            )
            est, low, high = _people_mean(measured, paired, args.resamples)
            extra.append(
                f"- {name}: |{name} − human| − |teacher − human|, {m}: "
                f"{est:+.3f} [{low:+.3f}, {high:+.3f}] mm (mean, eyes both measure)"
            )
        for part in ("lid_mm", "centre_mm", "ruler_mm"):
            est, low, high = _people_mean(measured, measured[part], args.resamples)
            extra.append(
                f"- {name}: MRD1 error part {part} (human mm scale): mean {est:+.3f} "
                f"[{low:+.3f}, {high:+.3f}] mm"
            )
        if "mrd1_reflex_mm" in measured:
            with_reflex = measured[np.isfinite(measured["mrd1_reflex_mm"])]
            for label, reference_column in (
                ("reflex MRD1", "human_mrd1_mm"),
                ("reflex vs iris-centre", "mrd1_mm"),
            ):
                result = _agree(with_reflex, "mrd1_reflex_mm", reference_column, args.resamples)
                table.append(_agreement_row(f"{name} {label}", "mrd1_mm", result))
    frame = pd.DataFrame(table)
    text = "\n".join([*lines, _markdown(frame), "", *extra, ""])
    args.out.mkdir(parents=True, exist_ok=True)
    pd.concat(per_eye, ignore_index=True).to_csv(args.out / "human_reference.csv", index=False)
    (args.out / "human_reference.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
