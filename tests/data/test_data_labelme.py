"""LabelMe import: shapes, label aliases, priority, images, and every bad input named."""

from __future__ import annotations

import base64
import json

import cv2
import numpy as np
import pytest
from dataset_helpers import labelme_doc, shape, write_labelme, write_png
from typer.testing import CliRunner

from ocularseg.cli.app import app
from ocularseg.core.errors import InputError
from ocularseg.data.importing import ImportFailedError
from ocularseg.data.labelme import import_labelme, labelme_to_mask, read_labelme
from ocularseg.data.manifest import read_manifest

H, W = 40, 60
SCLERA = shape("sclera", [[5, 5], [55, 5], [55, 35], [5, 35]])
IRIS = shape("iris", [[30, 20], [30, 30]], "circle")  # centre, rim: r = 10
PUPIL = shape("pupil", [[30, 20], [34, 20]], "circle")  # r = 4
CARUNCLE = shape("caruncle", [[5, 15], [12, 20], [5, 25]])

#: (row, col) -> expected class for the sclera + iris + pupil + caruncle drawing above.
CASES = [
    ((2, 2), 0),  # outside everything
    ((20, 30), 3),  # centre: pupil
    ((20, 34), 3),  # on the pupil rim (inclusive)
    ((20, 35), 2),  # just outside the pupil: iris
    ((20, 40), 2),  # on the iris rim
    ((20, 41), 1),  # sclera
    ((20, 6), 4),  # caruncle over sclera
    ((5, 55), 1),  # polygon corner is inside
]


def _image(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)


def _doc(shapes, image_path="eye.png", **kw):
    return labelme_doc(shapes, image_path, height=H, width=W, **kw)


@pytest.mark.parametrize(("pixel", "expected"), CASES)
def test_polygon_and_circle_pixels(pixel, expected):
    mask = labelme_to_mask(_doc([SCLERA, IRIS, PUPIL, CARUNCLE]))
    assert mask.shape == (H, W) and mask.dtype == np.uint8
    assert mask[pixel] == expected


def test_priority_does_not_depend_on_shape_order():
    forward = labelme_to_mask(_doc([SCLERA, CARUNCLE, IRIS, PUPIL]))
    backward = labelme_to_mask(_doc([PUPIL, IRIS, CARUNCLE, SCLERA]))
    np.testing.assert_array_equal(forward, backward)
    assert set(np.unique(forward)) == {0, 1, 2, 3, 4}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("White", 1),
        ("SCLERA", 1),
        (" Iris ", 2),
        ("cornea", 2),
        ("PUPIL", 3),
        ("Lacrimal_Caruncle", 4),
        ("lacrimal caruncle", 4),
        ("carnucle", 4),
        ("plica semilunaris", 4),
    ],
)
def test_label_aliases_and_case(name, expected):
    doc = _doc([shape(name, [[0, 0], [59, 0], [59, 39], [0, 39]])])
    assert np.all(labelme_to_mask(doc) == expected)


def test_background_shape_carves_and_other_shapes():
    rect = shape("sclera", [[10, 10], [20, 20]], "rectangle")
    ellipse = shape("iris", [[30, 10], [50, 30]], "ellipse")  # bounding box, centre (40, 20)
    lashes = shape("_background_", [[40, 0], [59, 0], [59, 15], [40, 15]])
    mask = labelme_to_mask(_doc([rect, ellipse, lashes]))
    assert mask[10, 10] == 1 and mask[20, 20] == 1 and mask[21, 21] == 0
    assert mask[20, 40] == 2 and mask[20, 30] == 2 and mask[20, 29] == 0
    assert mask[12, 42] == 0  # carved by the background polygon
    assert mask[25, 42] == 2


def test_mask_shape_type_is_placed_at_its_corner():
    local = np.zeros((5, 4), np.uint8)
    local[1:4, 1:3] = 1
    ok, png = cv2.imencode(".png", local)
    assert ok
    entry = shape("pupil", [[10, 20], [13, 24]], "mask")
    entry["mask"] = base64.b64encode(png.tobytes()).decode()
    mask = labelme_to_mask(_doc([entry]))
    assert np.count_nonzero(mask) == 6
    assert mask[21, 11] == 3 and mask[23, 12] == 3 and mask[20, 10] == 0


