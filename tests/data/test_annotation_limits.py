"""Annotation files that used to exhaust memory or time, overflow, or end in a traceback
(issue 11, items 8, 9, 10, 12)."""

from __future__ import annotations

import base64
import json
import struct
import time
import zlib

import numpy as np
import pytest
from typer.testing import CliRunner

from ocularseg.cli.app import app
from ocularseg.core.errors import DataError, InputError
from ocularseg.data.labelme import labelme_to_mask, read_labelme
from ocularseg.data.manifest import MANIFEST_COLUMNS, read_manifest
from ocularseg.data.raster import clip_polygon, polygon_mask
from ocularseg.io.images import write_image_atomic

runner = CliRunner()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares width × height px (its pixel data is a stub)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def _doc(height=32, width=48, shapes=None, **extra):
    square = [[4, 4], [20, 4], [20, 20], [4, 20]]
    return {
        "shapes": shapes
        if shapes is not None
        else [{"label": "sclera", "points": square, "shape_type": "polygon"}],
        "imageHeight": height,
        "imageWidth": width,
        **extra,
    }


def test_huge_declared_image_size_is_refused_before_allocating():
    # Issue 11.9: imageHeight = imageWidth = 2^40 ended in a MemoryError traceback.
    with pytest.raises(InputError, match="over the 100 MP limit"):
        labelme_to_mask(_doc(2**40, 2**40), source="big.json")


def test_embedded_image_is_checked_from_its_header_before_decoding(tmp_path):
    # Issue 11.8: a 389 KB PNG inside imageData decoded to 3.2 GB.
    doc = _doc(32, 48, imageData=base64.b64encode(_png_header_only(32000, 32000)).decode())
    (tmp_path / "a.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match="imageData is 32000×32000 px but the annotation says"):
        read_labelme(tmp_path / "a.json")
    # Declared as that size too: the pixel limit refuses it.
    doc = _doc(32000, 32000, imageData=doc["imageData"])
    (tmp_path / "b.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match="1024 MP.*100 MP limit"):
        read_labelme(tmp_path / "b.json")


def test_image_file_over_the_pixel_limit_is_refused_from_its_header(tmp_path):
    from ocularseg.io.images import read_image_rgb

    (tmp_path / "bomb.png").write_bytes(_png_header_only(32000, 32000))
    with pytest.raises(InputError, match="32000×32000 px .* over the 100 MP limit"):
        read_image_rgb(tmp_path / "bomb.png")
    with pytest.raises(InputError, match="over the 0.0005 MP limit"):
        read_image_rgb(tmp_path / "bomb.png", max_pixels=500)


def test_polygon_with_too_many_vertices_is_refused_fast():
    # Issue 11.8: a self-intersecting 30,000-point polygon took 140 s in fillPoly.
    points = np.random.default_rng(0).uniform(0, 47, (30_000, 2)).tolist()
    began = time.perf_counter()
    with pytest.raises(InputError, match="30,000 vertices, over the 10,000 limit"):
        labelme_to_mask(_doc(shapes=[{"label": "iris", "points": points}]), source="x.json")
    assert time.perf_counter() - began < 2
    many = [{"label": "iris", "points": points[:9_000]} for _ in range(5)]
    with pytest.raises(InputError, match="45,000 vertices in all"):
        labelme_to_mask(_doc(shapes=many), source="x.json")


def test_far_away_vertex_does_not_overflow_the_fill():
    # Issue 11.10: vertices beyond ~8.4 M px overflowed int32: 3,195 px instead of ~129k.
    hw = (400, 600)
    corners = np.array([[100.0, 100.0], [500.0, 120.0], [9e6, 9e6]])
    mask = polygon_mask(corners, hw)
    yy, xx = np.mgrid[0 : hw[0], 0 : hw[1]].astype(float)

    def side(a, b):
        return (b[0] - a[0]) * (yy - a[1]) - (b[1] - a[1]) * (xx - a[0])

    s = [side(corners[i], corners[(i + 1) % 3]) for i in range(3)]
    inside = ((s[0] >= 0) & (s[1] >= 0) & (s[2] >= 0)) | ((s[0] <= 0) & (s[1] <= 0) & (s[2] <= 0))
    assert mask.sum() > 90_000
    assert (mask != inside).sum() < 0.01 * inside.sum()  # only pixels on the edges differ


def test_clipping_keeps_the_fill_inside_the_box():
    square = np.array([[-5e6, -5e6], [5e6, -5e6], [5e6, 5e6], [-5e6, 5e6]])
    clipped = clip_polygon(square, (-2, -2, 10, 10))
    assert clipped.min() == -2 and clipped.max() == 10
    assert polygon_mask(square, (8, 8)).all()
    assert len(clip_polygon(np.array([[20.0, 20], [30, 20], [30, 30]]), (0, 0, 10, 10))) == 0


def test_deeply_nested_json_is_one_line(tmp_path):
    # Issue 11.9: RecursionError traceback.
    (tmp_path / "deep.json").write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(InputError, match="nested too deeply"):
        read_labelme(tmp_path / "deep.json")


def test_manifest_saved_by_excel_with_a_bom_is_read(tmp_path):
    # Issue 11.9: "lacks column image" for a UTF-8 manifest with a byte-order mark.
    write_image_atomic(tmp_path / "images" / "a.png", np.zeros((4, 4, 3), np.uint8))
    text = ",".join(MANIFEST_COLUMNS) + "\nimages/a.png,masks/a.png,s1,,\n"
    (tmp_path / "manifest.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert read_manifest(tmp_path)[0].subject == "s1"


def test_manifest_field_over_the_csv_limit_is_a_data_error(tmp_path):
    # Issue 11.9: _csv.Error traceback for a field over 131,072 characters.
    text = ",".join(MANIFEST_COLUMNS) + f"\nimages/a.png,masks/a.png,{'x' * 200_000},,\n"
    (tmp_path / "manifest.csv").write_text(text)
    with pytest.raises(DataError, match="not a readable manifest"):
        read_manifest(tmp_path)


def test_import_record_holds_no_absolute_paths(tmp_path):
    # Issue 11.12: import.json recorded absolute source paths.
    src = tmp_path / "Doe_Jane_MRN002"
    src.mkdir()
    image = np.full((32, 48, 3), 128, np.uint8)
    write_image_atomic(src / "eye.png", image)
    (src / "eye.json").write_text(json.dumps(_doc(imagePath="eye.png")))
    (src / "bad.json").write_text(json.dumps(_doc(imagePath="missing.png")))
    result = runner.invoke(
        app,
        ["data", "import", "labelme", str(src), "--out", str(tmp_path / "ds"), "--skip-bad"],
    )
    assert result.exit_code == 0, result.output
    record = (tmp_path / "ds" / "import.json").read_text()
    assert str(tmp_path) not in record
    data = json.loads(record)
    assert data["source"] == "Doe_Jane_MRN002"
    assert data["samples"] == {"eye": "eye.json"}
    assert data["skipped"][0]["file"] == "Doe_Jane_MRN002/bad.json"
