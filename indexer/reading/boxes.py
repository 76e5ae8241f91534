"""Where each character of a document's extracted text is drawn on its page, and the rectangles of a
span of that text: one per stretch of a line, in 0-1 page coordinates (top-left origin), so a client
can draw a citation over the rendered page.

Paged readers (PDF's text layer, OCR) fill :class:`CharBoxes`; characters they add themselves (line
and page breaks) have no box. A box is the union of its characters' boxes: a span's line is cut into
several boxes where the text jumps back left or to another page (columns, reading order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Box = tuple[int, float, float, float, float]
"""(page 1-based, x0, y0, x1, y1): a rectangle in 0-1 coordinates of the page, top-left origin."""
BOX_DIGITS = 4
"""Boxes are rounded to 1/10000 of the page (about 0.08 pt on A4): enough to draw, small to store."""
_BACKWARDS = 0.002
"""A character starting this far (page fraction) left of where the previous one ended starts a new box."""


@dataclass(frozen=True, slots=True)
class CharBoxes:
    """One entry per character of the extracted text: its page (0-based, -1: not drawn) and its box
    ``(x0, y0, x1, y1)`` in 0-1 page coordinates, top-left origin."""

    page: npt.NDArray[np.int32]
    box: npt.NDArray[np.float32]
    line: npt.NDArray[np.int32]
    """The text line (count of ``\\n`` before the character): a box never spans two."""

    @classmethod
    def build(cls, text: str, page: npt.NDArray[np.int32], box: npt.NDArray[np.float32]) -> CharBoxes:
        if page.shape != (len(text),) or box.shape != (len(text), 4):
            raise ValueError("one page and one box per character of the text")
        newline = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32) == ord("\n")
        line = np.cumsum(newline, dtype=np.int32)
        return cls(page.astype(np.int32), box.astype(np.float32), line)

    def __len__(self) -> int:
        return int(self.page.shape[0])

    def boxes(self, start: int, end: int) -> list[Box]:
        """The rectangles of ``text[start:end]``: one per run of drawn characters on one line of one
        page, going left to right."""
        start, end = max(start, 0), min(end, len(self))
        if end <= start:
            return []
        index = np.flatnonzero(self.page[start:end] >= 0) + start
        if index.size == 0:
            return []
        page, box, line = self.page[index], self.box[index], self.line[index]
        cut = np.ones(index.size, dtype=bool)
        cut[1:] = (page[1:] != page[:-1]) | (line[1:] != line[:-1]) | (box[1:, 0] < box[:-1, 2] - _BACKWARDS)
        starts = np.flatnonzero(cut)
        x0 = np.minimum.reduceat(box[:, 0], starts)
        y0 = np.minimum.reduceat(box[:, 1], starts)
        x1 = np.maximum.reduceat(box[:, 2], starts)
        y1 = np.maximum.reduceat(box[:, 3], starts)
        return [
            (int(p) + 1, *(round(float(v), BOX_DIGITS) for v in (a, b, c, d)))  # type: ignore[misc]
            for p, a, b, c, d in zip(page[starts], x0, y0, x1, y1, strict=True)
        ]


class CharBoxesBuilder:
    """Collects a text's character boxes piece by piece, in text order."""

    def __init__(self) -> None:
        self._pages: list[npt.NDArray[np.int32]] = []
        self._boxes: list[npt.NDArray[np.float32]] = []

    def drawn(self, page: int, box: npt.NDArray[np.float32]) -> None:
        """Characters drawn on ``page`` (0-based), one row ``(x0, y0, x1, y1)`` each (NaN: not drawn)."""
        missing = np.isnan(box).any(axis=1)
        self._pages.append(np.where(missing, -1, page).astype(np.int32))
        self._boxes.append(np.nan_to_num(box.astype(np.float32)))

    def undrawn(self, count: int) -> None:
        """Characters the reader added (line and page breaks)."""
        self._pages.append(np.full(count, -1, dtype=np.int32))
        self._boxes.append(np.zeros((count, 4), dtype=np.float32))

    def build(self, text: str) -> CharBoxes:
        page = np.concatenate(self._pages) if self._pages else np.zeros(0, dtype=np.int32)
        box = np.concatenate(self._boxes) if self._boxes else np.zeros((0, 4), dtype=np.float32)
        return CharBoxes.build(text, page, box)
