"""Running text of the one-page report: wrapped to the width it is drawn at, split over pages.

Nothing is cut off: a line is wrapped at spaces by its measured width (a word longer than
a line, such as a long file name, is broken between characters), and what does not fit on
a page continues on the next (an item moves there whole rather than leave a line or two
behind).
Widths are measured in points from the font's own glyph advances (matplotlib's default
font, the one the page is drawn in), so the PNG and the PDF break at the same places.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Indent of a wrapped item's second and later lines.
CONTINUATION_INDENT = "      "
#: Width kept free at the right of a line (points): font hinting differs a little between
#: the PNG and the PDF.
_SLACK_PT = 6.0

#: Hinted glyphs at the page's 150 dpi come out up to about 2 % wider than their advances.
_HINTING_ALLOWANCE = 1.03

#: An item is split between pages only when each part has at least this many lines.
_MIN_SPLIT_LINES = 3

#: ``width_pt(text, size_pt, weight)``: the drawn width of one line of text in points.
WidthOf = Callable[[str, float, str], float]


@dataclass(frozen=True)
class TextRegion:
    """Where running text goes on a page.

    Attributes:
        left: x of the lines' left edge (figure fraction).
        top: y of the first line's baseline (figure fraction).
        bottom: lowest baseline allowed (figure fraction).
        width_pt: the longest line allowed (points).
        line_step: distance between baselines (figure fraction).
        size_pt: font size (points).
    """

    left: float
    top: float
    bottom: float
    width_pt: float
    line_step: float = 0.022
    size_pt: float = 8.0

    @property
    def capacity(self) -> int:
        """How many lines fit between ``top`` and ``bottom`` (at least one)."""
        return max(1, int((self.top - self.bottom) / self.line_step + 1e-9) + 1)


def width_measure(figure: Figure) -> WidthOf:
    """A :data:`WidthOf` for text drawn on ``figure`` in matplotlib's default font.

    The width is the sum of the characters' unhinted advances (cached per character, size
    and weight), widened by :data:`_HINTING_ALLOWANCE` for the pixel rounding of the PNG's
    hinted glyphs: laying out every candidate line with the renderer is far slower.
    """
    from matplotlib.font_manager import FontProperties, findfont, get_font

    del figure  # widths in points do not depend on the figure's dpi
    fonts: dict[str, object] = {}
    advances: dict[tuple[str, float, str], float] = {}

    def advance_pt(char: str, size_pt: float, weight: str) -> float:
        key = (char, size_pt, weight)
        if key not in advances:
            font = fonts.get(weight)
            if font is None:
                font = fonts[weight] = get_font(findfont(FontProperties(weight=weight)))
            font.set_size(size_pt, 72)  # at 72 dpi one pixel is one point
            glyph = font.load_char(ord(char), flags=_no_hinting())
            advances[key] = glyph.linearHoriAdvance / 65536
        return advances[key]

    def width_pt(text: str, size_pt: float, weight: str = "normal") -> float:
        return _HINTING_ALLOWANCE * sum(advance_pt(char, size_pt, weight) for char in text)

    return width_pt


def _no_hinting():
    """FreeType's no-hinting load flag (an enum from matplotlib 3.10, an int before)."""
    from matplotlib import ft2font

    flags = getattr(ft2font, "LoadFlags", None)
    return flags.NO_HINTING if flags is not None else ft2font.LOAD_NO_HINTING


def fitted_size(
    text: str, width_pt: float, width_of: WidthOf, *, largest: float, smallest: float, weight: str
) -> float | None:
    """The largest font size from ``largest`` down to ``smallest`` (half-point steps) at
    which ``text`` fits on one line of ``width_pt``; None when it does not fit even at
    ``smallest``."""
    size = largest
    while size >= smallest - 1e-9:
        if width_of(text, size, weight) <= width_pt - _SLACK_PT:
            return size
        size -= 0.5
    return None


def wrap_text(text: str, width_pt: float, width_of: WidthOf, *, size_pt: float = 8.0) -> list[str]:
    """``text`` as lines no wider than ``width_pt``; later lines indented.

    Every character of ``text`` is kept (spaces at a break become the break).
    """
    limit = width_pt - _SLACK_PT

    def fits(line: str) -> bool:
        return width_of(line, size_pt, "normal") <= limit

    indent = text[: len(text) - len(text.lstrip(" "))]
    first, *words = text[len(indent) :].split(" ")
    lines: list[str] = []
    current = indent + first
    for word in [None, *words]:
        if word is not None:
            candidate = f"{current} {word}"
            # A word longer than a whole line is broken where it stands.
            if fits(candidate) or not current.strip() or not fits(CONTINUATION_INDENT + word):
                current = candidate
            else:
                lines.append(current)
                current = CONTINUATION_INDENT + word
        while not fits(current) and len(current.strip()) > 1:
            head, current = _break_word(current, fits)
            lines.append(head)
    lines.append(current)
    return lines


def _break_word(line: str, fits: Callable[[str], bool]) -> tuple[str, str]:
    """The longest head of ``line`` that fits, and the rest (indented)."""
    low, high = len(line) - len(line.lstrip()) + 1, len(line) - 1
    while low < high:  # the largest cut in [low, high] whose head fits
        middle = (low + high + 1) // 2
        if fits(line[:middle]):
            low = middle
        else:
            high = middle - 1
    return line[:low], CONTINUATION_INDENT + line[low:]


def paginate(
    items: Sequence[str], first: TextRegion, rest: TextRegion, width_of: WidthOf
) -> list[list[str]]:
    """Wrapped lines per page: the first page's region, then as many ``rest`` pages as needed.

    When everything fits on the first page it takes one page. Otherwise every page but the
    last keeps its last line free for a "continued on page N" note; an item that does not
    fit on the page in hand starts the next page, unless both parts of it would have a
    few lines (:data:`_MIN_SPLIT_LINES`): then it fills the page and continues.
    """
    wrapped = [wrap_text(item, first.width_pt, width_of, size_pt=first.size_pt) for item in items]
    if sum(map(len, wrapped)) <= first.capacity:
        return [[line for lines in wrapped for line in lines]]
    pages: list[list[str]] = []
    current: list[str] = []
    region = first
    for item in items:
        lines = wrap_text(item, region.width_pt, width_of, size_pt=region.size_pt)
        room = region.capacity - 1 - len(current)
        if current and len(lines) > room and not _worth_splitting(len(lines), room):
            pages.append(current)
            current, region = [], rest
            lines = wrap_text(item, region.width_pt, width_of, size_pt=region.size_pt)
        while len(current) + len(lines) > region.capacity - 1:
            room = max(region.capacity - 1 - len(current), 0 if current else 1)
            pages.append(current + lines[:room])
            current, region, lines = [], rest, lines[room:]
        current += lines
    pages.append(current)
    return pages


def _worth_splitting(item_lines: int, room: int) -> bool:
    """Split an item over two pages only when each part gets a few lines."""
    return room >= _MIN_SPLIT_LINES and item_lines - room >= _MIN_SPLIT_LINES


def draw_lines(figure: Figure, lines: Sequence[str], region: TextRegion) -> None:
    """``lines`` from ``region.top`` down, one ``region.line_step`` apart."""
    for number, line in enumerate(lines):
        figure.text(
            region.left,
            region.top - number * region.line_step,
            line,
            fontsize=region.size_pt,
            parse_math=False,
        )
