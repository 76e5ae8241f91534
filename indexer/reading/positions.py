"""Where a span of a document's text sits: its pages and its section, and the ranges chunked apart.

A section holding nothing but its heading (a chapter title right before its first subheading) is
not cut off alone: it is chunked with what follows, and passages there take the inner section. So is
a few words' preamble before the first heading (a byline).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence

from indexer.reading.readers import Section


def page_span(pages: Sequence[int], start: int, end: int) -> tuple[int | None, int | None]:
    """First and last page (1-based) of ``text[start:end]``, given where each page starts; None for a
    document without pages."""
    if not pages:
        return None, None
    first = bisect.bisect_right(pages, start)
    last = bisect.bisect_right(pages, max(start, end - 1))
    return max(first, 1), max(last, 1)


SHORT_PREAMBLE = 120
"""Characters: text before the first heading up to this long is chunked with the first section."""


class Layout:
    """The pages and sections of one document's ``text``."""

    def __init__(
        self, text: str, pages: Sequence[int] = (), sections: Sequence[Section] = (), body_start: int = 0
    ) -> None:
        self.pages = list(pages)
        self.sections = list(sections)
        self._starts = [s.start for s in self.sections]
        ends = [*self._starts[1:], len(text)][: len(self._starts)]
        self._empty = [not text[s.body : end].strip() for s, end in zip(self.sections, ends, strict=True)]
        first = self._starts[0] if self._starts else len(text)
        self._thin_preamble = len(text[body_start:first].strip()) <= SHORT_PREAMBLE

    def segments(self, length: int, body_start: int = 0) -> list[tuple[int, int]]:
        """The ranges chunked apart: from ``body_start`` on, a new range at every section start, except
        after a section that holds only its heading, or after a short preamble."""
        cuts = [body_start]
        for index, start in enumerate(self._starts):
            if start <= body_start:
                continue
            if index == 0 and self._thin_preamble:
                continue
            if index and self._empty[index - 1] and self._starts[index - 1] >= body_start:
                continue
            cuts.append(start)
        cuts.append(length)
        return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]

    def pages_of(self, start: int, end: int) -> tuple[int | None, int | None]:
        """First and last page (1-based) of ``text[start:end]``; None for a document without pages."""
        return page_span(self.pages, start, end)

    def section_of(self, start: int, end: int) -> str | None:
        """The heading path ``text[start:end]`` sits under (a heading-only section it starts in gives
        way to the next one inside the span); None before the first heading."""
        index = bisect.bisect_right(self._starts, start) - 1
        if index < 0:
            if not (self._starts and self._thin_preamble and self._starts[0] < end):
                return None
            index = 0
        while self._empty[index] and index + 1 < len(self._starts) and self._starts[index + 1] < end:
            index += 1
        return self.sections[index].path
