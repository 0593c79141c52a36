"""Add hand-written sections (measured elsewhere) to a model folder's card, or dump them.

Each Markdown file's first line is ``## Title``; the rest is the section's text. The card
text is stored once, in ``model.json`` (``card.sections``); MODEL_CARD.md is rebuilt from
it (``ocularseg.io.modelfolder``) and the ONNX file and its sha256 are untouched. With
``--provenance TEXT`` the folder's one-line provenance (printed in every report) is set
too. ``--dump DIR`` writes the stored sections as ``NN_title.md`` files to edit and attach
again.

    python benchmarks/attach_card_sections.py models/ocularseg-unet-real \\
        edited/*.md --provenance "trained on …; validated on …"
    python benchmarks/attach_card_sections.py models/ocularseg-unet-real --dump edited
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from ocularseg.io.modelfolder import load_model_spec, update_model_folder


def _dump(model_dir: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for i, section in enumerate(load_model_spec(model_dir).card.sections, start=1):
        slug = re.sub(r"[^a-z0-9]+", "_", section.title.lower()).strip("_")[:40]
        text = f"## {section.title}\n{section.markdown.strip()}\n"
        (out / f"{i:02d}_{slug}.md").write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("sections", type=Path, nargs="*")
    parser.add_argument("--provenance", default=None)
    parser.add_argument("--dump", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.dump is not None:
        _dump(args.model_dir, args.dump)
        return 0
    card = load_model_spec(args.model_dir).card
    for path in args.sections:
        title, _, body = path.read_text(encoding="utf-8").partition("\n")
        if not title.startswith("## "):
            parser.error(f"{path}: the first line must be '## Title'")
        card = card.with_section(title[3:].strip(), body.strip())
    changes: dict[str, object] = {"card": card}
    if args.provenance:
        changes["provenance"] = args.provenance
    update_model_folder(args.model_dir, **changes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
