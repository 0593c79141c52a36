"""Overlays of one eye crop and contact sheets of several, for a clinician to check.

``render_overlay`` draws, on a copy of the 480×320 crop (crop px, y down, pixel (j, i)
centred on the point (x, y) = (j, i) as in ``stages.measure``):

* the segmentation as semi-transparent class colours (``LABEL_COLOURS_RGB``, Okabe-Ito,
  background left clear) with a 1-px outline of each class region in the full colour;
* the fitted iris circle as a crisp 1-px yellow line (skipped when ``iris_radius_px``
  is NaN) with a small cross at its centre;
* the MRD1 line in vermillion: a vertical segment in the centre column
  (``floor(iris_cx_px + 0.5)``, the column the measurement used) from the iris centre up to
  the upper-lid margin at ``iris_cy_px − mrd1_px``, with a tick at the margin; and the
  MRD2 line in white, down to ``iris_cy_px + mrd2_px``. MRD1, the key measure, is the
  most visible line: 3 px wide over a 7-px dark underlay; MRD2 is 1 px wide over a 5-px
  underlay. The underlays keep both visible on skin, sclera and iris alike;
* the corneal light reflex (``reflex_x_px``, ``reflex_y_px``), when found, as a white
  diamond around it;
* a text block at the top left: ``OD (right)`` / ``OS (left)``, MRD1 in mm, the visible
  iris fraction, MRD1 from the reflex when there is one, and notes on the crop (eye at
  the frame edge, small in the frame), white with a dark outline so it reads on any
  background;
* when the measurement is excluded from the results (a blink, a failed quality gate), a
  vermillion "EXCLUDED: <reasons in words>" label under the text block, and "(excluded)"
  beside the MRD1 value;
* a colour legend along the bottom edge (class colours, iris circle, MRD1, MRD2).

``contact_sheet_pages`` pages many overlays into sheets of at most ``SHEET_TILES`` tiles,
each tile at full overlay resolution, so the labels stay readable.

Colours are RGB throughout; OpenCV is imported lazily.
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ocularseg.core.errors import InputError, OcularsegError, ReportError
from ocularseg.core.labels import LABEL_COLOURS_RGB, Label
from ocularseg.core.records import note_words
from ocularseg.core.text import number_text
from ocularseg.io.images import write_image_atomic

#: Opacity of the class colours over the crop (0 = invisible, 1 = opaque).
CLASS_ALPHA = 0.4
IRIS_CIRCLE_RGB: tuple[int, int, int] = (240, 228, 66)  # Okabe-Ito yellow
MRD1_RGB: tuple[int, int, int] = (213, 94, 0)  # Okabe-Ito vermillion
#: OpenCV line thickness of each lid line and of its dark underlay. OpenCV draws
#: thickness 1, 2, 3, 5 as 1, 3, 5, 7 px wide lines: MRD1, the key measure, is 3 px of colour
#: in a 7-px underlay; MRD2 is 1 px in a 5-px underlay.
_MRD1_THICKNESS = (2, 5)
_MRD2_THICKNESS = (1, 3)
MRD2_RGB: tuple[int, int, int] = (255, 255, 255)
TEXT_RGB: tuple[int, int, int] = (255, 255, 255)
OUTLINE_RGB: tuple[int, int, int] = (0, 0, 0)
SHEET_BACKGROUND_RGB: tuple[int, int, int] = (32, 32, 32)

SIDE_LABELS: dict[str, str] = {"right": "OD (right)", "left": "OS (left)"}
EXCLUDED_RGB: tuple[int, int, int] = (213, 94, 0)  # Okabe-Ito vermillion
LEGEND_HEIGHT_PX = 18
#: File-name stem of the contact-sheet pages: ``contact_sheet_01.png``, ``_02`` …
CONTACT_SHEET_STEM = "contact_sheet"
#: Tiles per contact-sheet page (rows × columns) and tile width (px).
SHEET_COLUMNS = 3
SHEET_ROWS = 4
SHEET_TILES = SHEET_COLUMNS * SHEET_ROWS
SHEET_TILE_WIDTH_PX = 480

_FONT_SCALE = 0.45  # ~10 px cap height: legible at 480×320 without hiding the eye
_LINE_STEP_PX = 16
_TEXT_MARGIN_PX = 6
_CAPTION_SCALE = 0.4
_CAPTION_HEIGHT_PX = 20
_TICK_HALF_PX = 5
_SUBPIXEL_SHIFT = 4  # cv2 fixed-point bits, so the circle sits at sub-pixel precision


def render_overlay(
    crop_rgb: np.ndarray,
    labels: np.ndarray,
    values: Mapping[str, Any],
    side: str,
    *,
    excluded: Sequence[str] = (),
    flags: Sequence[str] = (),
    legend: bool = True,
    unreliable: Collection[str] = (),
) -> np.ndarray:
    """Draw segmentation, iris circle, MRD1/MRD2, a text block and a legend over one crop.

    Args:
        crop_rgb: (H, W, 3) uint8 RGB eye crop, normally (320, 480, 3) (crop px).
        labels: (H, W) integer label map with values in ``Label``.
        values: one eye's measurements (``iris_cx_px``, ``iris_cy_px``,
            ``iris_radius_px``, ``mrd1_px``, ``mrd2_px`` in crop px; ``mrd1_mm``;
            ``visible_iris_fraction``). Missing or NaN values skip the element that
            needs them.
        side: patient's side, ``"right"`` (OD) or ``"left"`` (OS).
        excluded: why this measurement is excluded from the results, in words (empty =
            it is used); drawn as an "EXCLUDED: …" label.
        flags: the row's flags; the notes among them (flags with words in
            ``core.records.PLAIN_WORDS`` that do not exclude: ``at_border``,
            ``iris_radius_shared`` …) are written in words in the text block.
        legend: draw the colour legend along the bottom edge.
        unreliable: class names the model marks unreliable (``model.json``
            ``output.unreliable_classes``); the legend calls them "(unreliable)".

    Returns:
        A new (H, W, 3) uint8 RGB image; the inputs are not modified.

    Raises:
        InputError: wrong shapes, dtypes, label values or side.
    """
    crop_rgb, labels = _check_inputs(crop_rgb, labels)
    if side not in SIDE_LABELS:
        raise InputError(f"side must be one of {list(SIDE_LABELS)}, got {side!r}")
    out = _tinted(crop_rgb, labels)
    _draw_iris_and_lids(out, values)
    _draw_reflex(out, values)
    reasons = [str(reason) for reason in excluded if str(reason).strip()]
    bottom = _text_block(out, _text_lines(values, side, bool(reasons), flags))
    if reasons:
        _excluded_label(out, "EXCLUDED: " + "; ".join(reasons), bottom + 4)
    if legend:
        draw_legend(out, unreliable)
    return out


def _tinted(crop_rgb: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The crop with the classes blended in (``CLASS_ALPHA``) and outlined at full colour."""
    import cv2

    image = crop_rgb.astype(np.float32)
    colours = np.zeros((len(Label), 3), np.float32)
    for label, rgb in LABEL_COLOURS_RGB.items():
        colours[int(label)] = rgb
    tinted = labels != Label.BACKGROUND
    image[tinted] = (1.0 - CLASS_ALPHA) * image[tinted] + CLASS_ALPHA * colours[labels[tinted]]
    out = np.ascontiguousarray(np.clip(np.rint(image), 0, 255).astype(np.uint8))
    kernel = np.ones((3, 3), np.uint8)
    for label in Label:
        if label == Label.BACKGROUND:
            continue
        mask = (labels == label).astype(np.uint8)
        if not mask.any():
            continue
        # Outline = region minus its erosion; the crop border is not an edge of the region.
        inner = cv2.erode(mask, kernel, borderType=cv2.BORDER_REPLICATE)
        out[(mask > 0) & (inner == 0)] = LABEL_COLOURS_RGB[label]
    return out


