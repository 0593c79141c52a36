"""The report per input (``report.png`` + ``report.pdf``) and its time-series chart.

What a clinician reads first, on an A4 landscape page:

* header: the input file, the mode (key frames or time series), frames analysed, date;
* both eyes' overlays (the used frame whose MRD1 is closest to the eye's median, else the
  first analysed frame, which then shows why it was excluded), with the colour legend;
* a table: per eye (OD = right, OS = left) and OD − OS, frames used / analysed, MRD1,
  MRD2, fissure height (mm, median [IQR]), visible iris fraction, the quality signal,
  the MRD1 slope in mm/s with the fitted change over the recording (time series), and the
  screening indicators in words (yes / no / not assessable);
* for a video: MRD1 and visible iris fraction per eye over time — used frames filled,
  excluded frames hollow (or as a tick on the axis when they have no value), blinks
  shaded, the fitted MRD1 line with its slope, the 2 mm reference line;
* why frames were excluded (in words), and every error and warning recorded for the input
  (``errors.csv`` and ``warnings.csv`` rows), each in full;
* when the input showed more than one face, the faces thumbnail (``faces.png``, see
  ``report.faces``) at the right end of that text: which face was measured;
* footer: the model's provenance line ("trained on …; validated on …"), the ocularseg
  version, the model checksum and the disclaimer.

Nothing is cut off (``report.text_flow``): the running text wraps by its measured width,
and what does not fit under the chart (a video) or beside the table (a still image)
continues on further pages with the same footer, each page numbered and the break marked
"(continued on page N of M)". The PDF then has several pages; the PNG stays one file with
the pages one below the other (a grey band between them), so an earlier run's extra files
can never be mistaken for this run's. Titles and the footer lines are set smaller rather
than cut off; a file name too long for the title leads the running text instead.

Drawn with matplotlib's object API (no pyplot, no global state, Agg canvas), so it is safe
in worker processes; the PDF is vector. matplotlib is imported inside the functions that
draw, so importing this module (and ``ocularseg --help``) stays fast.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ocularseg.core.errors import OcularsegError, ReportError
from ocularseg.core.records import PLAIN_WORDS, FrameCounts, reason_counts_text
from ocularseg.core.text import number_text
from ocularseg.report.faces import FACES_PNG
from ocularseg.report.summary import (
    BORDERLINE,
    DISCLAIMER,
    NOT_ASSESSABLE,
    YES,
    ReportParams,
)
from ocularseg.report.text_flow import (
    TextRegion,
    WidthOf,
    draw_lines,
    fitted_size,
    paginate,
    width_measure,
    wrap_text,
)
from ocularseg.report.unreliable import unreliable_line

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

REPORT_PNG = "report.png"
REPORT_PDF = "report.pdf"
CHART_PNG = "chart.png"

#: Okabe-Ito colours per eye (colour-blind safe): OD blue, OS orange.
EYE_COLOURS: dict[str, str] = {"right": "#0072B2", "left": "#E69F00"}
EYE_NAMES: dict[str, str] = {"right": "OD (right)", "left": "OS (left)"}
_PAGE_SIZE_IN = (11.69, 8.27)  # A4 landscape
_PAGE_DPI = 150
_CHART_SIZE_IN = (10.0, 4.0)
_CHART_DPI = 110
_YES_FILL = "#FFE0B2"
#: A borderline indicator: the 95 % interval straddles the threshold.
_BORDERLINE_FILL = "#FFF3C4"
#: What the interval leaves out, said on every report.
UNCERTAINTY_NOTE = (
    "95 % interval: the frames' spread and one image pixel (docs/measurements.md, "
    '"Uncertainty"); an indicator is borderline when its interval straddles the threshold. '
    "It does not include the model's bias on real faces: against human-placed lid points the "
    "bundled default model reads MRD1 about 1.1 mm low (README); check values near a "
    "threshold by hand."
)
#: Frames with no face on the chart: hatched bands in a colour apart from the blinks' grey.
_NO_FACE_COLOUR = "#CC79A7"
_LEFT = 0.03  # left margin (figure fraction)
_BODY_WIDTH_PT = (1 - 2 * _LEFT) * _PAGE_SIZE_IN[0] * 72
_TITLE_WIDTH_PT = _BODY_WIDTH_PT - 80  # room for "page 1 of 2" at the right
_SUBTITLE_WIDTH_PT = (0.66 - _LEFT) * _PAGE_SIZE_IN[0] * 72  # left of the table's title
#: Running text: under the chart of a video, beside the table of a still image, and the
#: whole page between header and footer on the pages it continues on.
_VIDEO_TEXT_REGION = TextRegion(_LEFT, 0.165, 0.075, _BODY_WIDTH_PT)
_STILL_TEXT_REGION = TextRegion(_LEFT, 0.9, 0.56, (0.57 - _LEFT) * _PAGE_SIZE_IN[0] * 72)
_CONTINUATION_REGION = TextRegion(_LEFT, 0.91, 0.085, _BODY_WIDTH_PT)
_PAGE_GAP_PX = 12  # grey band between the pages of a PNG


@dataclass(frozen=True)
class PageContext:
    """Run-wide facts printed on every page.

    Attributes:
        provenance: the model's provenance line (``io.model_folder.model_provenance``).
        version: ocularseg version.
        model_sha256: checksum of the model's ONNX file ("" if unknown).
        created_utc: when the run was made (ISO text).
        exclusion_text: plain words per exclusion reason name (``core.records.PLAIN_WORDS``);
            names without an entry are shown with spaces for underscores.
        params: the summary thresholds used (for the indicator labels).
        unreliable_classes: class name → why the model marks its mask unreliable
            (``run.json`` ``unreliable_classes``); said in one line of the running text.
    """

    provenance: str
    version: str = ""
    model_sha256: str = ""
    created_utc: str = ""
    exclusion_text: Mapping[str, str] = field(default_factory=lambda: PLAIN_WORDS)
    params: ReportParams = field(default_factory=ReportParams)
    unreliable_classes: Mapping[str, str] = field(default_factory=dict)


def write_input_report(
    folder: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    measurements: pd.DataFrame,
    summary: pd.DataFrame,
    errors: pd.DataFrame,
    context: PageContext,
    frames: FrameCounts | None = None,
    warnings: pd.DataFrame | None = None,
) -> dict[str, Path]:
    """Write ``report.png``, ``report.pdf`` (and ``chart.png`` for a video) for one input.

    Args:
        folder: the input's own folder (``OUT/inputs/<key>``); created if missing.
        out_dir: the run's output folder (overlay paths in ``measurements`` are relative
            to it).
        measurements: this input's rows of the measurements table, with ``used``.
        summary: this input's rows of ``summarise`` (right, left, right-left).
        errors: this input's rows of the errors table (``stage``, ``error``).
        context: run-wide facts (provenance, version …).
        frames: where the input's frames went (frames looked at, with no face): counted
            in the header and the no-face frames marked on the chart; None when unknown.
        warnings: this input's rows of the warnings table (``stage``, ``warning``), or None.

    Returns:
        ``{"png": path, "pdf": path}`` plus ``"chart": path`` when a chart was drawn.
        Text that does not fit the first page continues on more pages: more pages in the
        PDF, the pages one below the other in the PNG.

    Raises:
        ReportError: a file could not be written (the path is named).
    """
    from ocularseg._privacy import private_matplotlib_cache

    private_matplotlib_cache()
    from matplotlib.figure import Figure

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    label = _input_label(measurements, summary, errors)
    first = Figure(figsize=_PAGE_SIZE_IN, dpi=_PAGE_DPI)
    width_of = width_measure(first)
    lead, region = _draw_page(
        first, Path(out_dir), label, measurements, summary, context, width_of, frames
    )
    region = _draw_faces(first, folder / FACES_PNG, region)
    items = _running_items(lead, summary, errors, warnings, context)
    figures = _flow_text(first, label, items, region, width_of)
    _draw_footer(figures, context, width_of)
    paths = {"png": folder / REPORT_PNG, "pdf": folder / REPORT_PDF}
    _save_png(figures, paths["png"])
    _save_pdf(figures, paths["pdf"])
    if has_time_axis(measurements):
        paths["chart"] = folder / CHART_PNG
        no_face_times_s = frames.no_face_times_s if frames else ()
        write_chart(paths["chart"], measurements, summary, context.params, no_face_times_s)
    return paths


def write_chart(
    path: str | os.PathLike[str],
    measurements: pd.DataFrame,
    summary: pd.DataFrame,
    params: ReportParams | None = None,
    no_face_times_s: Sequence[float] = (),
) -> Path:
    """The time-series chart alone (MRD1 and visible iris fraction over time) as a PNG;
    ``no_face_times_s``: the times (s) of the frames with no face, marked."""
    from ocularseg._privacy import private_matplotlib_cache

    private_matplotlib_cache()
    from matplotlib.figure import Figure

    figure = Figure(figsize=_CHART_SIZE_IN, dpi=_CHART_DPI)
    # Fixed places (not a constrained layout): the legend above the MRD1 panel must not
    # squeeze it.
    mrd1_axes = figure.add_axes((0.07, 0.14, 0.4, 0.64))
    fraction_axes = figure.add_axes((0.57, 0.14, 0.4, 0.64))
    draw_timeseries(
        mrd1_axes, fraction_axes, measurements, summary, params or ReportParams(), no_face_times_s
    )
    path = Path(path)
    _save(figure, path, dpi=_CHART_DPI)
    return path


def has_time_axis(measurements: pd.DataFrame) -> bool:
    """True when the input has frames at two or more distinct times (a video)."""
    if not len(measurements) or "timestamp_s" not in measurements:
        return False
    return measurements["timestamp_s"].dropna().nunique() > 1


def draw_timeseries(
    mrd1_axes: Axes,
    fraction_axes: Axes,
    measurements: pd.DataFrame,
    summary: pd.DataFrame,
    params: ReportParams,
    no_face_times_s: Sequence[float] = (),
) -> None:
    """MRD1 (mm) and visible iris fraction of both eyes over time on two axes.

    Used frames are filled markers joined by a thin line; excluded frames are hollow
    markers at their value, or a small tick at the bottom of the axis when they have no
    value; blink frames are shaded grey, frames with no face (``no_face_times_s``, s)
    hatched in purple and named in the legend; the fitted MRD1 line (least squares over
    the used frames, as in the summary) is dashed and labelled with its slope in mm/s and the
    change it shows over the recording.
    """
    _draw_blinks_and_threshold(mrd1_axes, fraction_axes, measurements, params)
    _draw_no_face(mrd1_axes, fraction_axes, measurements, no_face_times_s)
    used_mask = _used(measurements)
    for side in ("right", "left"):
        rows = measurements[measurements["side"] == side].sort_values("timestamp_s")
        if not len(rows):
            continue
        colour = EYE_COLOURS[side]
        used = used_mask.loc[rows.index]
        for axes, column in ((mrd1_axes, "mrd1_mm"), (fraction_axes, "visible_iris_fraction")):
            _plot_eye(axes, rows, used, column, side)
        _draw_fit(mrd1_axes, rows[used], summary, side, colour)
    mrd1_axes.set_ylabel("MRD1 (mm)")
    fraction_axes.set_ylabel("visible iris fraction")
    for axes in (mrd1_axes, fraction_axes):
        axes.set_xlabel("time in the recording (s)")
        axes.grid(True, color="0.9", lw=0.6)
        axes.tick_params(labelsize=8)
    _legend(mrd1_axes, no_face=bool(len(no_face_times_s)))
    fraction_axes.set_title(
        "filled: used · hollow / tick: excluded · grey band: blink", fontsize=8, color="0.3"
    )


def _draw_no_face(
    mrd1_axes: Axes, fraction_axes: Axes, measurements: pd.DataFrame, times_s: Sequence[float]
) -> None:
    """A hatched band one frame step wide at each frame with no face, on both axes."""
    if not len(times_s):
        return
    times = np.asarray(times_s, dtype=float)
    step = _frame_step(np.concatenate([measurements["timestamp_s"].to_numpy(float), times]))
    for axes in (mrd1_axes, fraction_axes):
        for moment in times:
            axes.axvspan(
                moment - step / 2,
                moment + step / 2,
                facecolor="none",
                edgecolor=_NO_FACE_COLOUR,
                hatch="////",
                lw=0,
                zorder=0,
            )


def _draw_blinks_and_threshold(
    mrd1_axes: Axes, fraction_axes: Axes, measurements: pd.DataFrame, params: ReportParams
) -> None:
    """Grey bands at the blink frames on both axes; the low-MRD1 line on the MRD1 axes."""
    from matplotlib.transforms import blended_transform_factory

    times_all = measurements["timestamp_s"].to_numpy(float)
    step = _frame_step(times_all)
    blinks = np.unique(measurements.loc[measurements["blink"].astype(bool), "timestamp_s"])
    for axes in (mrd1_axes, fraction_axes):
        for moment in blinks:
            axes.axvspan(moment - step / 2, moment + step / 2, color="0.85", lw=0, zorder=0)
    mrd1_axes.axhline(params.mrd1_low_mm, color="0.4", lw=0.8, ls=":", zorder=1)
    mrd1_axes.text(
        0.005,
        params.mrd1_low_mm,
        f" {params.mrd1_low_mm:g} mm",
        transform=blended_transform_factory(mrd1_axes.transAxes, mrd1_axes.transData),
        va="bottom",
        fontsize=7,
        color="0.3",
    )


def _plot_eye(axes: Axes, rows: pd.DataFrame, used: pd.Series, column: str, side: str) -> None:
    """One eye's ``column`` over time: used frames filled and joined, excluded ones
    hollow at their value or a tick at the bottom when they have none."""
    from matplotlib.transforms import blended_transform_factory

    colour = EYE_COLOURS[side]
    kept = rows[used]
    axes.plot(
        kept["timestamp_s"],
        kept[column],
        "o-",
        color=colour,
        ms=3.5,
        lw=0.8,
        label=EYE_NAMES[side],
        zorder=3,
    )
    dropped = rows[~used]
    valued = dropped[np.isfinite(dropped[column].to_numpy(float))]
    axes.plot(
        valued["timestamp_s"],
        valued[column],
        "o",
        mfc="none",
        mec=colour,
        ms=4.5,
        mew=0.9,
        alpha=0.8,
        ls="none",
        zorder=2,
    )
    missing = dropped[~np.isfinite(dropped[column].to_numpy(float))]
    offset = 0.02 if side == "right" else 0.05
    axes.plot(
        missing["timestamp_s"],
        np.full(len(missing), offset),
        "|",
        color=colour,
        ms=7,
        transform=blended_transform_factory(axes.transData, axes.transAxes),
        zorder=2,
    )


def _draw_fit(axes: Axes, used: pd.DataFrame, summary: pd.DataFrame, side: str, colour: str):
    eye = _summary_row(summary, side)
    slope = _float(eye, "mrd1_mm_slope_per_s")
    times = used["timestamp_s"].to_numpy(float)
    values = used["mrd1_mm"].to_numpy(float)
    keep = np.isfinite(times) & np.isfinite(values)
    if not math.isfinite(slope) or keep.sum() < 2:
        return
    times, values = times[keep], values[keep]
    span = np.array([times.min(), times.max()])
    fitted = values.mean() + slope * (span - times.mean())
    change = _float(eye, "mrd1_mm_fitted_change")
    axes.plot(
        span,
        fitted,
        "--",
        color=colour,
        lw=1.2,
        zorder=4,
        label=f"{EYE_NAMES[side][:2]} fit {_minus(number_text(slope, '+.2f'))} mm/s "
        f"({_minus(number_text(change, '+.1f'))} mm over {span[1] - span[0]:.1f} s)",
    )


def _legend(axes: Axes, *, no_face: bool = False) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles, labels = axes.get_legend_handles_labels()
    handles.append(Line2D([], [], marker="o", mfc="none", mec="0.3", ls="none"))
    labels.append("excluded frame")
    if no_face:
        handles.append(Patch(facecolor="none", edgecolor=_NO_FACE_COLOUR, hatch="////", lw=0))
        labels.append("no face found")
    # Above the plot, so it never hides a data point.
    axes.legend(
        handles,
        labels,
        fontsize=7,
        loc="lower left",
        bbox_to_anchor=(0.0, 1.01),
        ncol=3,
        frameon=False,
        borderaxespad=0.0,
    )


def _draw_page(
    figure: Figure,
    out_dir: Path,
    label: str,
    measurements: pd.DataFrame,
    summary: pd.DataFrame,
    context: PageContext,
    width_of: WidthOf,
    frames: FrameCounts | None = None,
) -> tuple[list[str], TextRegion]:
    """The first page's header, table, overlays and chart.

    Returns:
        The items that lead the running text (what the header had no room for, the
        still-image note) and the region of the first page that the running text fills.
    """
    mode = _mode(measurements, summary)
    analysed = measurements["frame_index"].nunique() if len(measurements) else 0
    details = (
        f"{'time series' if mode == 'timeseries' else 'key frames'}, "
        f"{frames_line(analysed, mode, frames)}"
        + (f"   ·   {context.created_utc}" if context.created_utc else "")
    )
    lead = _draw_header(figure, label, details, width_of)

    table_axes = figure.add_axes((0.585, 0.555, 0.405, 0.365))
    _draw_table(table_axes, summary, mode, context.params)
    if has_time_axis(measurements):
        # A video: small overlays beside the table, the chart across the page, text below.
        for number, side in enumerate(("right", "left")):
            # Their titles stay below the header's second line.
            axes = figure.add_axes((0.02 + number * 0.285, 0.555, 0.275, 0.345))
            _draw_eye(axes, out_dir, measurements, summary, side)
        mrd1_axes = figure.add_axes((0.06, 0.25, 0.41, 0.23))
        fraction_axes = figure.add_axes((0.56, 0.25, 0.41, 0.23))
        no_face_times_s = frames.no_face_times_s if frames else ()
        draw_timeseries(
            mrd1_axes, fraction_axes, measurements, summary, context.params, no_face_times_s
        )
        return lead, _VIDEO_TEXT_REGION
    # A still image: the text beside the table, the two overlays large below.
    note = (
        "Single frame: no time series. Fatigability needs a video analysed in "
        "time-series mode (--fps)."
    )
    for number, side in enumerate(("right", "left")):
        axes = figure.add_axes((0.03 + number * 0.49, 0.08, 0.45, 0.43))
        _draw_eye(axes, out_dir, measurements, summary, side)
    return [*lead, note], _STILL_TEXT_REGION


def _running_items(
    lead: list[str],
    summary: pd.DataFrame,
    errors: pd.DataFrame,
    warnings: pd.DataFrame | None,
    context: PageContext,
) -> list[str]:
    """The running text's items, in order: what leads it, the classes the model marks
    unreliable, the exclusions, every error and warning, and the uncertainty note."""
    marked = unreliable_line(context.unreliable_classes)
    return [
        *lead,
        *([marked] if marked else []),
        *_exclusion_lines(summary, context),
        *_message_lines(errors, warnings),
        UNCERTAINTY_NOTE,
    ]


def _flow_text(
    first: Figure, label: str, items: list[str], region: TextRegion, width_of: WidthOf
) -> list[Figure]:
    """The items drawn from ``region`` of the first page on, onto as many continuation
    pages as they need; returns every page's figure."""
    from matplotlib.figure import Figure

    pages = paginate(items, region, _CONTINUATION_REGION, width_of)
    figures = [first]
    for _ in pages[1:]:
        figures.append(Figure(figsize=_PAGE_SIZE_IN, dpi=_PAGE_DPI))
        _draw_continuation(figures[-1], label, width_of)
    for number, (figure, lines) in enumerate(zip(figures, pages, strict=True), start=1):
        _draw_page_text(
            figure, lines, region if number == 1 else _CONTINUATION_REGION, number, len(pages)
        )
    return figures


