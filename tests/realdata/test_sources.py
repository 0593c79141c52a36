"""The source list: licences, reserved repositories, files read at a fixed commit."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ocularseg.core.errors import ConfigError
from ocularseg.realdata.sources import list_files, load_sources, read_bytes

REPO = "someone/faces"


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture()
def mirror(tmp_path: Path) -> tuple[Path, str]:
    """A bare mirror laid out as MIRRORS/<owner>+<name>/repo with three photos of 2 people."""
    work = tmp_path / "work"
    (work / "people" / "ann").mkdir(parents=True)
    (work / "people" / "bob").mkdir(parents=True)
    (work / "people" / "ann" / "original.jpg").write_bytes(b"ann-original")
    (work / "people" / "ann" / "large.jpg").write_bytes(b"ann-large")
    (work / "people" / "bob" / "large.jpg").write_bytes(b"bob-large")
    (work / "people" / "._junk.jpg").write_bytes(b"apple double")
    _git(work, "init", "-q")
    _git(work, "add", ".")
    _git(work, "commit", "-q", "-m", "photos")
    commit = _git(work, "rev-parse", "HEAD")
    mirrors = tmp_path / "mirrors"
    _git(tmp_path, "clone", "-q", "--bare", str(work), str(mirrors / "someone+faces" / "repo"))
    return mirrors, commit


def _yaml(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def test_one_photo_per_person_in_priority_order(tmp_path: Path, mirror) -> None:
    mirrors, commit = mirror
    sources = load_sources(
        _yaml(
            tmp_path,
            f"""
sources:
  - name: people
    repo: {REPO}
    commit: {commit}
    include: ["people/*/original.jpg", "people/*/large.jpg"]
    subject_pattern: "people/([a-z]+)/"
    one_per_subject: true
    licence: CC0-1.0
    evidence: "README: CC0"
""",
        )
    )
    files, notes = list_files(sources.sources[0], mirrors)
    assert [(f.subject, f.path) for f in files] == [
        ("people:ann", "people/ann/original.jpg"),
        ("people:bob", "people/bob/large.jpg"),
    ]
    assert notes == []
    assert read_bytes(files[0], mirrors) == b"ann-original"


def _one_source(
    tmp_path: Path,
    *,
    repo: str = REPO,
    commit: str = "0" * 40,
    include: str = '["*.jpg"]',
    licence: str = "CC0-1.0",
) -> Path:
    """A source list of one source, ``faces``, with the fields given."""
    return _yaml(
        tmp_path,
        f"""
sources:
  - name: faces
    repo: {repo}
    commit: {commit}
    include: {include}
    licence: {licence}
    evidence: "x"
""",
    )


@pytest.mark.parametrize("licence", ["CC-BY-NC-4.0", "research-only"])
def test_licences_that_do_not_allow_the_use_are_refused(tmp_path: Path, licence) -> None:
    path = _one_source(tmp_path, licence=licence)
    with pytest.raises(ConfigError, match="not one of"):
        load_sources(path)


def test_reserved_repositories_are_refused(tmp_path: Path) -> None:
    path = _one_source(
        tmp_path,
        repo="ageitgey/face_recognition",
        include='["examples/*.jpg"]',
        licence="public-domain",
    )
    with pytest.raises(ConfigError, match="reserved for an independent check"):
        load_sources(path)


def test_git_sources_need_a_full_commit(tmp_path: Path) -> None:
    path = _one_source(tmp_path, commit="main")
    with pytest.raises(ConfigError, match="40-hex"):
        load_sources(path)


def test_the_projects_source_list_is_valid(repo_root: Path) -> None:
    sources = load_sources(repo_root / "docs" / "realset" / "sources.yaml")
    names = {s.name for s in sources.sources}
    assert {"london-neutral", "interfaces", "congress", "astronaut"} <= names
    assert all(s.evidence for s in sources.sources)
