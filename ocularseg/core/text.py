"""Text that is safe to show, print and write: file names that are not valid UTF-8, and cells
that a spreadsheet would run as formulas.

File names on Linux are bytes. Python decodes the bytes that are not valid UTF-8 into lone
"surrogate" characters (``b'\\xe9'`` -> ``'\\udce9'``), which no UTF-8 writer accepts: one such
name used to abort a whole batch. :func:`printable` turns them into a visible ``\\xe9`` so the
name can go into messages, CSV, JSON and XLSX; the file itself is always opened by its real
path, never by this text.
"""

from __future__ import annotations

import os
import re

#: Control characters (C0 and DEL): a newline in a file name would split a message or a
#: report line in two, a tab would shift the columns of skipped_files.txt.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

#: First characters that make Excel, LibreOffice or Google Sheets read a cell as a formula
#: (OWASP "CSV injection"): ``=`` ``+`` ``-`` ``@`` and tab / carriage return.
FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def printable(text: str | os.PathLike[str]) -> str:
    """``text`` on one line, valid UTF-8: undecodable file-name bytes and control
    characters (newline, tab ...) shown as ``\\xNN``.

    Text without such characters is returned unchanged.
    """
    value = os.fspath(text)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "backslashreplace")
    else:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)


def spreadsheet_safe(text: str) -> str:
    """``text`` as a spreadsheet shows it literally: a leading ``'`` when it starts like a formula.

    A file named ``=HYPERLINK(...).mp4`` would otherwise become a live formula when
    ``measurements.csv`` is double-clicked. Spreadsheets hide the ``'``; a program reading
    the CSV sees it (documented in the README).
    """
    if text and text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def safe_cell(value: object) -> object:
    """A table cell as written to CSV: text through :func:`printable` and
    :func:`spreadsheet_safe`, anything else unchanged."""
    if isinstance(value, str):
        return spreadsheet_safe(printable(value))
    return value


def number_text(value: float, spec: str = ".1f") -> str:
    """``value`` formatted with ``spec``; a value that rounds to zero reads ``0.0``, never
    ``-0.0`` (or ``+0.0`` with a ``+`` spec): a clinician reads a sign as a direction.

    Infinite and NaN values keep Python's text (``-inf``, ``nan``); callers that show a
    dash for missing values test for them first.
    """
    text = format(value, spec)
    if text[:1] in "+-" and _DIGIT.search(text) and not _NON_ZERO_DIGIT.search(text):
        return text[1:]
    return text


_DIGIT = re.compile(r"\d")
_NON_ZERO_DIGIT = re.compile(r"[1-9]")
