"""Where a query's terms occur in a text, as the keyword index tokenizes and stems them: what a
client bolds in a result."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence

TOKEN = re.compile(r"\w\w+")
"""bm25s's token pattern, ``(?u)\\b\\w\\w+\\b``: words of two characters or more (the same
matches, a quarter faster without the word boundaries, which a greedy ``\\w\\w+`` run implies)."""

Stem = Callable[[Sequence[str]], Sequence[str]]


def term_spans(
    text: str, terms: Collection[str], stopwords: Collection[str], stem: Stem | None
) -> list[tuple[int, int]]:
    """``(start, end)`` of every word of ``text`` whose stem (lower-cased, stopwords left out) is one
    of ``terms``, in order."""
    if not terms:
        return []
    # Each distinct word is lower-cased and stemmed once; only the words that match are looked
    # for again with their offsets (most words of a passage are not the query's).
    lowered = {word: word.lower() for word in set(TOKEN.findall(text))}
    words = [word for word in set(lowered.values()) if word not in stopwords]
    stems = dict(zip(words, stem(words) if stem is not None else words, strict=True))
    matching = {word for word, lower in lowered.items() if stems.get(lower) in terms}
    if not matching:
        return []
    return [match.span() for match in TOKEN.finditer(text) if match.group() in matching]


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
