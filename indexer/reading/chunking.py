"""Split a document's text into token windows that are exact slices of the source text.

Windows hold at most ``max_tokens`` tokens of the chunking encoding (tiktoken) and also satisfy any
extra limits (the embedding model's own maximum sequence length), so nothing is silently truncated
at embedding time. Cuts fall on paragraph, then sentence, then word boundaries where possible; only
a single "word" longer than a window is cut inside. Consecutive windows share up to
``overlap_tokens`` tokens of whole units (sentences or words).

Speed: each unit (sentence) is counted once; a window's count is first estimated as the sum of its
units' counts (tokenizers split at the whitespace between units, so the estimate is off by a token
or two at most), and only the windows around the estimated cut are counted exactly. Every cut is
still decided by exact counts: the result is the largest window that fits, as a search with exact
counts everywhere would find.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial

from indexer.config import ChunkingSettings
from indexer.errors import IndexerError
from indexer.reading.encodings import get_encoding

TokenCounter = Callable[[str], int]

# A sentence ends at terminal punctuation (optionally closed by quotes/brackets) followed by
# whitespace; every line break is a boundary too. Two or more line breaks start a paragraph.
_BOUNDARY = re.compile(r"""[.!?…]+["'”’»)\]]*\s+|\s*\n\s*""")  # noqa: RUF001
_WORD = re.compile(r"\S+")
_NEWLINE = re.compile("\n")


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
    tokens: tuple[int, ...] = ()
    """The text's exact token count under each limit, in the chunker's order (the chunking encoding
    first, then ``extra_limits``)."""


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
        # Tokens a tokenizer adds to any text (a model's [CLS] and [SEP]): in each unit's count, but
        # only once in a window's.
        self._overhead = tuple(limit.count("") for limit in self._limits)

    def measure(self, text: str) -> tuple[int, ...] | None:
        """``text``'s exact count under each limit, or None if it exceeds one (counting stops there)."""
        found = []
        for limit in self._limits:
            count = limit.count(text)
            if count > limit.limit:
                return None
            found.append(count)
        return tuple(found)

    def fits(self, text: str) -> bool:
        return self.measure(text) is not None

    def _fits_span(self, text: str, start: int, end: int) -> bool:
        return self.fits(text[start:end])

    def chunk(self, text: str, segments: Sequence[tuple[int, int]] | None = None) -> list[Chunk]:
        """``text`` cut into windows; with ``segments`` ((start, end) ranges in order, e.g. sections),
        only those ranges are chunked and no window crosses from one into the next."""
        newlines = [m.start() for m in _NEWLINE.finditer(text)]
        chunks: list[Chunk] = []
        for first, stop in segments if segments is not None else [(0, len(text))]:
            units, counts = self._units(text, first, stop)
            for start, end, tokens in _Windows(self, text, units, counts).cuts():
                chunks.append(
                    Chunk(
                        position=len(chunks),
                        char_start=start,
                        char_end=end,
                        line_start=bisect.bisect_left(newlines, start) + 1,
                        line_end=bisect.bisect_left(newlines, end - 1) + 1,
                        text=text[start:end],
                        tokens=tokens,
                    )
                )
        return chunks

    # -- segmentation -------------------------------------------------------------------------

    def _units(self, text: str, first: int, stop: int) -> tuple[list[_Unit], list[tuple[int, ...]]]:
        """Sentences of ``text[first:stop]``, each with its exact counts; a sentence too long for one
        window becomes words, a word too long, pieces."""
        units: list[_Unit] = []
        counts: list[tuple[int, ...]] = []
        for sentence in _sentences(text, first, stop):
            found = self.measure(text[sentence.start : sentence.end])
            if found is not None:
                units.append(sentence)
                counts.append(found)
                continue
            first = True
            for match in _WORD.finditer(text, sentence.start, sentence.end):
                para = sentence.para_start and first
                first = False
                word = self.measure(match.group())
                if word is not None:
                    units.append(_Unit(match.start(), match.end(), para))
                    counts.append(word)
                    continue
                for piece_start, piece_end in self._hard_cut(text, match.start(), match.end()):
                    units.append(_Unit(piece_start, piece_end, para))
                    piece = text[piece_start:piece_end]
                    counts.append(tuple(limit.count(piece) for limit in self._limits))
                    para = False
        return units, counts

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


