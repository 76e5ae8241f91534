"""Split a document's text into token windows that are exact slices of the source text.

Windows hold at most ``max_tokens`` tokens of the chunking encoding (tiktoken) and also satisfy any
extra limits (the embedding model's own maximum sequence length), so nothing is silently truncated
at embedding time. Cuts fall on paragraph, then sentence, then word boundaries where possible; only
a single "word" longer than a window is cut inside. Consecutive windows share up to
``overlap_tokens`` tokens of whole units (sentences or words).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial

from indexer.errors import IndexerError

TokenCounter = Callable[[str], int]

# A sentence ends at terminal punctuation (optionally closed by quotes/brackets) followed by
# whitespace; every line break is a boundary too. Two or more line breaks start a paragraph.
_BOUNDARY = re.compile(r"""[.!?…]+["'”’»)\]]*\s+|\s*\n\s*""")  # noqa: RUF001
_WORD = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class TokenLimit:
    """A token budget measured by some tokenizer: ``count(text) <= limit`` must hold."""

    name: str
    count: TokenCounter
    limit: int


@dataclass(frozen=True, slots=True)
class Chunk:
    position: int
    char_start: int
    char_end: int
    line_start: int
    line_end: int
    text: str


@dataclass(frozen=True, slots=True)
class _Unit:
    start: int
    end: int
    para_start: bool


class Chunker:
    """Token-window chunker; ``count_tokens`` is the primary (tiktoken) counter."""

    def __init__(
        self,
        count_tokens: TokenCounter,
        max_tokens: int,
        overlap_tokens: int,
        extra_limits: Sequence[TokenLimit] = (),
    ) -> None:
        if max_tokens < 1 or not 0 <= overlap_tokens < max_tokens:
            raise ValueError("need max_tokens >= 1 and 0 <= overlap_tokens < max_tokens")
        self._count = count_tokens
        self.max_tokens = max_tokens
        self.overlap_tokens = overlap_tokens
        self._limits = (TokenLimit("chunk tokens", count_tokens, max_tokens), *extra_limits)

    def fits(self, text: str) -> bool:
        return all(limit.count(text) <= limit.limit for limit in self._limits)

    def _fits_span(self, text: str, start: int, end: int) -> bool:
        return self.fits(text[start:end])

    def _fits_units(self, text: str, units: list[_Unit], first: int, stop: int) -> bool:
        """Whether ``units[first:stop]`` fit in one window."""
        return self.fits(text[units[first].start : units[stop - 1].end])

    def chunk(self, text: str) -> list[Chunk]:
        units = list(self._units(text))
        newlines = [i for i, ch in enumerate(text) if ch == "\n"]
        chunks: list[Chunk] = []
        for start, end in self._windows(text, units):
            chunks.append(
                Chunk(
                    position=len(chunks),
                    char_start=start,
                    char_end=end,
                    line_start=bisect.bisect_left(newlines, start) + 1,
                    line_end=bisect.bisect_left(newlines, end - 1) + 1,
                    text=text[start:end],
                )
            )
        return chunks

    # -- segmentation -------------------------------------------------------------------------

    def _units(self, text: str) -> Iterator[_Unit]:
        """Sentences; a sentence too long for one window becomes words; a word too long, pieces."""
        for sentence in _sentences(text):
            if self.fits(text[sentence.start : sentence.end]):
                yield sentence
                continue
            first = True
            for match in _WORD.finditer(text, sentence.start, sentence.end):
                para = sentence.para_start and first
                first = False
                if self.fits(match.group()):
                    yield _Unit(match.start(), match.end(), para)
                else:
                    for piece_start, piece_end in self._hard_cut(text, match.start(), match.end()):
                        yield _Unit(piece_start, piece_end, para)
                        para = False

    def _hard_cut(self, text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
        """Cut ``text[start:end]`` (no whitespace inside) into the longest pieces that fit."""
        while start < end:
            cut = _last_true(start + 1, end, partial(self._fits_span, text, start))
            if cut is None:
                raise IndexerError(
                    f"a single character ({text[start]!r}) exceeds the token limits; raise max_tokens"
                )
            yield start, cut
            start = cut

    # -- packing ------------------------------------------------------------------------------

    def _windows(self, text: str, units: list[_Unit]) -> Iterator[tuple[int, int]]:
        i = 0
        n = len(units)
        while i < n:
            # Largest j such that units[i:j] fit in one window (units[i] alone always fits).
            j = _last_true(i + 2, n, partial(self._fits_units, text, units, i)) or i + 1
            if j < n:
                j = self._prefer_paragraph_cut(text, units, i, j)
            yield units[i].start, units[j - 1].end
            if j >= n:
                return
            i = self._overlap_start(text, units, i, j)

    def _prefer_paragraph_cut(self, text: str, units: list[_Unit], i: int, j: int) -> int:
        """Move the cut back to the last paragraph start if the window stays at least half full."""
        for p in range(j - 1, i, -1):
            if units[p].para_start:
                if self._count(text[units[i].start : units[p - 1].end]) * 2 >= self.max_tokens:
                    return p
                break
        return j

    def _overlap_start(self, text: str, units: list[_Unit], i: int, j: int) -> int:
        """First unit of the next window: as many trailing units of this one as fit the overlap."""
        if self.overlap_tokens == 0:
            return j
        end = units[j - 1].end
        first = _first_true(
            i + 1, j - 1, lambda k: self._count(text[units[k].start : end]) <= self.overlap_tokens
        )
        return j if first is None else first


def _sentences(text: str) -> Iterator[_Unit]:
    pos = 0
    para = True
    for match in _BOUNDARY.finditer(text):
        unit = _trim(text, pos, match.end(), para)
        if unit is not None:
            yield unit
            para = False
        para = para or match.group().count("\n") >= 2
        pos = match.end()
    unit = _trim(text, pos, len(text), para)
    if unit is not None:
        yield unit


def _trim(text: str, start: int, end: int, para: bool) -> _Unit | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return _Unit(start, end, para) if start < end else None


def _last_true(lo: int, hi: int, pred: Callable[[int], bool]) -> int | None:
    """Largest x in [lo, hi] with pred(x), assuming pred is monotone (true then false).

    Gallops from ``lo`` so that the cost depends on the answer's distance, not on ``hi``."""
    if lo > hi or not pred(lo):
        return None
    good, step = lo, 1
    while good + step <= hi and pred(good + step):
        good += step
        step *= 2
    bad = min(good + step, hi + 1)
    while bad - good > 1:
        mid = (good + bad) // 2
        if pred(mid):
            good = mid
        else:
            bad = mid
    return good


def _first_true(lo: int, hi: int, pred: Callable[[int], bool]) -> int | None:
    """Smallest x in [lo, hi] with pred(x), assuming pred is monotone (false then true)."""
    if lo > hi or not pred(hi):
        return None
    bad, good = lo - 1, hi
    while good - bad > 1:
        mid = (good + bad) // 2
        if pred(mid):
            good = mid
        else:
            bad = mid
    return good