def _draw_faces(figure: Figure, path: Path, region: TextRegion) -> TextRegion:
    """The faces thumbnail (``report.faces``), when the input showed more than one face,
    at the right end of the running text's first-page region; returns the narrowed region."""
    image = _read_image(path)
    if image is None:
        return region
    video = region.top < 0.5  # the video page's text runs under the chart
    box = (0.79, 0.075, 0.18, 0.085) if video else (0.42, 0.56, 0.15, 0.13)
    axes = figure.add_axes(box)
    axes.set_axis_off()
    axes.imshow(image, interpolation="antialiased")
    axes.set_title("more than one face:\nthe measured one boxed green", fontsize=6.5)
    width_pt = (box[0] - 0.01 - region.left) * _PAGE_SIZE_IN[0] * 72
    return replace(region, width_pt=width_pt)


def _draw_header(figure: Figure, label: str, details: str, width_of: WidthOf) -> list[str]:
    """The title (the file's name) and the line under it (label, mode, frames, date).

    A name too long for the title at its smallest size, or a label too long for the line
    under it, is not cut: it leads the running text instead (returned as items).
    """
    lead: list[str] = []
    name = Path(label).name
    title = f"ocularseg report — {name}"
    size = fitted_size(title, _TITLE_WIDTH_PT, width_of, largest=15, smallest=9, weight="bold")
    if size is None:
        title, size = "ocularseg report", 15
        lead.append(f"Input: {label}")
    figure.text(_LEFT, 0.965, title, fontsize=size, weight="bold", parse_math=False)
    subtitle = f"{label}   ·   {details}"
    size = fitted_size(
        subtitle, _SUBTITLE_WIDTH_PT, width_of, largest=8.5, smallest=6.5, weight="normal"
    )
    if size is None:
        subtitle, size = details, 8.5
        if not lead:
            lead.append(f"Input: {label}")
    figure.text(_LEFT, 0.94, subtitle, fontsize=size, color="0.3", parse_math=False)
    return lead