def chunker_for(settings: ChunkingSettings, count_model_tokens: TokenCounter, model_limit: int) -> Chunker:
    """The configured chunker: windows of ``settings.max_tokens`` tokens of the tiktoken encoding that
    also fit the embedding model's ``model_limit`` of its own tokens. ``Chunk.tokens`` is (chunk
    tokens, model tokens), in this order."""
    encoding = get_encoding(settings.encoding)

    def count(text: str) -> int:
        return len(encoding.encode(text, disallowed_special=()))

    model = TokenLimit("model tokens", count_model_tokens, model_limit)
    return Chunker(count, settings.max_tokens, settings.overlap_tokens, extra_limits=[model])


class _Windows:
    """Packs one document's units into windows: estimates from the units' counts, exact checks
    around the estimated cuts."""

    def __init__(
        self, chunker: Chunker, text: str, units: list[_Unit], counts: list[tuple[int, ...]]
    ) -> None:
        self.chunker = chunker
        self.text = text
        self.units = units
        self.counts = counts
        self.limits = [limit.limit for limit in chunker._limits]
        # prefix[l][k]: estimated tokens of units[:k] under limit l (each unit without the overhead)
        self.prefix: list[list[int]] = []
        for index, overhead in enumerate(chunker._overhead):
            sums = [0]
            for found in counts:
                sums.append(sums[-1] + found[index] - overhead)
            self.prefix.append(sums)

    def _span(self, first: int, stop: int) -> str:
        return self.text[self.units[first].start : self.units[stop - 1].end]

    def cuts(self) -> Iterator[tuple[int, int, tuple[int, ...]]]:
        """(start, end, exact counts) of each window."""
        units, n = self.units, len(self.units)
        i = 0
        while i < n:
            j, tokens = self._largest_fit(i)
            if j < n:
                j, tokens = self._prefer_paragraph_cut(i, j, tokens)
            yield units[i].start, units[j - 1].end, tokens
            if j >= n:
                return
            i = self._overlap_start(i, j)

    def _largest_fit(self, i: int) -> tuple[int, tuple[int, ...]]:
        """Largest j such that units[i:j] fit in one window (units[i] alone always fits), and the
        window's exact counts."""
        n = len(self.units)
        guess = n
        for index, overhead in enumerate(self.chunker._overhead):
            budget = self.prefix[index][i] + self.limits[index] - overhead
            guess = min(guess, bisect.bisect_right(self.prefix[index], budget) - 1)
        j = max(guess, i + 1)
        tokens = self._measure(i, j)
        while tokens is None:  # the estimate was too high: step back until the window fits
            j -= 1
            tokens = self._measure(i, j)
        while j < n and (bigger := self._measure(i, j + 1)) is not None:
            j, tokens = j + 1, bigger  # the estimate was too low
        return j, tokens

    def _measure(self, first: int, stop: int) -> tuple[int, ...] | None:
        """Exact counts of units[first:stop] as one window (None if over a limit); a single unit's
        are known already."""
        if stop == first + 1:
            return self.counts[first]
        return self.chunker.measure(self._span(first, stop))

    def _prefer_paragraph_cut(self, i: int, j: int, tokens: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        """Move the cut back to the last paragraph start if the window stays at least half full."""
        units = self.units
        for p in range(j - 1, i, -1):
            if units[p].para_start:
                shorter = self._measure(i, p)
                if shorter is not None and shorter[0] * 2 >= self.chunker.max_tokens:
                    return p, shorter
                break
        return j, tokens

    def _overlap_start(self, i: int, j: int) -> int:
        """First unit of the next window: as many trailing units of this one as fit the overlap
        (smallest k in [i+1, j-1] whose units[k:j] have at most ``overlap_tokens`` tokens)."""
        overlap = self.chunker.overlap_tokens
        if overlap == 0 or j - 1 < i + 1:
            return j
        count = self.chunker._count

        def within(k: int) -> bool:
            return count(self._span(k, j)) <= overlap

        sums, overhead = self.prefix[0], self.chunker._overhead[0]
        k = min(j - 1, max(i + 1, bisect.bisect_left(sums, sums[j] - (overlap - overhead))))
        if within(k):
            while k - 1 >= i + 1 and within(k - 1):
                k -= 1
            return k
        while k + 1 <= j - 1:
            k += 1
            if within(k):
                return k
        return j


def _sentences(text: str, first: int, stop: int) -> Iterator[_Unit]:
    pos = first
    para = True
    for match in _BOUNDARY.finditer(text, first, stop):
        unit = _trim(text, pos, match.end(), para)
        if unit is not None:
            yield unit
            para = False
        para = para or match.group().count("\n") >= 2
        pos = match.end()
    unit = _trim(text, pos, stop, para)
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