def _draw_iris_and_lids(out: np.ndarray, values: Mapping[str, Any]) -> None:
    """The iris circle, its centre and the MRD1 / MRD2 lines (in place, crop px)."""
    import cv2

    cx, cy, radius = (
        _number(values, key) for key in ("iris_cx_px", "iris_cy_px", "iris_radius_px")
    )
    if all(math.isfinite(v) for v in (cx, cy, radius)) and radius > 0:
        # Crisp 1-px line at full colour (anti-aliasing would wash it out at 1 px), so the
        # fit can be compared with the limbus underneath.
        scale = 1 << _SUBPIXEL_SHIFT
        centre = (round(cx * scale), round(cy * scale))
        cv2.circle(
            out, centre, round(radius * scale), IRIS_CIRCLE_RGB, 1, cv2.LINE_8, _SUBPIXEL_SHIFT
        )
    if not (math.isfinite(cx) and math.isfinite(cy)):
        return
    column = math.floor(cx + 0.5)
    centre_row = round(cy)
    Point = tuple[int, int]
    segments: list[tuple[Point, Point, tuple[int, int, int], tuple[int, int]]] = []
    for key, sign, colour, thickness in (
        ("mrd1_px", -1.0, MRD1_RGB, _MRD1_THICKNESS),
        ("mrd2_px", 1.0, MRD2_RGB, _MRD2_THICKNESS),
    ):
        length = _number(values, key)
        if math.isfinite(length):
            end_row = round(cy + sign * length)
            segments.append(((column, centre_row), (column, end_row), colour, thickness))
            tick = ((column - _TICK_HALF_PX, end_row), (column + _TICK_HALF_PX, end_row))
            segments.append((*tick, colour, thickness))
    # All dark underlays first, so one line's underlay never covers the other line.
    for start, end, _, (_, underlay) in segments:
        cv2.line(out, start, end, OUTLINE_RGB, underlay, cv2.LINE_8)
    for start, end, colour, (line, _) in segments:
        cv2.line(out, start, end, colour, line, cv2.LINE_8)
    if math.isfinite(radius):
        cv2.drawMarker(out, (column, centre_row), IRIS_CIRCLE_RGB, cv2.MARKER_CROSS, 7, 1)


