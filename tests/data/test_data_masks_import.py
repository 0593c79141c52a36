"""Importing image + mask folders: index masks, colour masks, pairing and bad values."""

from __future__ import annotations

import numpy as np
import pytest
from dataset_helpers import eye_image, named_eye_mask, write_png
from typer.testing import CliRunner

from ocularseg.cli.app import app
from ocularseg.core.errors import ConfigError, InputError
from ocularseg.core.labels import LABEL_COLOURS_RGB, Label
from ocularseg.data.importing import ImportFailedError
from ocularseg.data.labelnames import parse_colour_mapping
from ocularseg.data.manifest import read_manifest
from ocularseg.data.masks_import import decode_mask, import_masks
from ocularseg.io.images import read_image_unchanged

PALETTE = np.array([LABEL_COLOURS_RGB[label] for label in Label], np.uint8)

#: (--colors text, expected mapping of a few colours)
COLOUR_CASES = [
    ("255,255,255=white;0,0,255=iris", {(255, 255, 255): 1, (0, 0, 255): 2, (0, 0, 0): 0}),
    ("#FF0000=pupil; 10,20,30 = Caruncle", {(255, 0, 0): 3, (10, 20, 30): 4}),
]


@pytest.mark.parametrize(("text", "expected"), COLOUR_CASES)
def test_parse_colour_mapping(text, expected):
    mapping = parse_colour_mapping(text)
    for colour, label in expected.items():
        assert mapping[colour] == label


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1,2=iris",
        "1,2,300=iris",
        "1,2,3=eyelid",
        "#12=iris",
        "1,2,3iris",
        "1,2,3=iris;1,2,3=pupil",
    ],
)
def test_parse_colour_mapping_rejects(text):
    with pytest.raises(ConfigError):
        parse_colour_mapping(text)


def test_decode_index_colour_and_grey_rgb_masks():
    mask = named_eye_mask("open")
    np.testing.assert_array_equal(decode_mask(mask, "m.png"), mask)
    np.testing.assert_array_equal(decode_mask(PALETTE[mask], "m.png"), mask)
    np.testing.assert_array_equal(decode_mask(np.dstack([mask] * 3), "m.png"), mask)
    rgba = np.dstack([PALETTE[mask], np.full(mask.shape, 255, np.uint8)])
    np.testing.assert_array_equal(decode_mask(rgba, "m.png"), mask)
    np.testing.assert_array_equal(decode_mask(mask.astype(np.uint16), "m.png"), mask)


def test_unknown_value_and_colour_are_named():
    mask = np.zeros((10, 10), np.uint8)
    mask[0, :3] = 255
    with pytest.raises(InputError, match=r"m\.png: unknown label value\(s\) 255 \(3 px\)"):
        decode_mask(mask, "m.png")
    rgb = PALETTE[np.ones((10, 10), np.uint8)]
    rgb[5, 5] = (1, 2, 3)
    with pytest.raises(InputError, match=r"c\.png: unknown colour\(s\) RGB \(1, 2, 3\) \(1 px\)"):
        decode_mask(rgb, "c.png")


def _folders(root, n=3, colour=False):
    for i in range(n):
        mask = named_eye_mask(["open", "ptosis", "gaze-left"][i % 3])
        subject = f"P{i // 2}"
        write_png(root / "img" / subject / f"e{i}.jpg", eye_image(mask, i))
        write_png(root / "msk" / subject / f"e{i}_mask.png", PALETTE[mask] if colour else mask)
    return root / "img", root / "msk"


@pytest.mark.parametrize("colour", [False, True])
def test_import_index_and_colour_masks(tmp_path, colour):
    images, masks = _folders(tmp_path, colour=colour)
    report = import_masks(images, masks, tmp_path / "ds", mask_suffix="_mask", group="g")
    rows = read_manifest(tmp_path / "ds")
    assert [r.stem for r in rows] == ["P0__e0", "P0__e1", "P1__e2"]
    assert [r.subject for r in rows] == ["P0", "P0", "P1"] and report.n_subjects == 2
    stored = read_image_unchanged(tmp_path / "ds" / rows[1].mask)
    np.testing.assert_array_equal(stored, named_eye_mask("ptosis"))


def test_custom_colours(tmp_path):
    mask = named_eye_mask("open")
    colours = np.array(
        [[0, 0, 0], [255, 255, 255], [0, 255, 0], [0, 0, 255], [255, 0, 0]], np.uint8
    )
    write_png(tmp_path / "img" / "a.png", eye_image(mask))
    write_png(tmp_path / "msk" / "a.png", colours[mask])
    mapping = parse_colour_mapping("255,255,255=sclera;0,255,0=iris;0,0,255=pupil;255,0,0=caruncle")
    import_masks(tmp_path / "img", tmp_path / "msk", tmp_path / "ds", colours=mapping)
    stored = read_image_unchanged(tmp_path / "ds" / "masks" / "a.png")
    np.testing.assert_array_equal(stored, mask)


def test_pairing_problems_are_all_listed(tmp_path):
    images, masks = _folders(tmp_path)
    write_png(images / "lonely.png", np.zeros((4, 4, 3), np.uint8))
    write_png(masks / "orphan_mask.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(InputError) as info:
        import_masks(images, masks, tmp_path / "ds", mask_suffix="_mask")
    assert "lonely.png: no mask" in str(info.value) and "orphan_mask.png: mask without" in str(
        info.value
    )


def test_jpeg_masks_refused(tmp_path):
    write_png(tmp_path / "img" / "a.png", np.zeros((4, 4, 3), np.uint8))
    write_png(tmp_path / "msk" / "a.jpg", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(InputError, match="a.jpg: JPEG masks are lossy"):
        import_masks(tmp_path / "img", tmp_path / "msk", tmp_path / "ds")


def test_bad_mask_and_size_mismatch_named(tmp_path):
    images, masks = _folders(tmp_path)
    bad = named_eye_mask("open")
    bad[0, 0] = 9
    write_png(masks / "P0" / "e0_mask.png", bad)
    write_png(masks / "P1" / "e2_mask.png", np.zeros((10, 10), np.uint8))
    with pytest.raises(ImportFailedError) as info:
        import_masks(images, masks, tmp_path / "ds", mask_suffix="_mask")
    text = str(info.value)
    assert "e0_mask.png: unknown label value(s) 9 (1 px)" in text
    assert "e2_mask.png: mask is 10×10 px but image e2.jpg is 480×320 px" in text
    assert not (tmp_path / "ds").exists()


def test_cli_masks_import(tmp_path):
    images, masks = _folders(tmp_path, colour=True)
    runner = CliRunner()
    args = ["data", "import", "masks", str(images), str(masks), "-o", str(tmp_path / "ds")]
    result = runner.invoke(app, [*args, "--mask-suffix", "_mask"])
    assert result.exit_code == 0, result.output
    assert "imported 3 sample(s) from 2 subject(s)" in result.stdout
    result = runner.invoke(
        app, [*args[:-1], str(tmp_path / "ds2"), "--mask-suffix", "_mask", "--colors", "1,2,3=iris"]
    )
    assert (
        result.exit_code == 1
        and "unknown colour(s)" in result.stderr
        and "e0_mask.png" in result.stderr
    )
    result = runner.invoke(app, [*args[:-1], str(tmp_path / "ds3"), "--colors", "1,2=iris"])
    assert result.exit_code == 2 and "'1,2=iris'" in result.stderr
