"""PDF layout: where the text layer's characters are drawn, carried through the reader's cleanup to
the extracted text, and the pages' printed labels ("iv", "A-3").

PDFium numbers a page's characters in its own list; its text (``FPDFText_GetText``) may insert or
leave out characters, so each text position is mapped back to a character index
(``FPDFText_GetCharIndexFromTextIndex``) before its loose box (the font's full height, so a line's
boxes line up) is read. Boxes are turned into 0-1 coordinates of the page as rendered (crop box and
``/Rotate`` applied) with the page-to-device transform PDFium renders with.
"""

from __future__ import annotations

import ctypes
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from indexer.reading.boxes import CharBoxes, CharBoxesBuilder

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufffe\uffff]")
_DEVICE = 1_000_000
"""Device size the page is mapped onto to read the transform (integer device units: 1e-6 of a page)."""
MAX_LABEL = 64
"""Longer page labels are cut (a label is a page number: "xiv", "A-3")."""


@dataclass(frozen=True, slots=True)
class PageChars:
    """A page's raw text (PDFium's) and the box of each of its characters (NaN: not drawn)."""

    raw: str
    box: npt.NDArray[np.float32]


def indexed_lines(raw: str) -> list[tuple[str, list[int]]]:
    """A page's lines as the reader keeps them (line breaks unified, control characters dropped,
    trailing spaces and blank lines at the top and bottom left out), each with the position in
    ``raw`` of each of its characters."""
    chars: list[str] = []
    where: list[int] = []
    for index, char in enumerate(raw):
        if char == "\r":
            if raw[index + 1 : index + 2] == "\n":
                continue
            char = "\n"
        elif _CONTROL.match(char):
            continue
        chars.append(char)
        where.append(index)
    lines: list[tuple[str, list[int]]] = []
    at = 0
    for line in "".join(chars).split("\n"):
        kept = line.rstrip()
        lines.append((kept, where[at : at + len(kept)]))
        at += len(line) + 1
    while lines and not lines[0][0].strip():
        lines.pop(0)
    while lines and not lines[-1][0].strip():
        lines.pop()
    return lines


def _to_unit(page: Any) -> npt.NDArray[np.float64]:
    """The affine map (2x3) from the page's PDF coordinates to 0-1 coordinates of the rendered page."""
    import pypdfium2.raw as pdfium_c

    def device(x: float, y: float) -> tuple[float, float]:
        dx, dy = ctypes.c_int(), ctypes.c_int()
        pdfium_c.FPDF_PageToDevice(page, 0, 0, _DEVICE, _DEVICE, 0, x, y, ctypes.byref(dx), ctypes.byref(dy))
        return dx.value / _DEVICE, dy.value / _DEVICE

    span = 1000.0
    origin, right, up = np.array(device(0, 0)), np.array(device(span, 0)), np.array(device(0, span))
    return np.column_stack([(right - origin) / span, (up - origin) / span, origin])


def page_chars(page: Any, textpage: Any, raw: str) -> PageChars:
    """The box, in 0-1 page coordinates, of each character of ``raw`` (the page's text)."""
    import pypdfium2.raw as pdfium_c

    text_index = pdfium_c.FPDFText_GetCharIndexFromTextIndex
    char_box = pdfium_c.FPDFText_GetLooseCharBox
    rect = pdfium_c.FS_RECTF()
    where: list[int] = []
    found: list[tuple[float, float, float, float]] = []
    unit = 0
    for index, char in enumerate(raw):
        at, unit = unit, unit + (2 if char > "\uffff" else 1)  # PDFium counts UTF-16 units
        if char.isspace():
            continue
        number = text_index(textpage, at)
        if (
            number >= 0
            and char_box(textpage, number, rect)
            and rect.right > rect.left
            and rect.top > rect.bottom
        ):
            where.append(index)
            found.append((rect.left, rect.bottom, rect.right, rect.top))
    box = np.full((len(raw), 4), np.nan, dtype=np.float64)
    if found:
        box[where] = found
    transform = _to_unit(page)
    ones = np.ones(len(raw))
    corners = [np.column_stack([box[:, i], box[:, j], ones]) @ transform.T for i, j in ((0, 1), (2, 3))]
    low, high = np.minimum(*corners), np.maximum(*corners)
    unit_box = np.clip(np.concatenate([low, high], axis=1), 0.0, 1.0)
    return PageChars(raw, unit_box.astype(np.float32))


def _kept_from(lines: Sequence[str], kept: Sequence[str]) -> int | None:
    """Where the page's ``kept`` lines (running headers and footers dropped) start among its ``lines``."""
    for first in range(len(lines) - len(kept) + 1):
        if list(lines[first : first + len(kept)]) == list(kept):
            return first
    return None


def text_boxes(
    pages: Sequence[PageChars], kept: Sequence[Sequence[str]], page_break: str, text: str
) -> CharBoxes:
    """The boxes of ``text``: the pages' ``kept`` lines joined by ``\\n``, pages by ``page_break``."""
    builder = CharBoxesBuilder()
    for index, (chars, lines) in enumerate(zip(pages, kept, strict=True)):
        if index:
            builder.undrawn(len(page_break))
        indexed = indexed_lines(chars.raw)
        first = _kept_from([line for line, _ in indexed], lines)
        for number, line in enumerate(lines):
            if number:
                builder.undrawn(1)
            if first is None:
                builder.undrawn(len(line))
            else:
                builder.drawn(index, chars.box[indexed[first + number][1]].reshape(-1, 4))
    return builder.build(text)


def page_labels(pdf: Any) -> tuple[str, ...]:
    """Each page's printed label when the PDF defines labels (``/PageLabels``), else nothing."""
    labels = tuple(" ".join(str(pdf.get_page_label(i) or "").split())[:MAX_LABEL] for i in range(len(pdf)))
    return labels if any(labels) else ()
