"""The manifest format every dataset shares."""

from __future__ import annotations

import pytest

from ocularseg.core.errors import DataError
from ocularseg.data.manifest import ManifestRow, read_manifest, write_manifest


def test_round_trip_and_byte_stability(tmp_path):
    rows = [
        ManifestRow("images/a.png", "masks/a.png", "s1", "phantom", "train"),
        ManifestRow("images/b.png", "masks/b.png", "s2", "", ""),
    ]
    write_manifest(tmp_path, rows)
    assert read_manifest(tmp_path) == rows
    first = (tmp_path / "manifest.csv").read_bytes()
    write_manifest(tmp_path, rows)
    assert (tmp_path / "manifest.csv").read_bytes() == first
    assert first.startswith(b"image,mask,subject,group,split\n")
    assert rows[0].meta == "meta/a.json"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("image,mask,subject\n", "lacks column"),
        ("image,mask,subject,group,split\nimages/a.png,,s1,,\n", "empty 'mask'"),
        ("image,mask,subject,group,split\nimages/a.png,masks/a.png,s1,,holdout\n", "holdout"),
    ],
)
def test_bad_manifests_name_the_problem(tmp_path, text, message):
    (tmp_path / "manifest.csv").write_text(text)
    with pytest.raises(DataError, match=message):
        read_manifest(tmp_path)


def test_missing_manifest(tmp_path):
    with pytest.raises(DataError, match="manifest not found"):
        read_manifest(tmp_path)
