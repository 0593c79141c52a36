"""``ocularseg synth``: files written, manifest, option checks, refusal of non-empty folders."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from ocularseg.cli.app import app
from ocularseg.data.manifest import read_manifest
from ocularseg.io.images import read_image_rgb, read_image_unchanged

runner = CliRunner()


def test_synth_writes_images_masks_meta_and_manifest(tmp_path):
    out = tmp_path / "ds"
    result = runner.invoke(
        app, ["synth", "--n", "5", "--seed", "1", "--out", str(out), "--subjects", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "wrote 5 phantoms of 2 subjects" in result.output
    rows = read_manifest(out)
    assert len(rows) == 5
    assert {r.subject for r in rows} == {"phantom-s0000", "phantom-s0001"}
    assert {r.group for r in rows} == {"phantom"} and {r.split for r in rows} == {""}
    for row in rows:
        image = read_image_rgb(out / row.image)
        mask = read_image_unchanged(out / row.mask)
        assert image.shape == (320, 480, 3) and mask.shape == (320, 480)
        assert set(np.unique(mask)) <= {0, 1, 2, 3, 4}
        meta = json.loads((out / row.meta).read_text())
        assert meta["subject"] == row.subject and meta["seed"] == 1
        assert meta["truth"]["area_sclera_px"] == int((mask == 1).sum())
        assert meta["params"]["side"] in ("right", "left")


def test_synth_default_subjects(tmp_path):
    result = runner.invoke(app, ["synth", "--n", "3", "--out", str(tmp_path / "ds")])
    assert result.exit_code == 0, result.output
    assert "of 3 subjects" in result.output


@pytest.mark.parametrize(("n", "subjects"), [(1, 1), (2, 2), (3, 3), (20, 3), (29, 3), (50, 5)])
def test_default_subjects_allow_a_three_way_split(n, subjects):
    from ocularseg.synth.dataset import default_subjects

    assert default_subjects(n) == subjects


def test_small_synth_set_splits_three_ways(tmp_path):
    """``synth --n 20`` then the README's split: every split gets a person (issue 20)."""
    out = tmp_path / "ds"
    assert runner.invoke(app, ["synth", "--n", "20", "--out", str(out)]).exit_code == 0
    result = runner.invoke(app, ["data", "split", str(out), "--fractions", "0.7,0.15,0.15"])
    assert result.exit_code == 0, result.output
    splits = {r.split for r in read_manifest(out)}
    assert splits == {"train", "val", "test"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--n", "0"], "--n must be >= 1, got 0"),
        (["--n", "2", "--subjects", "0"], "--subjects must be >= 1, got 0"),
        (["--n", "2", "--subjects", "3"], "--subjects 3 is more than --n 2"),
        (["--n", "2", "--seed", "-4"], "--seed must be >= 0, got -4"),
    ],
)
def test_synth_bad_options_exit_2(tmp_path, args, message):
    out = tmp_path / "ds"
    result = runner.invoke(app, ["synth", *args, "--out", str(out)])
    assert result.exit_code == 2
    assert message in result.output
    assert not out.exists()


def test_synth_refuses_a_non_empty_folder(tmp_path):
    out = tmp_path / "ds"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["synth", "--n", "2", "--out", str(out)])
    assert result.exit_code == 2
    assert str(out) in result.output and "not empty" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_synth_accepts_an_empty_existing_folder(tmp_path):
    out = tmp_path / "ds"
    out.mkdir()
    result = runner.invoke(app, ["synth", "--n", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "manifest.csv").is_file()


@pytest.mark.slow
def test_shifted_profile_has_darker_skin_and_more_ptosis(tmp_path):
    import json

    import numpy as np
    from typer.testing import CliRunner

    from ocularseg.cli.app import app

    runner = CliRunner()
    for profile in ("standard", "shifted"):
        result = runner.invoke(
            app,
            [
                "synth",
                "--n",
                "60",
                "--seed",
                "3",
                "--out",
                str(tmp_path / profile),
                "--profile",
                profile,
            ],
        )
        assert result.exit_code == 0, result.output

    def stats(folder):
        metas = [json.loads(p.read_text()) for p in sorted((folder / "meta").glob("*.json"))]
        fitz = np.mean([m["params"]["fitzpatrick"] for m in metas])
        lid = np.mean([m["params"]["upper_lid_open"] for m in metas])
        return fitz, lid, {m["profile"] for m in metas}

    fitz_std, lid_std, prof_std = stats(tmp_path / "standard")
    fitz_sh, lid_sh, prof_sh = stats(tmp_path / "shifted")
    assert prof_std == {"standard"} and prof_sh == {"shifted"}
    assert fitz_sh > fitz_std + 0.5
    assert lid_sh < lid_std
    assert "phantom-shifted" in (tmp_path / "shifted" / "manifest.csv").read_text()
    bad = runner.invoke(
        app, ["synth", "--n", "2", "--out", str(tmp_path / "x"), "--profile", "odd"]
    )
    assert bad.exit_code == 2 and "--profile" in bad.output


@pytest.mark.slow
def test_fresh_phantoms_pass_data_check_and_a_broken_file_fails_it(tmp_path):
    from typer.testing import CliRunner

    from ocularseg.cli.app import app

    runner = CliRunner()
    out = tmp_path / "D1"
    assert (
        runner.invoke(app, ["synth", "--n", "40", "--seed", "7", "--out", str(out)]).exit_code == 0
    )
    checked = runner.invoke(app, ["data", "check", str(out)])
    assert checked.exit_code == 0, checked.output
    assert checked.stdout.strip().splitlines()[-1].startswith("OK:")
    image = out / "images" / "000003.png"
    image.write_bytes(image.read_bytes()[:5000])  # truncated
    mask = out / "masks" / "000004.png"
    import numpy as np

    from ocularseg.io.images import write_image_atomic

    write_image_atomic(mask, np.full((320, 480), 9, np.uint8))  # unknown label value
    broken = runner.invoke(app, ["data", "check", str(out)])
    assert broken.exit_code == 1
    assert "images/000003.png" in broken.stdout and "masks/000004.png" in broken.stdout