def _draw_reflex(out: np.ndarray, values: Mapping[str, Any]) -> None:
    """The corneal light reflex: a white diamond on a dark one, around (not over) it."""
    import cv2

    rx, ry = _number(values, "reflex_x_px"), _number(values, "reflex_y_px")
    if math.isfinite(rx) and math.isfinite(ry):
        spot = (round(rx), round(ry))
        cv2.drawMarker(out, spot, OUTLINE_RGB, cv2.MARKER_DIAMOND, 13, 3)
        cv2.drawMarker(out, spot, MRD2_RGB, cv2.MARKER_DIAMOND, 13, 1)


#: A legend entry: its text, colour and OpenCV line thickness (0 for a filled box).
LegendItem = tuple[str, tuple[int, int, int], int]


def legend_items(unreliable: Collection[str] = ()) -> list[LegendItem]:
    """The legend's entries; a class named in ``unreliable`` (the model's
    ``output.unreliable_classes``) reads "caruncle (unreliable)"."""
    items: list[LegendItem] = []
    for label in Label:
        if label:
            name = label.name.lower()
            text = f"{name} (unreliable)" if name in unreliable else name
            items.append((text, LABEL_COLOURS_RGB[label], 0))
    items += [
        ("iris circle", IRIS_CIRCLE_RGB, 1),
        ("MRD1", MRD1_RGB, _MRD1_THICKNESS[0]),
        ("MRD2", MRD2_RGB, _MRD2_THICKNESS[0]),
    ]
    return items


def _legend_rows(items: list[LegendItem], width: int) -> list[list[LegendItem]]:
    """The entries split into rows that each fit ``width`` px (a row holds one at least)."""
    rows: list[list[LegendItem]] = [[]]
    x = _TEXT_MARGIN_PX
    for item in items:
        step = 14 + _text_width(item[0], _CAPTION_SCALE) + 12
        if rows[-1] and x + step - 12 > width:
            rows.append([])
            x = _TEXT_MARGIN_PX
        rows[-1].append(item)
        x += step
    return rows


