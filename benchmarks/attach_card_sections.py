"""Add hand-written sections (measured elsewhere) to an exported model folder's card.

Each Markdown file's first line is ``## Title``; the rest is the section's text. The sections
are stored in ``model.json`` (``card_sections``) and MODEL_CARD.md is rewritten; the ONNX file
and its sha256 are untouched. With ``--provenance TEXT`` the folder's one-line provenance
(printed in every report) is set too.

    python benchmarks/attach_card_sections.py models/ocularseg-unet-real \\
        docs/model_cards/ocularseg-unet-real/*.md --provenance "trained on …; validated on …"
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ocularseg.io.atomic import write_json_atomic, write_text_atomic
from ocularseg.training.export import attach_card_section, model_card


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("sections", type=Path, nargs="*")
    parser.add_argument("--provenance", default=None)
    args = parser.parse_args(argv)
    for path in args.sections:
        title, _, body = path.read_text(encoding="utf-8").partition("\n")
        if not title.startswith("## "):
            parser.error(f"{path}: the first line must be '## Title'")
        attach_card_section(args.model_dir, title[3:].strip(), body.strip())
    if args.provenance:
        meta_path = args.model_dir / "model.json"
        content = json.loads(meta_path.read_text(encoding="utf-8"))
        content["provenance"] = args.provenance
        write_json_atomic(meta_path, content)
        card = model_card(content, content.get("evaluation_markdown"))
        write_text_atomic(args.model_dir / "MODEL_CARD.md", card)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
