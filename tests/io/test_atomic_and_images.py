"""Atomic writes never leave half-written files; image reading fails with clear messages."""

from __future__ import annotations

import os

import numpy as np
import pytest

from ocularseg.core.errors import InputError, ReportError
from ocularseg.io.atomic import atomic_path, replacing_folder, write_json_atomic
from ocularseg.io.images import read_image_rgb, read_image_unchanged, write_image_atomic


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "report.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.csv"]


def test_json_is_byte_stable(tmp_path):
    write_json_atomic(tmp_path / "a.json", {"b": 1, "a": [1.5, None]})
    write_json_atomic(tmp_path / "b.json", {"a": [1.5, None], "b": 1})
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_unwritable_folder_is_a_report_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ReportError, match="cannot write"):
        write_json_atomic(blocker / "sub" / "a.json", {})


def test_png_round_trip_keeps_rgb_order(tmp_path):
    image = np.zeros((8, 12, 3), np.uint8)
    image[..., 0] = 200  # red
    write_image_atomic(tmp_path / "x.png", image)
    np.testing.assert_array_equal(read_image_rgb(tmp_path / "x.png"), image)
    mask = (np.arange(96, dtype=np.uint8) % 5).reshape(8, 12)
    write_image_atomic(tmp_path / "m.png", mask)
    np.testing.assert_array_equal(read_image_unchanged(tmp_path / "m.png"), mask)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"this is text, not a picture", "not a readable image")],
)
def test_bad_image_files_name_the_file(tmp_path, content, message):
    path = tmp_path / "eye.png"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        read_image_rgb(path)
    assert "eye.png" in str(info.value)


def test_truncated_png_is_rejected(tmp_path):
    image = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    write_image_atomic(tmp_path / "full.png", image)
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="cut.png"):
        read_image_rgb(tmp_path / "cut.png")


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_image_rgb(tmp_path / "nope.png")


def test_replacing_folder_swaps_in_a_finished_folder_only(tmp_path):

    target = tmp_path / "models" / "m"
    target.mkdir(parents=True)
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), replacing_folder(target) as staging:
        (staging / "new.txt").write_text("half")
        raise RuntimeError("export failed")
    assert [p.name for p in target.iterdir()] == ["old.txt"]  # untouched
    with replacing_folder(target) as staging:
        (staging / "new.txt").write_text("new")
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["m"]  # no staging left
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o777 & ~umask  # not mkdtemp's private 0700