def draw_legend(image: np.ndarray, unreliable: Collection[str] = ()) -> None:
    """Draw the colour legend in a dark strip along the bottom edge of ``image`` (in place):
    one row of ``LEGEND_HEIGHT_PX``, two when the entries do not fit the width (a class the
    model marks unreliable, named in ``unreliable``, makes its entry longer)."""
    import cv2

    height, width = image.shape[:2]
    rows = _legend_rows(legend_items(unreliable), width)
    top = height - LEGEND_HEIGHT_PX * len(rows)
    if top < 0:
        return
    strip = image[top:].astype(np.float32)
    image[top:] = np.clip(np.rint(0.3 * strip + 0.7 * np.float32(OUTLINE_RGB)), 0, 255).astype(
        np.uint8
    )
    for number, row in enumerate(rows):
        x = _TEXT_MARGIN_PX
        mid = top + number * LEGEND_HEIGHT_PX + LEGEND_HEIGHT_PX // 2
        for text, colour, thickness in row:
            if thickness == 0:
                cv2.rectangle(image, (x, mid - 5), (x + 10, mid + 5), colour, -1)
            else:
                cv2.line(image, (x, mid), (x + 10, mid), colour, thickness)
            x += 14
            _put_text(image, text, (x, mid + 5), _CAPTION_SCALE)
            x += _text_width(text, _CAPTION_SCALE) + 12


def _excluded_label(image: np.ndarray, text: str, top: int) -> None:
    """White text on a vermillion box, wrapped to the image width, from row ``top``."""
    import cv2

    max_width = image.shape[1] - 2 * _TEXT_MARGIN_PX - 8
    lines = _wrap(_ascii(text), max_width, _FONT_SCALE)
    (_, cap_height), _ = cv2.getTextSize("M", cv2.FONT_HERSHEY_SIMPLEX, _FONT_SCALE, 1)
    box_width = max(_text_width(line, _FONT_SCALE) for line in lines) + 8
    box_bottom = top + len(lines) * _LINE_STEP_PX + 4
    cv2.rectangle(
        image,
        (_TEXT_MARGIN_PX - 2, top),
        (_TEXT_MARGIN_PX - 2 + box_width, box_bottom),
        EXCLUDED_RGB,
        -1,
    )
    for number, line in enumerate(lines):
        baseline = top + 4 + cap_height + number * _LINE_STEP_PX
        _put_text(image, line, (_TEXT_MARGIN_PX + 2, baseline), _FONT_SCALE)


