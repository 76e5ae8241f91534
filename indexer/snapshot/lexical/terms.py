"""Where a query's terms occur in a text, as the keyword index tokenizes and stems them: what a
client bolds in a result."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence

TOKEN = re.compile(r"(?u)\b\w\w+\b")
"""bm25s's token pattern: words of two characters or more."""

Stem = Callable[[Sequence[str]], Sequence[str]]


def term_spans(
    text: str, terms: Collection[str], stopwords: Collection[str], stem: Stem | None
) -> list[tuple[int, int]]:
    """``(start, end)`` of every word of ``text`` whose stem (lower-cased, stopwords left out) is one
    of ``terms``, in order."""
    if not terms:
        return []
    found = [(m.start(), m.end(), m.group().lower()) for m in TOKEN.finditer(text)]
    words = sorted({word for _, _, word in found if word not in stopwords})
    stems = dict(zip(words, stem(words) if stem is not None else words, strict=True))
    return [(start, end) for start, end, word in found if stems.get(word) in terms]


def query_tokens(query: str, stopwords: Collection[str], stem: Stem | None) -> list[str]:
    """``query``'s tokens as ``bm25s.tokenize`` makes them (lower-cased, split on :data:`TOKEN`,
    stopwords left out, stemmed, in order), without its per-call progress bar
    set-up, which took most of a short query's tokenizing time."""
    words = [word for word in TOKEN.findall(query.lower()) if word not in stopwords]
    if stem is None:
        return words
    unique = list(dict.fromkeys(words))
    stems = dict(zip(unique, stem(unique), strict=True))
    return [stems[word] for word in words]
