"""Score prediction / reference label-map pairs of a dataset: per-image rows, summary, text.

The pure half of ``ocularseg evaluate`` on a dataset with full labels; the runner
(``pipeline.evaluate``) reads the images, runs the model (or reads saved masks) and hands
the pairs here. Label maps are (H, W) uint8 in crop px.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ocularseg.evaluation.metrics import EmptyMaskWarning, evaluate_dataset
from ocularseg.evaluation.summary import summarise, summary_markdown
from ocularseg.io.share import IMAGE_PREFIX, SUBJECT_PREFIX, new_key, pseudonymise

log = logging.getLogger(__name__)

#: How image and subject ids are written: as they are, or as unlinkable pseudonyms (for
#: files that travel with a shared model folder; see ``io.share``).
IdPolicy = Literal["keep", "pseudonymise"]

#: One scored image: (image id, group, predicted map, reference map).
ImagePair = tuple[str, str, np.ndarray, np.ndarray]


@dataclass
class EvaluationOutcome:
    """Per-image rows, the summary with CIs, its Markdown, the files written and notes.

    ``notes`` are plain sentences for the user (e.g. classes absent from both maps in some
    images), caught from the metrics' warnings so a command prints them as one line each.
    """

    per_image: pd.DataFrame
    summary: pd.DataFrame
    markdown: str
    files: dict[str, Path] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def score_images(
    pairs: Iterable[ImagePair],
    subjects: Mapping[str, str],
    *,
    seed: int,
    n_resamples: int,
    title: str,
    ids: IdPolicy = "keep",
    id_key: bytes | None = None,
) -> EvaluationOutcome:
    """Per-image × class metrics, their means with bootstrap CIs, and the Markdown.

    Args:
        pairs: the dataset's images in order.
        subjects: image id -> person; CIs resample people (images of one person are not
            independent).
        seed / n_resamples: the bootstrap's (95 % percentile intervals).
        title: the Markdown heading.
        ids: with ``"pseudonymise"`` image and subject ids become keyed-hash pseudonyms
            (rows of one person stay together).
        id_key: the pseudonyms' key (a new one when None); the same key gives the same
            pseudonyms, to pair two models' rows.

    Returns:
        The outcome, with no files written; ``EmptyMaskWarning`` is caught into ``notes``
        (and logged) instead of being shown as a Python warning.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EmptyMaskWarning)
        per_image = evaluate_dataset(pairs)
    notes = tuple(str(w.message) for w in caught if issubclass(w.category, EmptyMaskWarning))
    for w in caught:
        if not issubclass(w.category, EmptyMaskWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    for note in notes:
        log.info("%s", note)
    per_image.insert(1, "subject", per_image["image_id"].map(subjects))
    if ids == "pseudonymise":
        key = id_key or new_key()
        per_image["image_id"] = per_image["image_id"].map(
            pseudonymise(per_image["image_id"], IMAGE_PREFIX, key)
        )
        per_image["subject"] = per_image["subject"].map(
            pseudonymise(per_image["subject"], SUBJECT_PREFIX, key)
        )
    summary = summarise(per_image, seed=seed, n_resamples=n_resamples, cluster_column="subject")
    markdown = summary_markdown(summary, per_image=per_image, title=title)
    return EvaluationOutcome(per_image, summary, markdown, notes=notes)
