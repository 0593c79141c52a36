"""``ocularseg data``: import, split, check and export datasets.

The commands are thin: each parses options, calls ``ocularseg.data`` and prints a summary.
Library errors (``OcularsegError``) are rendered by the root app as one ``error:`` line.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from ocularseg.data.importing import ImportReport

data_app = typer.Typer(
    help="Datasets: import LabelMe or PNG masks, split by subject, check, export to LabelMe.",
    no_args_is_help=True,
)
import_app = typer.Typer(help="Import annotations as a new dataset folder.", no_args_is_help=True)
export_app = typer.Typer(help="Export a dataset to other formats.", no_args_is_help=True)


class SubjectFrom(StrEnum):
    """How the subject (person) of each file is found."""

    folder = "folder"
    filename_prefix = "filename-prefix"
    none = "none"


class SplitBy(StrEnum):
    """What a split keeps together."""

    subject = "subject"


def register(app: typer.Typer) -> None:
    """Add the data commands to ``app``."""
    data_app.add_typer(import_app, name="import")
    data_app.add_typer(export_app, name="export")
    app.add_typer(data_app, name="data")


_SUBJECT_HELP = (
    "Subject (person) of each file: 'folder' = its folder's name, 'filename-prefix' = name "
    "up to the first _ - or space, 'none' = every file is a different person."
)
_SKIP_HELP = (
    "Write the good files even if some are bad (default: any bad file means nothing is "
    "written). Skipped files are listed and recorded in import.json."
)

# Options the two import commands share, declared once.
_OUT = typer.Option(..., "--out", "-o", help="New or empty dataset folder.")
_SUBJECT_FROM = typer.Option(SubjectFrom.folder, help=_SUBJECT_HELP)
_GROUP = typer.Option("", help="Value of the manifest's 'group' column.")
_SKIP_BAD = typer.Option(False, "--skip-bad", help=_SKIP_HELP)


def _print_import(report: ImportReport) -> None:
    for file, reason in report.skipped:
        # Library messages already start with the file name; add it only when they do not.
        typer.echo(
            f"skipped: {reason}" if file in reason else f"skipped: {file}: {reason}", err=True
        )
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(report.summary())


@import_app.command("labelme")
def import_labelme_cmd(
    src_dir: Path = typer.Argument(..., help="Folder with LabelMe .json files (recursive)."),
    out: Path = _OUT,
    subject_from: SubjectFrom = _SUBJECT_FROM,
    group: str = _GROUP,
    ignore_label: list[str] = typer.Option(
        [], "--ignore-label", help="Skip shapes with this label (repeatable), e.g. landmarks."
    ),
    skip_bad: bool = _SKIP_BAD,
) -> None:
    """Import LabelMe annotations (polygon, circle, ellipse, rectangle, mask shapes).

    Labels (any case): sclera/white, iris/cornea/limbus, pupil, caruncle/carnucle/plica,
    _background_ (carves). Overlaps: pupil > iris > caruncle > sclera, whatever the order.
    """
    from ocularseg.data.labelme import import_labelme

    report = import_labelme(
        src_dir,
        out,
        subject_from=subject_from.value,
        group=group,
        ignore_labels=ignore_label,
        skip_bad=skip_bad,
    )
    _print_import(report)


@import_app.command("masks")
def import_masks_cmd(
    images_dir: Path = typer.Argument(..., help="Folder of images (recursive)."),
    masks_dir: Path = typer.Argument(..., help="Folder of PNG masks with the same names."),
    out: Path = _OUT,
    colors: str | None = typer.Option(
        None,
        "--colors",
        help="Colour mask mapping 'R,G,B=sclera;R,G,B=iris;...' (or #RRGGBB=name); "
        "default: the ocularseg palette. Index masks (values 0..4) need no mapping.",
    ),
    mask_suffix: str = typer.Option(
        "", help="Suffix of mask names to ignore when pairing, e.g. '_mask'."
    ),
    subject_from: SubjectFrom = _SUBJECT_FROM,
    group: str = _GROUP,
    skip_bad: bool = _SKIP_BAD,
) -> None:
    """Import images with index or colour PNG masks, paired by file name."""
    from ocularseg.data.labelnames import parse_colour_mapping
    from ocularseg.data.masks_import import import_masks

    colours = parse_colour_mapping(colors) if colors is not None else None
    report = import_masks(
        images_dir,
        masks_dir,
        out,
        colours=colours,
        mask_suffix=mask_suffix,
        subject_from=subject_from.value,
        group=group,
        skip_bad=skip_bad,
    )
    _print_import(report)


@data_app.command("split")
def split_cmd(
    dataset: Path = typer.Argument(..., help="Dataset folder (with manifest.csv)."),
    by: SplitBy = typer.Option(SplitBy.subject, help="Keep these together in one split."),
    fractions: str = typer.Option(
        "0.7,0.15,0.15", help="train,val[,test] fractions of samples, summing to 1."
    ),
    seed: int = typer.Option(0, help="Random seed; same seed, same split."),
) -> None:
    """Assign train/val/test by subject (no person in two splits); rewrites manifest.csv."""
    from ocularseg.data.split import split_dataset

    summary = split_dataset(dataset, fractions, seed=seed, by=by.value)
    for warning in summary.warnings:
        typer.echo(f"warning: {warning}", err=True)
    for line in summary.lines():
        typer.echo(line)


@data_app.command("check")
def check_cmd(
    dataset: Path = typer.Argument(..., help="Dataset folder (with manifest.csv)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Check files, sizes, label values, duplicates and subject leaks; exit 1 on problems.

    Empty masks (closed eyes) are listed as warnings and do not fail the check.
    """
    from ocularseg.data.check import check_dataset

    report = check_dataset(dataset)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        for problem in report.problems:
            label = f"warning {problem.kind}" if problem.is_warning else problem.kind
            typer.echo(f"{label:<22} {problem.text()}")
        typer.echo(report.summary())
    if not report.ok:
        raise typer.Exit(1)


