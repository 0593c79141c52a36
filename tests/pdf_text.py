"""The text of a PDF that matplotlib wrote, read back without a PDF library.

matplotlib's PDF backend writes each text as literal strings inside ``BT … ET`` blocks
(Flate-compressed unless ``pdf.compression`` is 0). Characters outside Latin-1 (``−``,
``≤``, ``•``) are drawn as glyph shapes, not strings, so they are absent from this text.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path


def pdf_text(path: Path) -> str:
    """The text of every text object in the PDF, in drawing order, one object a line."""
    data = path.read_bytes()
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S)
    texts = []
    for stream in streams:
        try:
            stream = zlib.decompress(stream)
        except zlib.error:
            pass
        for block in re.findall(rb"\bBT\s(.*?)\sET\b", stream, re.S):
            texts.append("".join(_strings(block)))
    return "\n".join(texts)


def _strings(block: bytes) -> list[str]:
    """The literal strings ``( … )`` of a content-stream block, escapes undone."""
    out, i = [], 0
    escapes = {b"n": "\n", b"r": "\r", b"t": "\t", b"b": "\b", b"f": "\f"}
    while i < len(block):
        if block[i : i + 1] != b"(":
            i += 1
            continue
        depth, i, chars = 1, i + 1, []
        while depth:
            char = block[i : i + 1]
            if char == b"\\":
                following = block[i + 1 : i + 2]
                octal = re.match(rb"[0-7]{1,3}", block[i + 1 : i + 4])
                if octal:
                    chars.append(chr(int(octal.group(), 8)))
                    i += 1 + len(octal.group())
                    continue
                chars.append(escapes.get(following, following.decode("latin-1")))
                i += 2
                continue
            depth += {b"(": 1, b")": -1}.get(char, 0)
            if depth:
                chars.append(char.decode("latin-1"))
            i += 1
        out.append("".join(chars))
    return out


def comparable(text: str) -> str:
    """``text`` without white space, control characters and the letter pairs that the font
    draws as one ligature glyph (``fi``, ``fl``: written as a control code in the PDF), so
    that text wrapped over lines compares with the one line it came from."""
    text = re.sub(r"[\x00-\x1f\s]", "", text)
    return re.sub("ff|fi|fl", "", text)
