"""Highlights: the words of a passage that match the query's terms the way the keyword index
matches them (lower-cased, stemmed, stopwords left out), with exact offsets."""

from __future__ import annotations

import itertools
import re

import pytest
import Stemmer
from hypothesis import given
from hypothesis import strategies as st

from indexer.config import LexicalSettings
from indexer.snapshot.lexical.bm25 import BM25Index
from indexer.snapshot.lexical.terms import query_tokens

TEXT = "The Rovers crossed dusty craters; a rover's crater-crossing took İstanbul crews days."


def words(index: BM25Index, query: str, text: str = TEXT) -> list[str]:
    (spans,) = index.highlights(query, [text])
    return [text[start:end] for start, end in spans]


def test_stemmed_terms_match_every_form_and_stopwords_never() -> None:
    index = BM25Index.build(LexicalSettings(), [TEXT])
    assert words(index, "the rover crossing a crater") == [
        "Rovers",
        "crossed",
        "craters",
        "rover",
        "crater",
        "crossing",
    ]
    assert words(index, "the a") == []
    assert words(index, "istanbul") == []  # "İstanbul" lower-cases to another word, as in the index


def test_without_stemming_or_stopwords_only_the_same_words_match() -> None:
    index = BM25Index.build(LexicalSettings(stemmer="none", stopwords="none"), [TEXT])
    assert words(index, "the rover") == ["The", "rover"]


@given(st.text(alphabet=st.sampled_from("ab AB.İés-"), max_size=40), st.text(max_size=12))
def test_spans_are_ordered_words_inside_the_text(text: str, query: str) -> None:
    index = BM25Index.build(LexicalSettings(), ["ab"])
    (spans,) = index.highlights(query + " ab", [text])
    assert all(0 <= start < end <= len(text) for start, end in spans)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    stem = Stemmer.Stemmer("english").stemWord
    asked = {stem(word) for word in re.findall(r"(?u)\b\w\w+\b", query.lower() + " ab")}
    assert all(stem(text[start:end].lower()) in asked for start, end in spans)  # "abs" for "ab"


PIECES = [
    "ab",
    "İstanbul",
    "\u0131",
    "ǅ",
    "'",
    "-",
    ".",
    "É",
    "é",
    "42",
    "the",
    "and",
    "of",
    "running",
    "runs",
    " ",
]


@given(st.lists(st.sampled_from(PIECES), max_size=12).map("".join))
def test_query_tokens_are_the_ones_bm25s_makes(query: str) -> None:
    """The scorer's own query tokenizer (no progress bar set-up per query) gives bm25s's tokens, so
    scores and highlights are unchanged by it."""
    import bm25s

    for stopwords, stemmer in itertools.product(("en", []), (Stemmer.Stemmer("english"), None)):
        expected = bm25s.tokenize(
            [query], stopwords=stopwords, stemmer=stemmer, return_ids=False, show_progress=False
        )[0]
        known = frozenset(bm25s.tokenization._infer_stopwords(stopwords))
        assert query_tokens(query, known, stemmer.stemWords if stemmer else None) == expected


def test_highlights_stay_exact_when_the_stem_cache_fills(monkeypatch: pytest.MonkeyPatch) -> None:
    index = BM25Index.build(LexicalSettings(), [TEXT])
    expected = words(index, "the rover crossing a crater")
    monkeypatch.setattr("indexer.snapshot.lexical.bm25.STEM_CACHE_WORDS", 3)
    for _ in range(3):  # each call overflows the three-word cache, which starts over
        assert words(index, "the rover crossing a crater") == expected
    assert len(index._stems) <= 13  # the cache holds one passage's words at most, not every call's