def _draw_continuation(figure: Figure, label: str, width_of: WidthOf) -> None:
    """The header of a page the running text continues on."""
    title = f"ocularseg report — {Path(label).name} (continued)"
    size = fitted_size(title, _TITLE_WIDTH_PT, width_of, largest=12, smallest=6, weight="bold")
    if size is None:
        title, size = "ocularseg report (continued)", 12
    figure.text(_LEFT, 0.965, title, fontsize=size, weight="bold", parse_math=False)


def _draw_page_text(
    figure: Figure, lines: list[str], region: TextRegion, number: int, pages: int
) -> None:
    """The page's share of the running text, its "continued" note and page number."""
    if number < pages:
        lines = [*lines, f"(continued on page {number + 1} of {pages})"]
    draw_lines(figure, lines, region)
    if pages > 1:
        figure.text(1 - _LEFT, 0.965, f"page {number} of {pages}", fontsize=9, ha="right")


def _draw_footer(figures: list[Figure], context: PageContext, width_of: WidthOf) -> None:
    """The provenance line (bold) and version, checksum and disclaimer at every page's foot.

    Each is set smaller rather than cut off; a line too long even at the smallest size
    wraps upwards.
    """
    footer = (
        f"ocularseg {context.version}"
        + (f" · model sha256 {context.model_sha256[:12]}" if context.model_sha256 else "")
        + f" · {DISCLAIMER}"
    )
    for figure in figures:
        _fitted_lines(figure, context.provenance, 0.045, width_of, largest=8, weight="bold")
        _fitted_lines(figure, footer, 0.02, width_of, largest=7, weight="normal", colour="0.3")