def test_read_embedded_image_data(tmp_path):
    image = _image(1)
    ok, png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    assert ok
    path = write_labelme(tmp_path / "a.json", _doc([SCLERA], None, image_data=png.tobytes()))
    sample = read_labelme(path)
    np.testing.assert_array_equal(sample.image, image)
    assert sample.n_shapes == 1


def test_read_relative_image_path_with_backslashes(tmp_path):
    image = _image(2)
    write_png(tmp_path / "photos" / "eye 1.png", image)
    path = write_labelme(tmp_path / "json" / "a.json", _doc([SCLERA], "..\\photos\\eye 1.png"))
    np.testing.assert_array_equal(read_labelme(path).image, image)


BAD_DOCS = [
    ("unknown label", _doc([SCLERA, shape("eyelid", [[0, 0], [5, 0], [5, 5]])]), "'eyelid'"),
    ("no shapes", {k: v for k, v in _doc([]).items() if k != "shapes"}, "no 'shapes'"),
    (
        "no imageHeight",
        {k: v for k, v in _doc([SCLERA]).items() if k != "imageHeight"},
        "no 'imageHeight'",
    ),
    ("two-point polygon", _doc([shape("iris", [[0, 0], [5, 5]])]), "at least 3 points"),
    ("point shape", _doc([shape("pupil", [[3, 3]], "point")]), "has no area"),
    ("bad points", _doc([{"label": "iris", "points": "x", "shape_type": "polygon"}]), "points"),
]


@pytest.mark.parametrize(("what", "doc", "needle"), BAD_DOCS, ids=[c[0] for c in BAD_DOCS])
def test_bad_documents_name_the_file(tmp_path, what, doc, needle):
    write_png(tmp_path / "eye.png", _image())
    path = write_labelme(tmp_path / "bad.json", doc)
    with pytest.raises(InputError) as info:
        read_labelme(path)
    assert str(path) in str(info.value) and needle in str(info.value)


def test_ignore_label_skips_landmark_points(tmp_path):
    write_png(tmp_path / "eye.png", _image())
    path = write_labelme(tmp_path / "a.json", _doc([SCLERA, shape("Reflex", [[3, 3]], "point")]))
    sample = read_labelme(path, ignore_labels=["reflex"])
    assert sample.n_ignored == 1 and sample.mask[20, 20] == 1