@export_app.command("labelme")
def export_labelme_cmd(
    dataset: Path = typer.Argument(..., help="Dataset folder (with manifest.csv)."),
    out: Path = typer.Option(..., "--out", "-o", help="New or empty folder for the JSON files."),
    embed_images: bool = typer.Option(
        False, "--embed-images", help="Embed images as imageData instead of copying them."
    ),
    tolerance_px: float = typer.Option(
        0.0, min=0.0, help="Polygon simplification in px (0 = exact)."
    ),
) -> None:
    """Write one LabelMe JSON (polygons) per sample, ready to open and correct in LabelMe.

    Files go into one folder per subject, so `data import labelme` gets the people back.
    """
    from ocularseg.data.labelme import export_labelme

    written = export_labelme(dataset, out, embed_images=embed_images, tolerance_px=tolerance_px)
    typer.echo(f"exported {len(written)} LabelMe file(s) to {out}")


@data_app.command("build-real")
def build_real_cmd(
    sources: Path = typer.Argument(..., help="Sources YAML (docs/realset/sources.yaml)."),
    out: Path = _OUT,
    mirrors: Path = typer.Option(
        None, help="Folder of bare git mirrors, one per source repository: MIRRORS/OWNER+NAME/repo."
    ),
    teacher_python: Path = typer.Option(
        Path(".venv-teacher/bin/python"),
        help="Python of an environment with mediapipe==0.10.14 (kept apart from ocularseg's: "
        "MediaPipe brings its own OpenCV).",
    ),
    excluded: Path = typer.Option(
        None, help="YAML {excluded: {sample: reason}} of crops where the teacher is wrong."
    ),
    fractions: str = typer.Option(
        "0.55,0.05,0.40", help="train,val,test shares of the people within each source."
    ),
    seed: int = typer.Option(0, help="Seed of the split."),
    limit: int = typer.Option(None, help="At most this many files per source (quick looks)."),
) -> None:
    """Build a real-face dataset: analyze's eye crops with silver labels from MediaPipe.

    The test split is the real development set. Needs the [train] extra and the teacher
    environment; see docs/realset/README.md.
    """
    from ocularseg.data.split import parse_fractions
    from ocularseg.realdata.build import build_real_set

    values = parse_fractions(fractions)
    report = build_real_set(
        sources,
        out,
        mirrors=mirrors,
        teacher_python=teacher_python,
        excluded_yaml=excluded,
        fractions=tuple(values),
        seed=seed,
        limit_per_source=limit,
    )
    for note in report.notes[:20]:
        typer.echo(f"note: {note}", err=True)
    eyes = report.eyes
    typer.echo(
        f"{out}: {eyes.get('kept', 0)} eyes kept ({eyes.get('kept_open', 0)} open) of "
        f"{eyes.get('cropped', 0)} cropped; dropped: "
        + ", ".join(
            f"{k} {v}"
            for k, v in sorted(eyes.items())
            if k not in ("kept", "kept_open", "kept_closed", "cropped")
        )
    )


@data_app.command("relabel-real")
def relabel_real_cmd(
    real: Path = typer.Argument(..., help="A real-eye dataset from `data build-real`."),
    out: Path = _OUT,
    excluded: Path | None = typer.Option(
        None, help="YAML {sample_name: reason}: eyes that keep only the first teacher's labels."
    ),
) -> None:
    """Caruncle and pupil silver labels from the image, within the teacher's geometry.

    Writes a copy of the set (same images, people and split) whose masks also say pupil /
    iris / caruncle / sclera where the colours are clear, and contact sheets of them in
    OUT/contact_silver/ to be looked at. `data build-real` does the same for a new set.
    """
    from ocularseg.realdata.relabel import relabel_real_set

    report = relabel_real_set(real, out, excluded_yaml=excluded)
    counts = report.to_json()
    typer.echo(
        f"{out}: pupil {counts['pupil']}; caruncle {counts['caruncle']}; "
        f"excluded by hand {counts['excluded_by_hand']}"
    )


@data_app.command("build-context")
def build_context_cmd(
    real: Path = typer.Argument(..., help="A real-eye dataset from `data build-real`."),
    out: Path = _OUT,
    per_eye: int = typer.Option(2, min=1, max=20, help="Phantom eyeballs drawn per real eye."),
    seed: int = typer.Option(0, help="Seed of every drawn eyeball."),
) -> None:
    """Real-context phantoms: drawn eyeballs in the real eye openings of the train split.

    Everything outside the teacher's lid contour stays the real photograph (skin, lids,
    lashes, brows, make-up, glasses); the four-class labels are exact by construction.
    """
    from ocularseg.realdata.context_phantoms import build_context_phantoms

    count = build_context_phantoms(real, out, per_eye=per_eye, seed=seed)
    typer.echo(f"{out}: {count} real-context phantoms")