def frames_line(analysed: int, mode: str, frames: FrameCounts | None) -> str:
    """Where every frame looked at went, e.g. "46 frames looked at: 31 analysed, 15 with
    no face"; just "31 frames analysed" when the counts are unknown or all were analysed."""
    plural = "s" if analysed != 1 else ""
    if frames is None or frames.looked_at <= analysed:
        return f"{analysed} frame{plural} analysed"
    parts = [f"{analysed} analysed" + (" as key frames" if mode != "timeseries" else "")]
    if frames.no_face:
        parts.append(f"{frames.no_face} with no face")
    # Counted from the frames shown here, so the parts always add up to the total.
    rest = frames.looked_at - analysed - frames.no_face
    if rest > 0:
        parts.append(f"{rest} not chosen" if mode != "timeseries" else f"{rest} other")
    return f"{frames.looked_at} frames looked at: " + ", ".join(parts)


def _fitted_lines(
    figure: Figure,
    text: str,
    y: float,
    width_of: WidthOf,
    *,
    largest: float,
    weight: str,
    colour: str = "black",
) -> None:
    size = fitted_size(text, _BODY_WIDTH_PT, width_of, largest=largest, smallest=5, weight=weight)
    lines = [text]
    if size is None:
        size = 5.5
        lines = wrap_text(text, _BODY_WIDTH_PT, width_of, size_pt=size)
    for number, line in enumerate(lines):  # the last line at ``y``, the others above
        figure.text(
            _LEFT,
            y + (len(lines) - 1 - number) * 0.012,
            line.strip(),
            fontsize=size,
            weight=weight,
            color=colour,
            parse_math=False,
        )