def test_missing_and_truncated_images_and_size_mismatch(tmp_path):
    path = write_labelme(tmp_path / "a.json", _doc([SCLERA], "nowhere.png"))
    with pytest.raises(InputError, match="nowhere.png' not found"):
        read_labelme(path)
    write_png(tmp_path / "eye.png", _image())
    data = (tmp_path / "eye.png").read_bytes()
    (tmp_path / "eye.png").write_bytes(data[: len(data) // 2])
    path = write_labelme(tmp_path / "b.json", _doc([SCLERA]))
    with pytest.raises(InputError, match="truncated PNG"):
        read_labelme(path)
    write_png(tmp_path / "small.png", np.zeros((10, 10, 3), np.uint8))
    path = write_labelme(tmp_path / "c.json", _doc([SCLERA], "small.png"))
    with pytest.raises(InputError, match="10×10 px"):
        read_labelme(path)


def _source_tree(root):
    """Two subjects in folders, one image embedded, one with a JPEG."""
    for subject, name in [("P01", "a"), ("P01", "b"), ("P02", "a")]:
        folder = root / subject
        write_png(folder / f"{name}.png", _image(hash(subject + name) % 100))
        write_labelme(folder / f"{name}.json", _doc([PUPIL, IRIS, SCLERA], f"{name}.png"))
    return root


def test_import_writes_dataset_and_never_touches_inputs(tmp_path):
    src = _source_tree(tmp_path / "src")
    before = {p: p.read_bytes() for p in src.rglob("*") if p.is_file()}
    report = import_labelme(src, tmp_path / "ds", group="clinic-A")
    assert {p: p.read_bytes() for p in src.rglob("*") if p.is_file()} == before
    rows = read_manifest(tmp_path / "ds")
    assert [r.image for r in rows] == [
        "images/P01__a.png",
        "images/P01__b.png",
        "images/P02__a.png",
    ]
    assert [r.subject for r in rows] == ["P01", "P01", "P02"]
    assert {r.group for r in rows} == {"clinic-A"} and report.n_subjects == 2
    mask = cv2.imread(str(tmp_path / "ds" / rows[0].mask), cv2.IMREAD_UNCHANGED)
    assert mask.dtype == np.uint8 and mask.ndim == 2 and mask[20, 30] == 3
    record = json.loads((tmp_path / "ds" / "import.json").read_text())
    assert record["samples"]["P01__a"].endswith("a.json")
    assert not list(tmp_path.glob(".ds.partial-*"))


def test_import_subject_from_filename_prefix(tmp_path):
    src = tmp_path / "src"
    for name in ["S1_left", "S1_right", "S2-left"]:
        write_png(src / f"{name}.png", _image())
        write_labelme(src / f"{name}.json", _doc([SCLERA], f"{name}.png"))
    import_labelme(src, tmp_path / "ds", subject_from="filename-prefix")
    assert [r.subject for r in read_manifest(tmp_path / "ds")] == ["S1", "S1", "S2"]


def test_one_bad_file_means_nothing_written_unless_skip_bad(tmp_path):
    src = _source_tree(tmp_path / "src")
    write_labelme(src / "P02" / "bad.json", _doc([shape("lid", [[0, 0], [5, 0], [5, 5]])], "a.png"))
    with pytest.raises(ImportFailedError) as info:
        import_labelme(src, tmp_path / "ds")
    assert "bad.json" in str(info.value) and "'lid'" in str(info.value)
    assert not (tmp_path / "ds").exists() and not list(tmp_path.glob(".ds.partial-*"))
    report = import_labelme(src, tmp_path / "ds", skip_bad=True)
    assert len(report.rows) == 3 and len(report.skipped) == 1


def test_refuses_non_empty_out_and_empty_source(tmp_path):
    src = _source_tree(tmp_path / "src")
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "keep.txt").write_text("x")
    with pytest.raises(Exception, match="not empty"):
        import_labelme(src, tmp_path / "ds")
    assert (tmp_path / "ds" / "keep.txt").read_text() == "x"
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no LabelMe .json files"):
        import_labelme(tmp_path / "empty", tmp_path / "ds2")


# ---------------------------------------------------------------- CLI

runner = CliRunner()


def test_cli_import_ok(tmp_path):
    src = _source_tree(tmp_path / "src")
    result = runner.invoke(
        app, ["data", "import", "labelme", str(src), "--out", str(tmp_path / "ds")]
    )
    assert result.exit_code == 0, result.output
    assert "imported 3 sample(s) from 2 subject(s)" in result.stdout


def test_cli_import_bad_file_exit_1_names_file(tmp_path):
    src = _source_tree(tmp_path / "src")
    write_labelme(src / "P01" / "broken.json", {"shapes": []})
    result = runner.invoke(
        app, ["data", "import", "labelme", str(src), "--out", str(tmp_path / "ds")]
    )
    assert result.exit_code == 1
    assert "broken.json" in result.stderr and "no 'imageHeight'" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "ds").exists()


def test_cli_import_skip_bad_lists_skipped(tmp_path):
    src = _source_tree(tmp_path / "src")
    write_labelme(src / "P01" / "broken.json", {"shapes": []})
    args = ["data", "import", "labelme", str(src), "--out", str(tmp_path / "ds"), "--skip-bad"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0
    assert "skipped:" in result.stderr and "broken.json" in result.stderr


def test_cli_empty_folder_and_bad_option(tmp_path):
    (tmp_path / "empty").mkdir()
    result = runner.invoke(
        app, ["data", "import", "labelme", str(tmp_path / "empty"), "-o", str(tmp_path / "ds")]
    )
    assert result.exit_code == 1 and "no LabelMe .json files" in result.stderr
    result = runner.invoke(
        app,
        [
            "data",
            "import",
            "labelme",
            str(tmp_path),
            "-o",
            str(tmp_path / "ds"),
            "--subject-from",
            "x",
        ],
    )
    assert result.exit_code == 2