def contact_sheet(
    images: Sequence[np.ndarray],
    captions: Sequence[str],
    columns: int = 4,
    tile_width: int = 240,
) -> np.ndarray:
    """Arrange images in a grid, each scaled to ``tile_width`` with a caption below.

    Tiles keep their aspect ratio; every tile is as tall as the tallest scaled image
    (shorter ones are padded at the bottom with the dark background). Captions too long
    for the tile are cut with ``...``; non-ASCII characters are drawn as ``?`` (OpenCV's
    Hershey fonts are ASCII only).

    Args:
        images: RGB (H, W, 3) or grey (H, W) uint8 images.
        captions: one caption per image.
        columns: tiles per row (≥ 1).
        tile_width: width of each tile (px, ≥ 16).

    Returns:
        RGB uint8 image of ``min(N, columns) * tile_width`` px wide and
        ``ceil(N / columns) * (tile_height + 20)`` px tall.

    Raises:
        InputError: no images, a caption count that differs, or bad sizes / dtypes.
    """
    _check_sheet_counts(images, captions)
    if columns < 1:
        raise InputError(f"contact sheet columns must be >= 1, got {columns}")
    if tile_width < 16:
        raise InputError(f"contact sheet tile_width must be >= 16 px, got {tile_width}")
    tiles = [_tile(image, number, tile_width) for number, image in enumerate(images)]
    tile_height = max(tile.shape[0] for tile in tiles)
    cell_height = tile_height + _CAPTION_HEIGHT_PX
    n_columns = min(len(tiles), columns)
    n_rows = math.ceil(len(tiles) / columns)
    sheet = np.empty((n_rows * cell_height, n_columns * tile_width, 3), np.uint8)
    sheet[:] = SHEET_BACKGROUND_RGB
    for number, (tile, caption) in enumerate(zip(tiles, captions, strict=True)):
        top = (number // columns) * cell_height
        left = (number % columns) * tile_width
        sheet[top : top + tile.shape[0], left : left + tile_width] = tile
        text = _fit_text(_ascii(caption), tile_width - 2 * 4, _CAPTION_SCALE)
        _put_text(sheet, text, (left + 4, top + tile_height + 14), _CAPTION_SCALE)
    return sheet


def _check_sheet_counts(images: Sequence[np.ndarray], captions: Sequence[str]) -> None:
    if len(captions) != len(images):
        raise InputError(f"contact sheet: {len(images)} images but {len(captions)} captions")
    if not images:
        raise InputError("contact sheet needs at least one image, got none")


def _tile(image: np.ndarray, number: int, tile_width: int) -> np.ndarray:
    """Contact-sheet image ``number`` as RGB, scaled to ``tile_width`` px wide."""
    import cv2

    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or min(image.shape[:2]) < 1:
        raise InputError(
            f"contact sheet image {number}: expected uint8 (H, W[, 3]), "
            f"got {image.dtype} {image.shape}"
        )
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    elif image.shape[2] != 3:
        raise InputError(f"contact sheet image {number}: expected 3 channels, got {image.shape}")
    height = max(1, round(image.shape[0] * tile_width / image.shape[1]))
    shrink = image.shape[1] > tile_width
    return cv2.resize(
        np.ascontiguousarray(image),
        (tile_width, height),
        interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR,
    )


def contact_sheet_pages(
    images: Sequence[np.ndarray],
    captions: Sequence[str],
    *,
    per_page: int = SHEET_TILES,
    columns: int = SHEET_COLUMNS,
    tile_width: int = SHEET_TILE_WIDTH_PX,
) -> list[np.ndarray]:
    """Contact sheets of at most ``per_page`` tiles each, in order (see :func:`contact_sheet`).

    At the defaults a page is 3 × 4 overlays at their full 480 px width (1440 px wide),
    so the overlay text and the captions stay readable however many frames there are.

    Raises:
        InputError: no images, a caption count that differs, bad sizes or ``per_page < 1``.
    """
    if per_page < 1:
        raise InputError(f"contact sheet per_page must be >= 1, got {per_page}")
    _check_sheet_counts(images, captions)
    return [
        contact_sheet(
            images[start : start + per_page],
            captions[start : start + per_page],
            columns=columns,
            tile_width=tile_width,
        )
        for start in range(0, len(images), per_page)
    ]


def write_png(path: str | os.PathLike[str], image: np.ndarray) -> Path:
    """Write an RGB (or grey) uint8 image as PNG, atomically.

    Returns:
        ``path`` as a Path.

    Raises:
        ReportError: ``path`` does not end in ``.png``, the image is not uint8, or the file
            could not be written (the path is named).
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ReportError(f"{path}: write_png writes .png files only")
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ReportError(f"{path}: expected a uint8 image, got {image.dtype} {image.shape}")
    try:
        write_image_atomic(path, np.ascontiguousarray(image))
    except OcularsegError:
        raise
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ReportError(f"cannot write {path}: {reason}") from exc
    return path


def _check_inputs(crop_rgb: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    crop_rgb = np.asarray(crop_rgb)
    labels = np.asarray(labels)
    if crop_rgb.dtype != np.uint8 or crop_rgb.ndim != 3 or crop_rgb.shape[2] != 3:
        raise InputError(f"crop must be uint8 (H, W, 3) RGB, got {crop_rgb.dtype} {crop_rgb.shape}")
    if labels.shape != crop_rgb.shape[:2]:
        raise InputError(
            f"label map {labels.shape} does not match the crop {crop_rgb.shape[:2]} (H, W)"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise InputError(f"label map must hold integers, got {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= len(Label)):
        raise InputError(
            f"label map values must be in 0..{len(Label) - 1}, "
            f"got {int(labels.min())}..{int(labels.max())}"
        )
    return crop_rgb, labels.astype(np.intp, copy=False)


def _number(values: Mapping[str, Any], key: str) -> float:
    value = values.get(key)
    try:
        return float(value) if value is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def _text_lines(
    values: Mapping[str, Any], side: str, excluded: bool, flags: Sequence[str]
) -> list[str]:
    mrd1_mm = _number(values, "mrd1_mm")
    fraction = _number(values, "visible_iris_fraction")
    suffix = " (excluded)" if excluded else ""
    lines = [SIDE_LABELS[side]]
    mrd1_text = f"MRD1 {number_text(mrd1_mm)} mm" if math.isfinite(mrd1_mm) else "MRD1 n/a"
    lines.append(mrd1_text + suffix)
    if math.isfinite(fraction):
        lines.append(f"visible iris {number_text(fraction, '.2f')}")
    else:
        lines.append("visible iris n/a")
    reflex_mm = _number(values, "mrd1_reflex_mm")
    if math.isfinite(reflex_mm):
        lines.append(f"from reflex (diamond) {number_text(reflex_mm)} mm")
    notes = note_words(flags)
    if notes:
        lines.append("note: " + ", ".join(notes))
    return lines


def _text_block(image: np.ndarray, lines: list[str]) -> int:
    """Draw the text block at the top left; return the row just below its last line."""
    import cv2

    max_width = image.shape[1] - 2 * _TEXT_MARGIN_PX
    wrapped: list[str] = []
    for line in lines:
        wrapped.extend(_wrap(_ascii(line), max_width, _FONT_SCALE))
    (_, cap_height), _ = cv2.getTextSize("M", cv2.FONT_HERSHEY_SIMPLEX, _FONT_SCALE, 1)
    baseline_y = _TEXT_MARGIN_PX + cap_height
    for number, line in enumerate(wrapped):
        baseline_y = _TEXT_MARGIN_PX + cap_height + number * _LINE_STEP_PX
        _put_text(image, line, (_TEXT_MARGIN_PX, baseline_y), _FONT_SCALE)
    return baseline_y + 4


def _put_text(image: np.ndarray, text: str, origin: tuple[int, int], scale: float) -> None:
    """White anti-aliased text with a 1-px dark halo, legible on skin, sclera and iris.

    The halo is the dilated glyph mask rather than a second, thicker ``putText``: OpenCV
    widens the glyph advance with the thickness, so a thick outline drifts off the text.
    """
    import cv2

    font = cv2.FONT_HERSHEY_SIMPLEX
    (width, height), baseline = cv2.getTextSize(text, font, scale, 1)
    pad = 3
    x0, y0 = max(origin[0] - pad, 0), max(origin[1] - height - pad, 0)
    x1 = min(origin[0] + width + pad, image.shape[1])
    y1 = min(origin[1] + baseline + pad, image.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.putText(mask, text, (origin[0] - x0, origin[1] - y0), font, scale, 255, 1, cv2.LINE_AA)
    halo = cv2.dilate(mask, np.ones((3, 3), np.uint8)).astype(np.float32)[..., None] / 255.0
    glyph = mask.astype(np.float32)[..., None] / 255.0
    region = image[y0:y1, x0:x1].astype(np.float32)
    region = region * (1.0 - halo) + np.float32(OUTLINE_RGB) * halo
    region = region * (1.0 - glyph) + np.float32(TEXT_RGB) * glyph
    image[y0:y1, x0:x1] = np.clip(np.rint(region), 0, 255).astype(np.uint8)


def _text_width(text: str, scale: float) -> int:
    import cv2

    (width, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    return width


def _wrap(text: str, max_width: int, scale: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and _text_width(candidate, scale) > max_width:
            lines.append(current)
            current = word
        else:
            current = candidate
    lines.append(current)
    return [_fit_text(line, max_width, scale) for line in lines]


def _fit_text(text: str, max_width: int, scale: float) -> str:
    if _text_width(text, scale) <= max_width:
        return text
    while text and _text_width(text + "...", scale) > max_width:
        text = text[:-1]
    return text + "..."


def _ascii(text: str) -> str:
    return "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in str(text))