def _draw_eye(
    axes: Axes, out_dir: Path, measurements: pd.DataFrame, summary: pd.DataFrame, side: str
) -> None:
    axes.set_axis_off()
    rows = measurements[measurements["side"] == side]
    title = EYE_NAMES[side]
    if not len(rows):
        axes.set_title(f"{title}: not analysed", fontsize=10)
        return
    row = _representative(rows, summary, side)
    image = _read_overlay(out_dir, row.get("overlay"))
    when = f"frame {int(row['frame_index'])}"
    if has_time_axis(measurements):
        when += f", {float(row['timestamp_s']):.2f} s"
    if not bool(_used(rows).any()):
        # Every frame was excluded: show the one that shows most, and say so.
        when += " (excluded; the best available)"
    axes.set_title(f"{title} — {when}", fontsize=10)
    if image is None:
        axes.text(0.5, 0.5, "no overlay image\n(overlays were not written)", ha="center")
        return
    axes.imshow(image, interpolation="antialiased")


def _draw_table(axes: Axes, summary: pd.DataFrame, mode: str, params: ReportParams) -> None:
    axes.set_axis_off()
    table = axes.table(
        cellText=[list(r) for r in _table_rows(summary, mode, params)],
        colLabels=["", "OD (right)", "OS (left)", "OD − OS"],
        colWidths=[0.35, 0.225, 0.225, 0.2],
        loc="upper center",
        cellLoc="center",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(7.5)
    table.scale(1.0, 1.3)
    for (row, column), cell in table.get_celld().items():
        cell.set_edgecolor("0.8")
        if row == 0:
            cell.set_text_props(weight="bold")
            cell.set_facecolor("0.93")
        elif column == 0:
            cell.set_text_props(ha="left")
            cell.PAD = 0.03
        if row > 0 and cell.get_text().get_text() == YES:
            cell.set_facecolor(_YES_FILL)
            cell.set_text_props(weight="bold")
        if row > 0 and cell.get_text().get_text() == BORDERLINE:
            cell.set_facecolor(_BORDERLINE_FILL)
            cell.set_text_props(style="italic")
        if row > 0 and cell.get_text().get_text() == NOT_ASSESSABLE:
            cell.set_text_props(color="0.35", style="italic")
    axes.set_title("Screening indicators (not diagnoses)", fontsize=10)


def _table_rows(
    summary: pd.DataFrame, mode: str, params: ReportParams
) -> list[tuple[str, str, str, str]]:
    """The page table's rows: (what, OD, OS, OD − OS) as text."""
    right, left = _summary_row(summary, "right"), _summary_row(summary, "left")
    both = _summary_row(summary, "right-left")
    series = mode == "timeseries"
    rows: list[tuple[str, str, str, str]] = [
        ("frames used / analysed", _frames(right), _frames(left), ""),
        (
            "MRD1 (mm), median (IQR)",
            _iqr(right, "mrd1_mm"),
            _iqr(left, "mrd1_mm"),
            _signed(both, "mrd1_mm_right_minus_left"),
        ),
        (
            "MRD1 95 % interval (mm)",
            *(_interval(eye, "mrd1_mm") for eye in (right, left)),
            _interval(both, "mrd1_mm_right_minus_left"),
        ),
        (
            "mm per image pixel",
            *(_number(eye, "mm_per_frame_px", ".3f") for eye in (right, left)),
            "",
        ),
        ("MRD2 (mm)", _iqr(right, "mrd2_mm"), _iqr(left, "mrd2_mm"), ""),
        (
            "fissure height (mm)",
            _iqr(right, "fissure_height_mm"),
            _iqr(left, "fissure_height_mm"),
            _signed(both, "fissure_height_mm_right_minus_left"),
        ),
        (
            "visible iris fraction",
            _iqr(right, "visible_iris_fraction", ".2f"),
            _iqr(left, "visible_iris_fraction", ".2f"),
            _signed(both, "visible_iris_fraction_right_minus_left", ".2f"),
        ),
        (
            "segmentation quality (0–1)",
            _number(right, "quality_median", ".2f"),
            _number(left, "quality_median", ".2f"),
            "",
        ),
    ]
    if series:
        rows.append(("MRD1 slope (mm/s)", _slope(right), _slope(left), ""))
        rows.append(("MRD1 fitted change (mm)", _change(right), _change(left), ""))
    return rows + _indicator_rows(right, left, both, series, params)


def _indicator_rows(
    right: Mapping[str, Any],
    left: Mapping[str, Any],
    both: Mapping[str, Any],
    series: bool,
    params: ReportParams,
) -> list[tuple[str, str, str, str]]:
    return [
        (
            f"MRD1 ≤ {params.mrd1_low_mm:g} mm",
            _text(right, "indicator_mrd1_le_2mm"),
            _text(left, "indicator_mrd1_le_2mm"),
            "",
        ),
        (
            # The cells read what summary.csv says; the label says why a photo has none.
            f"fatigability: MRD1 fell ≥ {params.fatigue_drop_mm:g} mm"
            + ("" if series else " (needs --fps)"),
            _text(right, "indicator_fatigable_ge_2mm"),
            _text(left, "indicator_fatigable_ge_2mm"),
            "",
        ),
        (
            f"|MRD1 OD − OS| ≥ {params.asymmetry_noticeable_mm:g} mm",
            "",
            "",
            _text(both, "indicator_asymmetry_ge_1mm"),
        ),
        (
            f"|MRD1 OD − OS| ≥ {params.asymmetry_marked_mm:g} mm",
            "",
            "",
            _text(both, "indicator_asymmetry_ge_2mm"),
        ),
    ]


def _exclusion_lines(summary: pd.DataFrame, context: PageContext) -> list[str]:
    lines = []
    for side in ("right", "left"):
        eye = _summary_row(summary, side)
        counts = eye.get("frames_excluded_reasons")
        excluded = eye.get("frames_excluded")
        if not isinstance(counts, tuple) or not counts or pd.isna(excluded) or not int(excluded):
            lines.append(f"{EYE_NAMES[side]}: no frame excluded.")
            continue
        lines.append(
            f"{EYE_NAMES[side]}: {int(excluded)} frame(s) excluded from the results — "
            + reason_counts_text(counts, context.exclusion_text)
        )
        note = str(eye.get("screening_notes") or "")
        if note.startswith("not assessable"):
            # The reason names repeat the words of the line above; keep the counts only.
            lines.append(f"    {EYE_NAMES[side]} indicators {note.split('; excluded:')[0]}")
    return lines


def _message_lines(errors: pd.DataFrame | None, warnings: pd.DataFrame | None) -> list[str]:
    """Every error and warning recorded for the input, each in full (the page flows on)."""
    messages = [
        f"  • {kind} ({str(row.get('stage', '') or '').strip() or 'run'}): {row.get(column, '')}"
        for frame, kind, column in ((errors, "error", "error"), (warnings, "warning", "warning"))
        if frame is not None and len(frame)
        for _, row in frame.iterrows()
    ]
    if not messages:
        return ["Errors and warnings: none recorded."]
    return ["Errors and warnings recorded for this input:", *messages]


def _representative(rows: pd.DataFrame, summary: pd.DataFrame, side: str) -> Mapping[str, Any]:
    """The used row whose MRD1 is nearest the eye's median; when no frame was used, the most
    telling excluded one (see :func:`_best_excluded`)."""
    used = rows[_used(rows)]
    median = _float(_summary_row(summary, side), "mrd1_mm_median")
    if len(used) and math.isfinite(median):
        distance = (used["mrd1_mm"] - median).abs()
        if distance.notna().any():
            return used.loc[distance.idxmin()].to_dict()
    if len(used):
        return used.iloc[0].to_dict()
    return _best_excluded(rows)


def _best_excluded(rows: pd.DataFrame) -> Mapping[str, Any]:
    """Of frames that were all excluded, the one that shows most: an MRD1 first, then an
    iris circle, then the highest quality signal, then the sharpest (ties: the earliest)."""

    def score(row: pd.Series) -> tuple[bool, bool, float, float]:
        def finite(key: str) -> float:
            value = pd.to_numeric(row.get(key), errors="coerce")
            return float(value) if pd.notna(value) and math.isfinite(value) else -math.inf

        return (
            finite("mrd1_mm") > -math.inf,
            finite("iris_radius_px") > -math.inf,
            finite("quality"),
            finite("sharpness"),
        )

    scores = [score(row) for _, row in rows.iterrows()]
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    return rows.iloc[best].to_dict()


def _read_overlay(out_dir: Path, relative: Any) -> np.ndarray | None:
    if not isinstance(relative, str) or not relative:
        return None
    return _read_image(out_dir / relative)


def _read_image(path: Path) -> np.ndarray | None:
    """The RGB image at ``path``, or None when it is missing or unreadable."""
    if not path.is_file():
        return None
    from ocularseg.io.images import read_image_rgb

    try:
        return read_image_rgb(path)
    except (OcularsegError, OSError):
        return None


def _used(measurements: pd.DataFrame) -> pd.Series:
    if "used" in measurements:
        return measurements["used"].astype(bool)
    return pd.Series(True, index=measurements.index)


def _frame_step(times: np.ndarray) -> float:
    unique = np.unique(times[np.isfinite(times)])
    if unique.size < 2:
        return 0.1
    return float(np.median(np.diff(unique)))


def _summary_row(summary: pd.DataFrame, side: str) -> Mapping[str, Any]:
    rows = summary[summary["side"] == side] if len(summary) else summary
    return rows.iloc[0].to_dict() if len(rows) else {}


def _mode(measurements: pd.DataFrame, summary: pd.DataFrame) -> str:
    for frame in (summary, measurements):
        if len(frame) and "mode" in frame:
            return str(frame["mode"].iloc[0])
    return "keyframes"


def _input_label(*frames: pd.DataFrame) -> str:
    for frame in frames:
        if frame is not None and len(frame) and "input" in frame:
            return str(frame["input"].iloc[0])
    return "input"


def _float(row: Mapping[str, Any], key: str) -> float:
    value = row.get(key)
    try:
        return float(value) if value is not None and not pd.isna(value) else math.nan
    except (TypeError, ValueError):
        return math.nan


def _number(row: Mapping[str, Any], key: str, spec: str = ".2f") -> str:
    value = _float(row, key)
    return _minus(number_text(value, spec)) if math.isfinite(value) else "—"


def _signed(row: Mapping[str, Any], key: str, spec: str = ".2f") -> str:
    value = _float(row, key)
    return _minus(number_text(value, "+" + spec)) if math.isfinite(value) else "—"


def _iqr(row: Mapping[str, Any], measure: str, spec: str = ".2f") -> str:
    median = _float(row, f"{measure}_median")
    if not math.isfinite(median):
        return "—"
    low, high = _float(row, f"{measure}_q25"), _float(row, f"{measure}_q75")
    text = _minus(number_text(median, spec))
    if _float(row, "frames_used") < 2:
        return text  # one frame: no spread to show
    if math.isfinite(low) and math.isfinite(high):
        text += f" ({_minus(number_text(low, spec))}–{_minus(number_text(high, spec))})"
    return text


def _interval(row: Mapping[str, Any], measure: str, spec: str = ".2f") -> str:
    """``[low, high]`` of the 95 % interval (``report.interval``), or a dash."""
    low, high = _float(row, f"{measure}_ci_low"), _float(row, f"{measure}_ci_high")
    if not (math.isfinite(low) and math.isfinite(high)):
        return "—"
    return _minus(f"[{number_text(low, spec)}, {number_text(high, spec)}]")


def _minus(text: str) -> str:
    """Typographic minus sign, as a clinician writes it."""
    return text.replace("-", "−")


def _slope(row: Mapping[str, Any]) -> str:
    slope = _float(row, "mrd1_mm_slope_per_s")
    return _minus(number_text(slope, "+.3f")) if math.isfinite(slope) else "—"


def _change(row: Mapping[str, Any]) -> str:
    """The fitted change over the span it was fitted on, e.g. "−3.8 over 7.8 s"."""
    change, span = _float(row, "mrd1_mm_fitted_change"), _float(row, "time_span_s")
    if not (math.isfinite(change) and math.isfinite(span)):
        return "—"
    return _minus(f"{number_text(change, '+.1f')} over {span:.1f} s")


def _frames(row: Mapping[str, Any]) -> str:
    used, total = row.get("frames_used"), row.get("frames_total")
    if used is None or pd.isna(used) or total is None or pd.isna(total):
        return "—"
    return f"{int(used)} / {int(total)}"


def _text(row: Mapping[str, Any], key: str) -> str:
    value = row.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return NOT_ASSESSABLE
    return str(value)


def _save(figure: Figure, path: Path, *, dpi: float | None = None) -> None:
    suffix = path.suffix.lstrip(".")
    _write_drawn(path, lambda tmp: figure.savefig(tmp, format=suffix, dpi=dpi, facecolor="white"))


def _save_png(figures: list[Figure], path: Path) -> None:
    """The pages one below the other, a grey band between them, as one PNG."""
    if len(figures) == 1:
        _save(figures[0], path, dpi=_PAGE_DPI)
        return
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    images = []
    for figure in figures:
        figure.set_facecolor("white")
        canvas = FigureCanvasAgg(figure)
        canvas.draw()
        page = np.asarray(canvas.buffer_rgba())[..., :3]
        images += [page, np.full((_PAGE_GAP_PX, page.shape[1], 3), 160, np.uint8)]
    stacked = Image.fromarray(np.vstack(images[:-1]))
    dpi = (_PAGE_DPI, _PAGE_DPI)
    _write_drawn(path, lambda tmp: stacked.save(tmp, format="png", dpi=dpi))


def _save_pdf(figures: list[Figure], path: Path) -> None:
    """All pages in one PDF."""
    from matplotlib.backends.backend_pdf import PdfPages

    def writer(tmp: Path) -> None:
        with PdfPages(tmp) as pdf:
            for figure in figures:
                pdf.savefig(figure, facecolor="white")

    _write_drawn(path, writer)


def _write_drawn(path: Path, writer: Callable[[Path], None]) -> None:
    """``report.tables.write_atomic`` with matplotlib's own failures as ReportError too."""
    from ocularseg.report.tables import write_atomic

    try:
        write_atomic(path, writer)
    except ReportError:
        raise
    except (RuntimeError, ValueError) as exc:  # pragma: no cover - matplotlib failures
        raise ReportError(f"cannot draw {path}: {exc}") from exc


def input_frames(
    measurements: pd.DataFrame, summary: pd.DataFrame, errors: pd.DataFrame, label: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The rows of the three run tables that belong to input ``label``."""
    return input_rows(measurements, label), input_rows(summary, label), input_rows(errors, label)


def input_rows(frame: pd.DataFrame | None, label: str) -> pd.DataFrame:
    """The rows of a run table (with an ``input`` column) that belong to input ``label``."""
    if frame is None or not len(frame) or "input" not in frame:
        return frame.iloc[0:0] if frame is not None else pd.DataFrame()
    return frame[frame["input"] == label]
