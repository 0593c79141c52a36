"""Where the real faces come from: a YAML list of sources, each with its licence.

Images are never committed to ocularseg; a source names a public git repository at a fixed
commit and the files to take, and the builder reads them from a local bare mirror of that
repository (``MIRRORS/<owner>+<name>/repo``, as the project's fetch tool lays them out) or
from a package that ships them (scikit-image's astronaut). Rebuilding the set on another
machine needs the same repositories at the same commits.

Example (``docs/realset/sources.yaml`` holds the real list)::

    sources:
      - name: london-neutral
        repo: debruine/webmorphR.stim
        commit: fa8b78f...                       # full 40-hex commit
        include: ["inst/neutral_front/[0-9]*.jpg"]
        subject_pattern: "/(\\d+)_\\d+\\.jpg$"    # group 1 = the person
        subject_prefix: london                   # subject id = london:001
        licence: CC-BY-4.0
        attribution: "DeBruine & Jones (2017), Face Research Lab London Set"
        evidence: "DESCRIPTION: 'License: CC BY 4.0'"
"""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ocularseg.core.errors import ConfigError, DataError
from ocularseg.io.config_files import read_yaml_mapping, validate_config

#: Licences whose terms allow training, evaluating and publishing a model (and, for the
#: CC licences, redistributing the images with attribution). Anything else is refused.
ACCEPTED_LICENCES: tuple[str, ...] = (
    "public-domain",
    "CC0-1.0",
    "CC-BY-2.0",
    "CC-BY-3.0",
    "CC-BY-4.0",
)

#: Repositories whose photos are reserved for an independent check and must never be used.
RESERVED_REPOS: tuple[str, ...] = ("ageitgey/face_recognition", "serengil/deepface")


class Source(BaseModel):
    """One set of real face images (or videos) and its licence."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="short id, used in names")
    kind: Literal["git", "skimage"] = "git"
    repo: str = Field("", description="owner/name on GitHub (kind git)")
    commit: str = Field("", description="full commit hash the files are read at (kind git)")
    include: tuple[str, ...] = Field((), description="fnmatch patterns, in priority order")
    exclude: tuple[str, ...] = Field(("*/._*",), description="fnmatch patterns to skip")
    subject_pattern: str = Field(
        r"([^/]+)\.[^.]+$", description="regex on the path; group 1 identifies the person"
    )
    subject_prefix: str = Field("", description="prefix of subject ids (default: name)")
    one_per_subject: bool = Field(
        False, description="keep only the first file per person (in ``include`` order)"
    )
    media: Literal["photo", "video"] = "photo"
    frames_per_video: int = Field(8, ge=1, le=200, description="frames sampled per video")
    licence: str
    attribution: str = ""
    evidence: str = Field(description="where the licence is stated (file and quote)")

    @field_validator("licence")
    @classmethod
    def _licence_allowed(cls, value: str) -> str:
        if value not in ACCEPTED_LICENCES:
            raise ValueError(
                f"licence {value!r} is not one of {', '.join(ACCEPTED_LICENCES)}; only "
                "material whose licence allows training and publishing a model may be used"
            )
        return value

    @field_validator("repo")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value.lower() in RESERVED_REPOS:
            raise ValueError(f"{value}: its photos are reserved for an independent check")
        return value

    @property
    def prefix(self) -> str:
        return self.subject_prefix or self.name


class SourceList(BaseModel):
    """The whole ``sources.yaml``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sources: tuple[Source, ...]


def load_sources(path: str | os.PathLike[str]) -> SourceList:
    """Read and validate a sources YAML (names must be unique; git sources need a commit).

    Raises:
        ConfigError: missing file, invalid YAML or field, duplicate name, bad commit.
    """
    raw = read_yaml_mapping(path)
    sources = validate_config(SourceList, raw, str(path))
    seen: set[str] = set()
    for source in sources.sources:
        if source.name in seen:
            raise ConfigError(f"{path}: source name {source.name!r} is used twice")
        seen.add(source.name)
        if source.kind == "git" and (
            not re.fullmatch(r"[0-9a-f]{40}", source.commit) or not source.repo
        ):
            raise ConfigError(
                f"{path}: source {source.name!r} needs 'repo' and a full 40-hex 'commit'"
            )
    return sources


@dataclass(frozen=True)
class SourceFile:
    """One file of a source: where it is and whose it is."""

    source: Source
    path: str
    subject: str
    blob: str = ""

    @property
    def stem(self) -> str:
        """A file-name-safe id: ``<source>-<path without folders and suffix>``."""
        return f"{self.source.name}-{_safe(self.path)}"


def mirror_dir(mirrors: Path, repo: str) -> Path:
    """The bare mirror folder of ``owner/name`` under ``mirrors``."""
    return mirrors / repo.replace("/", "+", 1) / "repo"


def list_files(source: Source, mirrors: Path | None) -> tuple[list[SourceFile], list[str]]:
    """Files of ``source`` in priority order, and notes on files that could not be used.

    Raises:
        DataError: the mirror or the commit is missing.
    """
    if source.kind == "skimage":
        return [SourceFile(source, name, f"{source.prefix}:{name}") for name in source.include], []
    if mirrors is None:
        raise DataError(f"source {source.name}: --mirrors is needed for git sources")
    repo = mirror_dir(mirrors, source.repo)
    listing = _git(repo, "ls-tree", "-r", source.commit, what=source.name)
    entries: dict[str, str] = {}
    for line in listing.splitlines():
        meta, _, path = line.partition("\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == "blob":
            entries[path] = parts[2]
    pattern = re.compile(source.subject_pattern)
    files: list[SourceFile] = []
    notes: list[str] = []
    taken: set[str] = set()
    for include in source.include:
        for path in sorted(entries):
            if not fnmatch.fnmatch(path, include):
                continue
            if any(fnmatch.fnmatch(path, ex) for ex in source.exclude):
                continue
            match = pattern.search(path)
            if not match:
                notes.append(f"{source.name}:{path}: subject pattern does not match; skipped")
                continue
            subject = f"{source.prefix}:{match.group(1)}"
            if source.one_per_subject and subject in taken:
                continue
            if not _blob_present(repo, entries[path]):
                notes.append(f"{source.name}:{path}: file absent from the mirror; skipped")
                continue
            taken.add(subject)
            files.append(SourceFile(source, path, subject, entries[path]))
    return files, notes


def read_bytes(item: SourceFile, mirrors: Path | None) -> bytes:
    """The file's content (a git blob, or a scikit-image image encoded as PNG)."""
    if item.source.kind == "skimage":
        import cv2
        import skimage.data

        image = getattr(skimage.data, item.path)()
        ok, encoded = cv2.imencode(".png", image[..., ::-1])
        if not ok:
            raise DataError(f"skimage.data.{item.path}: cannot encode")
        return encoded.tobytes()
    if mirrors is None:
        raise DataError(f"source {item.source.name}: --mirrors is needed for git sources")
    repo = mirror_dir(mirrors, item.source.repo)
    result = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "blob", item.blob],
        capture_output=True,
        check=False,
        timeout=120,
    )
    if result.returncode:
        raise DataError(f"{item.source.name}:{item.path}: cannot read the file from {repo}")
    return result.stdout


def _git(repo: Path, *args: str, what: str) -> str:
    if not repo.is_dir():
        raise DataError(f"source {what}: no mirror at {repo} (fetch the repository first)")
    result = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False, timeout=300
    )
    if result.returncode:
        raise DataError(f"source {what}: git {' '.join(args)} failed in {repo}: {result.stderr}")
    return result.stdout


def _blob_present(repo: Path, blob: str) -> bool:
    result = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "-e", blob], capture_output=True, check=False
    )
    return result.returncode == 0


def _safe(path: str) -> str:
    stem = str(Path(path).with_suffix(""))
    return re.sub(r"[^A-Za-z0-9]+", "_", stem).strip("_")
