"""Write a phantom dataset in the format of :mod:`ocularseg.data.manifest`.

Layout (``NNNNNN`` = zero-padded sample index)::

    OUT/manifest.csv          image,mask,subject,group,split (subject "phantom-sNNNN",
                              group "phantom", split empty)
    OUT/images/NNNNNN.png     RGB crop (JPEG artefacts, if any, are baked in losslessly)
    OUT/masks/NNNNNN.png      uint8 label map
    OUT/meta/NNNNNN.json      {"params": asdict(EyeParams), "truth": ..., "subject": ...,
                               "seed": ..., "index": ...}

Sample ``i`` belongs to subject ``i % K``; a subject's successive samples alternate
right/left eyes. Each sample draws from its own ``SeedSequence([seed, tag, i])``, so sample
``i`` is the same whatever ``N`` is (for the same ``K``), and a run is byte-identical to a
rerun with the same arguments.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ocularseg.core.errors import ConfigError
from ocularseg.data.manifest import ManifestRow, write_manifest
from ocularseg.data.writer import check_output_dir
from ocularseg.synth.params import EyeParams, sample_eye_params, subject_traits

if TYPE_CHECKING:
    from ocularseg.synth.render import RenderedEye

log = logging.getLogger(__name__)

#: Group written into the manifest for every phantom.
PHANTOM_GROUP = "phantom"
_SAMPLE_TAG = 0x5A3B1E  # keeps per-sample streams apart from per-subject streams


#: Fewest phantom people by default: one per split of a train/val/test split.
MIN_DEFAULT_SUBJECTS = 3


def default_subjects(n: int) -> int:
    """Default number of phantom people for ``n`` images: about 10 images each.

    At least ``MIN_DEFAULT_SUBJECTS`` (or ``n``, when fewer images), so that a small set
    still splits three ways by subject (``data split --fractions 0.7,0.15,0.15``).
    """
    return max(min(n, MIN_DEFAULT_SUBJECTS), n // 10, 1)


def subject_name(subject_id: int) -> str:
    """Manifest subject id of a phantom person, e.g. ``"phantom-s0003"``."""
    return f"phantom-s{subject_id:04d}"


def sample_params(
    index: int, *, seed: int, n_subjects: int, profile: str = "standard"
) -> EyeParams:
    """The parameters of sample ``index`` of a dataset (independent of the dataset size).

    Raises:
        ConfigError: a negative index or seed, or ``n_subjects < 1``.
    """
    if index < 0 or seed < 0:
        raise ConfigError(f"sample index and seed must be >= 0, got {index} and {seed}")
    if n_subjects < 1:
        raise ConfigError(f"number of subjects must be >= 1, got {n_subjects}")
    subject_id = index % n_subjects
    side = ("right", "left")[(index // n_subjects) % 2]
    traits = subject_traits(subject_id, seed, profile)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), _SAMPLE_TAG, int(index)]))
    return sample_eye_params(traits, side, rng, profile)


def check_options(n: int, seed: int, n_subjects: int, out_dir: str | os.PathLike[str]) -> None:
    """Validate ``synth`` options before anything is written.

    Raises:
        ConfigError: ``n < 1``, ``seed < 0``, ``n_subjects`` outside ``[1, n]``, or
            ``out_dir`` exists and is not an empty folder.
    """
    if n < 1:
        raise ConfigError(f"--n must be >= 1, got {n}")
    if seed < 0:
        raise ConfigError(f"--seed must be >= 0, got {seed}")
    if n_subjects < 1:
        raise ConfigError(f"--subjects must be >= 1, got {n_subjects}")
    if n_subjects > n:
        raise ConfigError(f"--subjects {n_subjects} is more than --n {n} images")
    check_output_dir(out_dir, error=ConfigError)


def write_dataset(
    out_dir: str | os.PathLike[str],
    n: int,
    *,
    seed: int = 0,
    n_subjects: int | None = None,
    width_px: int = 480,
    height_px: int = 320,
    profile: str = "standard",
    progress: Callable[[int], None] | None = None,
) -> list[ManifestRow]:
    """Render ``n`` phantoms into ``out_dir`` and write its manifest; return the rows.

    Args:
        out_dir: new or empty folder.
        n: number of images (>= 1).
        seed: dataset seed (>= 0).
        n_subjects: phantom people (1..n); default :func:`default_subjects`.
        width_px, height_px: crop size (480×320 is the model's input).
        profile: "standard", "shifted" or "balanced" (``ocularseg.synth.params.PROFILES``); the
            manifest group is "phantom", "phantom-shifted" or "phantom-balanced".
        progress: called with the number of finished samples after each one.

    Raises:
        ConfigError: bad options or a non-empty ``out_dir`` (nothing is written then).
        ReportError: a file could not be written.
    """
    from ocularseg.synth.render import render_eye

    k = default_subjects(n) if n_subjects is None else n_subjects
    check_options(n, seed, k, out_dir)
    out = Path(out_dir)
    for sub in ("images", "masks", "meta"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    rows: list[ManifestRow] = []
    width = max(6, len(str(n - 1)))
    for index in range(n):
        params = sample_params(index, seed=seed, n_subjects=k, profile=profile)
        rendered = render_eye(params, width_px=width_px, height_px=height_px)
        stem = f"{index:0{width}d}"
        rows.append(_write_sample(out, stem, index, params, rendered, seed=seed, profile=profile))
        if progress is not None:
            progress(index + 1)
    write_manifest(out, rows)
    log.info("wrote %d phantoms of %d subjects to %s", n, k, out)
    return rows


def _write_sample(
    out: Path,
    stem: str,
    index: int,
    params: EyeParams,
    rendered: RenderedEye,
    *,
    seed: int,
    profile: str,
) -> ManifestRow:
    """Write one sample's image, mask and meta JSON under ``out``; return its manifest row.

    Raises:
        ReportError: a file could not be written.
    """
    from ocularseg.io.atomic import write_json_atomic
    from ocularseg.io.images import write_image_atomic

    subject = subject_name(params.subject_id)
    write_image_atomic(out / "images" / f"{stem}.png", rendered.image)
    write_image_atomic(out / "masks" / f"{stem}.png", rendered.labels)
    meta = {
        "params": _jsonable(dataclasses.asdict(params)),
        "truth": rendered.truth,
        "subject": subject,
        "seed": int(seed),
        "index": int(index),
        "profile": profile,
    }
    write_json_atomic(out / "meta" / f"{stem}.json", meta)
    return ManifestRow(
        image=f"images/{stem}.png",
        mask=f"masks/{stem}.png",
        subject=subject,
        group=PHANTOM_GROUP if profile == "standard" else f"{PHANTOM_GROUP}-{profile}",
        split="",
    )


def _jsonable(obj: object) -> object:
    if isinstance(obj, dict):
        return {str(key): _jsonable(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(value) for value in obj]
    if isinstance(obj, float):
        return round(obj, 4) + 0.0
    return obj
