"""Overlays and contact sheets: what is drawn where, shapes, errors, atomic PNG writes."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from ocularseg.core.errors import InputError, ReportError
from ocularseg.core.labels import LABEL_COLOURS_RGB, Label
from ocularseg.io.images import read_image_rgb
from ocularseg.report.overlay import (
    CLASS_ALPHA,
    EXCLUDED_RGB,
    IRIS_CIRCLE_RGB,
    LEGEND_HEIGHT_PX,
    MRD1_RGB,
    MRD2_RGB,
    OUTLINE_RGB,
    contact_sheet,
    contact_sheet_pages,
    legend_items,
    render_overlay,
    write_png,
)

H, W = 320, 480
CX, CY, R = 240.5, 170.0, 60.0  # cx on a half pixel: the centre column rounds up to 241
COLUMN = 241
MRD1_PX, MRD2_PX = 40.0, 50.0

# (N images, columns) -> (grid rows, grid columns) of a contact sheet.
SHEET_CASES = [(1, 4, 1, 1), (4, 4, 1, 4), (5, 4, 2, 4), (7, 3, 3, 3), (2, 1, 2, 1)]


def _scene() -> tuple[np.ndarray, np.ndarray, dict]:
    """Grey crop; sclera band rows 130–219, iris disc (with pupil) cut by the same band."""
    crop = np.full((H, W, 3), 100, np.uint8)
    labels = np.zeros((H, W), np.uint8)
    rows, cols = np.mgrid[0:H, 0:W]
    opening = (rows >= 130) & (rows < 220) & (cols >= 80) & (cols < 400)
    labels[opening] = Label.SCLERA
    disc = (rows - CY) ** 2 + (cols - CX) ** 2 <= R**2
    labels[opening & disc] = Label.IRIS
    labels[opening & ((rows - CY) ** 2 + (cols - CX) ** 2 <= 15**2)] = Label.PUPIL
    labels[opening & (cols < 95)] = Label.CARUNCLE
    values = {
        "iris_cx_px": CX,
        "iris_cy_px": CY,
        "iris_radius_px": R,
        "mrd1_px": MRD1_PX,
        "mrd2_px": MRD2_PX,
        "mrd1_mm": 3.9,
        "visible_iris_fraction": 0.71,
    }
    return crop, labels, values


def test_shape_dtype_and_inputs_untouched() -> None:
    crop, labels, values = _scene()
    before = crop.copy(), labels.copy()
    out = render_overlay(crop, labels, values, "right")
    assert out.shape == (H, W, 3) and out.dtype == np.uint8
    assert np.array_equal(crop, before[0]) and np.array_equal(labels, before[1])


def test_classes_tinted_and_outlined() -> None:
    crop, labels, values = _scene()
    out = render_overlay(crop, labels, values, "right")
    sclera = np.array(LABEL_COLOURS_RGB[Label.SCLERA], float)
    expected = np.rint((1 - CLASS_ALPHA) * 100 + CLASS_ALPHA * sclera)
    assert np.array_equal(out[175, 350], expected)  # inside the sclera, away from lines
    assert tuple(out[130, 350]) == LABEL_COLOURS_RGB[Label.SCLERA]  # its top edge
    assert tuple(out[175, 87]) != (100, 100, 100)  # caruncle tinted
    assert tuple(out[300, 350]) == (100, 100, 100)  # background left clear


def test_iris_circle_drawn_at_the_radius() -> None:
    crop, labels, values = _scene()
    no_lines = {**values, "mrd1_px": math.nan, "mrd2_px": math.nan}
    with_circle = render_overlay(crop, labels, no_lines, "left").astype(int)
    without = render_overlay(crop, labels, {**no_lines, "iris_radius_px": math.nan}, "left")
    changed = np.argwhere(np.abs(with_circle - without.astype(int)).sum(axis=2) > 0)
    distance = np.hypot(changed[:, 0] - CY, changed[:, 1] - CX)
    ring = changed[distance > 6]  # away from the centre cross
    ring_distance = np.hypot(ring[:, 0] - CY, ring[:, 1] - CX)
    assert np.all(np.abs(ring_distance - R) <= 1.0)
    assert len(ring) >= 0.8 * 2 * math.pi * R  # the whole circle, not a fragment
    # Full colour on the ring, e.g. at its top (x = 240.5, y = 110) and its left (x = 180.5).
    assert (np.abs(with_circle[tuple(ring.T)] - IRIS_CIRCLE_RGB).sum(axis=1) == 0).mean() > 0.9
    top = {tuple(px) for px in with_circle[int(CY - R), COLUMN - 2 : COLUMN + 2]}
    left = {tuple(px) for px in with_circle[int(CY), int(CX - R) : int(CX - R) + 2]}
    assert IRIS_CIRCLE_RGB in top and IRIS_CIRCLE_RGB in left


def test_mrd_lines_in_the_centre_column() -> None:
    crop, labels, values = _scene()
    out = render_overlay(crop, labels, values, "right")
    upper_lid_row = round(CY - MRD1_PX)
    lower_lid_row = round(CY + MRD2_PX)
    for row in range(upper_lid_row + 3, round(CY) - 4):  # clear of the tick and the cross
        # MRD1, the key measure, is the widest line: 3 px of colour between dark edges.
        assert [tuple(out[row, COLUMN + d]) for d in (-1, 0, 1)] == [MRD1_RGB] * 3
        assert tuple(out[row, COLUMN - 2]) == OUTLINE_RGB
        assert tuple(out[row, COLUMN + 3]) == OUTLINE_RGB
    for row in range(round(CY) + 5, lower_lid_row - 1):
        assert tuple(out[row, COLUMN]) == MRD2_RGB
        assert tuple(out[row, COLUMN - 1]) == OUTLINE_RGB
        assert tuple(out[row, COLUMN + 1]) == OUTLINE_RGB
    # Ticks mark the lid margins.
    assert tuple(out[upper_lid_row, COLUMN + 4]) == MRD1_RGB
    assert tuple(out[lower_lid_row, COLUMN - 4]) == MRD2_RGB
    # Nothing beyond the margins.
    assert tuple(out[upper_lid_row - 4, COLUMN]) != MRD1_RGB


def test_nan_values_skip_the_elements_that_need_them() -> None:
    crop, labels, values = _scene()
    blank = dict.fromkeys(values, math.nan)
    out = render_overlay(crop, labels, blank, "left", legend=False)
    colours = {tuple(px) for px in out.reshape(-1, 3)}
    assert MRD1_RGB not in colours and IRIS_CIRCLE_RGB not in colours
    partial = render_overlay(crop, labels, {**values, "mrd1_px": math.nan}, "left", legend=False)
    assert MRD1_RGB not in {tuple(px) for px in partial.reshape(-1, 3)}
    assert MRD2_RGB in {tuple(px) for px in partial[:, COLUMN]}


def test_text_block_top_left_changes_with_side_and_flags() -> None:
    crop, labels, values = _scene()
    right = render_overlay(crop, labels, values, "right")
    left = render_overlay(crop, labels, values, "left")
    flagged = render_overlay(crop, labels, values, "right", flags=("iris_not_found", "at_border"))
    block = (slice(0, 60), slice(0, 200))
    assert (right[block] == 255).all(axis=2).any()  # white text present
    assert not np.array_equal(right[block], left[block])  # OD vs OS
    assert np.array_equal(right[:50], flagged[:50])  # first three lines unchanged …
    assert not np.array_equal(right[50:75, :300], flagged[50:75, :300])  # … a note below
    assert np.array_equal(right[120:], flagged[120:])  # and nothing else moves


def test_excluded_label_is_drawn_in_vermillion_below_the_text() -> None:
    crop, labels, values = _scene()
    used = render_overlay(crop, labels, values, "right")
    excluded = render_overlay(crop, labels, values, "right", excluded=["blink"])
    assert not np.array_equal(used[:50, :300], excluded[:50, :300])  # "(excluded)" by MRD1
    label = excluded[52:72, 4:60]
    assert (label == EXCLUDED_RGB).all(axis=2).any()
    assert not (used[52:72, 4:60] == EXCLUDED_RGB).all(axis=2).any()
    assert np.array_equal(used[130:], excluded[130:])


def test_legend_strip_along_the_bottom() -> None:
    crop, labels, values = _scene()
    with_legend = render_overlay(crop, labels, values, "right")
    without = render_overlay(crop, labels, values, "right", legend=False)
    strip = slice(H - LEGEND_HEIGHT_PX, H)
    assert np.array_equal(with_legend[: H - LEGEND_HEIGHT_PX], without[: H - LEGEND_HEIGHT_PX])
    colours = {tuple(px) for px in with_legend[strip].reshape(-1, 3)}
    for label in (Label.SCLERA, Label.IRIS, Label.PUPIL, Label.CARUNCLE):
        assert LABEL_COLOURS_RGB[label] in colours
    assert IRIS_CIRCLE_RGB in colours and MRD1_RGB in colours


def test_legend_names_the_classes_the_model_marks_unreliable() -> None:
    texts = [text for text, _, _ in legend_items(("caruncle", "pupil"))]
    assert texts[:4] == ["sclera", "iris", "pupil (unreliable)", "caruncle (unreliable)"]
    assert [text for text, _, _ in legend_items()][:4] == ["sclera", "iris", "pupil", "caruncle"]


def test_a_marked_legend_takes_two_rows_and_keeps_every_entry() -> None:
    crop, labels, values = _scene()
    plain = render_overlay(crop, labels, values, "right")
    marked = render_overlay(crop, labels, values, "right", unreliable=("caruncle", "pupil"))
    two_rows = H - 2 * LEGEND_HEIGHT_PX
    assert np.array_equal(plain[: two_rows - 1], marked[: two_rows - 1])
    assert not np.array_equal(plain[two_rows:], marked[two_rows:])
    # The longer entries push the line entries onto a second row; none is cut off.
    second_row = {tuple(px) for px in marked[H - LEGEND_HEIGHT_PX :].reshape(-1, 3)}
    assert MRD1_RGB in second_row and MRD2_RGB in second_row
    first_row = {tuple(px) for px in marked[two_rows : H - LEGEND_HEIGHT_PX].reshape(-1, 3)}
    assert LABEL_COLOURS_RGB[Label.CARUNCLE] in first_row


def test_contact_sheet_pages_keep_tiles_at_full_width() -> None:
    images = [np.full((320, 480, 3), i, np.uint8) for i in range(13)]
    pages = contact_sheet_pages(images, [f"f{i}" for i in range(13)])
    assert len(pages) == 2
    assert pages[0].shape == (4 * (320 + 20), 3 * 480, 3)
    assert pages[1].shape == (320 + 20, 480, 3)
    with pytest.raises(InputError, match="per_page"):
        contact_sheet_pages(images, ["x"] * 13, per_page=0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"crop": np.zeros((H, W), np.uint8)}, "crop must be uint8"),
        ({"crop": np.zeros((H, W, 3), np.float32)}, "crop must be uint8"),
        ({"labels": np.zeros((H, W - 1), np.uint8)}, "does not match"),
        ({"labels": np.full((H, W), 7, np.uint8)}, r"0\.\.4"),
        ({"labels": np.zeros((H, W), np.float32)}, "integers"),
        ({"side": "OD"}, "side"),
    ],
)
def test_bad_inputs(change, message) -> None:
    crop, labels, values = _scene()
    args = {"crop": crop, "labels": labels, "side": "right", **change}
    with pytest.raises(InputError, match=message):
        render_overlay(args["crop"], args["labels"], values, args["side"])


@pytest.mark.parametrize(("n", "columns", "grid_rows", "grid_columns"), SHEET_CASES)
def test_contact_sheet_size(n, columns, grid_rows, grid_columns) -> None:
    images = [np.full((320, 480, 3), 40 * i, np.uint8) for i in range(n)]
    sheet = contact_sheet(images, [f"frame {i}" for i in range(n)], columns=columns)
    assert sheet.dtype == np.uint8
    assert sheet.shape == (grid_rows * (160 + 20), grid_columns * 240, 3)


def test_contact_sheet_tiles_and_captions() -> None:
    tall = np.full((480, 240, 3), 200, np.uint8)  # scales to 120 × 240
    grey = np.full((64, 96), 50, np.uint8)  # grey is accepted, scales to 120 × 80
    long_caption = "a very long caption that cannot possibly fit into one tile ≤ 120 px"
    sheet = contact_sheet([tall, grey], ["tall", long_caption], columns=2, tile_width=120)
    assert sheet.shape == (240 + 20, 240, 3)
    assert tuple(sheet[100, 60]) == (200, 200, 200)
    assert tuple(sheet[40, 180]) == (50, 50, 50)
    assert tuple(sheet[100, 180]) == (32, 32, 32)  # padding below the short tile
    assert (sheet[240:, 120:] == 255).all(axis=2).any()  # caption text drawn


@pytest.mark.parametrize(
    ("images", "captions", "kwargs", "message"),
    [
        ([], [], {}, "at least one"),
        ([np.zeros((4, 4, 3), np.uint8)], [], {}, "captions"),
        ([np.zeros((4, 4, 3), np.uint8)], ["x"], {"columns": 0}, "columns"),
        ([np.zeros((4, 4, 3), np.uint8)], ["x"], {"tile_width": 8}, "tile_width"),
        ([np.zeros((4, 4, 3), np.float64)], ["x"], {}, "uint8"),
        ([np.zeros((4, 4, 4), np.uint8)], ["x"], {}, "3 channels"),
    ],
)
def test_contact_sheet_bad_inputs(images, captions, kwargs, message) -> None:
    with pytest.raises(InputError, match=message):
        contact_sheet(images, captions, **kwargs)


def test_write_png_round_trip(tmp_path) -> None:
    crop, labels, values = _scene()
    image = render_overlay(crop, labels, values, "right")
    path = write_png(tmp_path / "overlays" / "a_0_right.png", image)
    assert np.array_equal(read_image_rgb(path), image)
    with pytest.raises(ReportError, match="png"):
        write_png(tmp_path / "x.jpg", image)
    with pytest.raises(ReportError, match="uint8"):
        write_png(tmp_path / "x.png", image.astype(np.float32))


def test_write_png_failure_leaves_no_partial_file(tmp_path, monkeypatch) -> None:
    target = tmp_path / "o.png"
    real_write_bytes = Path.write_bytes

    def half_then_fail(self, data):
        real_write_bytes(self, data[:10])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", half_then_fail)
    with pytest.raises(ReportError, match="o.png.*No space left"):
        write_png(target, np.zeros((8, 8, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []
