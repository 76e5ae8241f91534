"""BM25 with the bm25s library: lower-casing, English stopwords and Snowball stemming (PyStemmer)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from indexer.config import LexicalSettings
from indexer.snapshot.lexical.terms import query_tokens, term_spans

STEM_CACHE_WORDS = 50_000
"""Distinct words whose stems a keyword index keeps for highlights and queries (a few MiB)."""


def _bm25s() -> Any:
    """The bm25s module. Importing it sets its logger to DEBUG (a line per index built and per empty
    query reaches any handler); put it back to WARNING."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


class BM25Index:
    def __init__(self, settings: LexicalSettings, model: Any, size: int) -> None:
        self._settings = settings
        self._model = model
        self._size = size
        self._stemmer = _stemmer(settings)
        self._stopwords = frozenset(_bm25s().tokenization._infer_stopwords(_stopwords(settings)))
        self._stem = self._stem_cached if self._stemmer is not None else None
        self._stems: dict[str, str] = {}

    @classmethod
    def build(cls, settings: LexicalSettings, texts: Sequence[str]) -> BM25Index:
        bm25s = _bm25s()
        model = bm25s.BM25(k1=settings.k1, b=settings.b, method="lucene")
        if texts:
            tokens = bm25s.tokenize(
                list(texts), stopwords=_stopwords(settings), stemmer=_stemmer(settings), show_progress=False
            )
            model.index(tokens, show_progress=False)
        return cls(settings, model, len(texts))

    @classmethod
    def load(cls, settings: LexicalSettings, directory: Path) -> BM25Index:
        bm25s = _bm25s()
        size = int((directory / "size").read_text())
        model = bm25s.BM25.load(str(directory), mmap=True) if size else bm25s.BM25()
        if size:
            # Plain ndarray views of the same mapped pages: every slice of an np.memmap runs its
            # __array_finalize__, which took ~30% of a query's scoring (0.14 -> 0.10 ms on SciFact).
            model.scores = {
                key: value.view(np.ndarray) if isinstance(value, np.memmap) else value
                for key, value in model.scores.items()
            }
        return cls(settings, model, size)

    @property
    def size(self) -> int:
        return self._size

    def scores(self, query: str) -> npt.NDArray[np.float32]:
        return self.scores_and_mass(query)[0]

    def scores_and_mass(self, query: str) -> tuple[npt.NDArray[np.float32], float]:
        """Every row's BM25 score, and the query's IDF mass: the sum of its terms' IDF (a term the
        collection does not hold counts with the IDF of a term in no chunk). A chunk holding every
        query term once, at the average length, scores about the mass, so ``score / mass`` is a
        scale-free share of the query matched (see :mod:`indexer.search.calibration`)."""
        if not self._size:
            return np.zeros(0, dtype=np.float32), 0.0
        tokens = self._tokens(query)
        known = self._model.get_tokens_ids(tokens)
        mass = self._idf_mass(known, len(tokens) - len(known))
        if not known:
            return np.zeros(self._size, dtype=np.float32), mass
        return np.asarray(self._model.get_scores(known), dtype=np.float32), mass

    def query_terms(self, query: str) -> list[str]:
        return self._tokens(query)

    def frequencies(self, terms: Sequence[str]) -> npt.NDArray[np.int64]:
        out = np.zeros(len(terms), dtype=np.int64)
        if not self._size:
            return out
        vocab, indptr = self._model.vocab_dict, self._model.scores["indptr"]
        for i, term in enumerate(terms):
            token = vocab.get(term)
            if token is not None:
                out[i] = int(indptr[token + 1] - indptr[token])
        return out

    def weighted_scores(self, terms: Sequence[str], idf: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
        """The stored scores are ``idf * tf part`` per (term, chunk) (bm25s precomputes them): each
        term's column is rescaled by ``idf[i] / own idf``."""
        out = np.zeros(self._size, dtype=np.float64)
        if not self._size:
            return out.astype(np.float32)
        vocab, scores = self._model.vocab_dict, self._model.scores
        indptr, data, indices = scores["indptr"], scores["data"], scores["indices"]
        own = lucene_idf(float(self._size), self.frequencies(terms).astype(np.float64))
        for i, term in enumerate(terms):
            token = vocab.get(term)
            if token is None:
                continue
            start, end = int(indptr[token]), int(indptr[token + 1])
            np.add.at(out, indices[start:end], data[start:end] * (idf[i] / own[i]))
        return out.astype(np.float32)

    def highlights(self, query: str, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        """Where the query's terms occur in each of ``texts``: ``(start, end)`` of each word whose
        stem is one the query is scored by."""
        terms = set(self._tokens(query))
        return [term_spans(text, terms, self._stopwords, self._stem) for text in texts]

    def _stem_cached(self, words: Sequence[str]) -> list[str]:
        """The stems of ``words``, each word stemmed once (the passages of a collection share most
        of their words); at most :data:`STEM_CACHE_WORDS` kept. Thread-safe: a full cache is
        replaced, never emptied, and entries are never removed."""
        cache = self._stems
        missing = [word for word in dict.fromkeys(words) if word not in cache]
        if missing:
            if len(cache) + len(missing) > STEM_CACHE_WORDS:
                cache = self._stems = {}
            cache.update(zip(missing, self._stemmer.stemWords(missing), strict=True))
        return [cache[word] for word in words]

    def _tokens(self, query: str) -> list[str]:
        return query_tokens(query, self._stopwords, self._stem)

    def _idf_mass(self, known: list[int], unknown: int) -> float:
        """Lucene's IDF, ``log(1 + (N - df + 0.5) / (df + 0.5))``, summed over the query's terms."""
        indptr = self._model.scores["indptr"]
        ids = np.asarray(known, dtype=np.int64)
        df = (indptr[ids + 1] - indptr[ids]).astype(np.float64)
        n = float(self._size)
        return float(lucene_idf(n, df).sum() + unknown * lucene_idf(n, np.zeros(1))[0])

    def close(self) -> None:
        # Dropping the model drops the last references to its memory-mapped arrays, which closes
        # their files (a pruned snapshot's disk space is then freed at once).
        self._model = None
        self._size = 0

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        if self._size:
            self._model.save(str(directory))
        (directory / "size").write_text(str(self._size))


def lucene_idf(chunks: float, df: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Lucene's IDF of terms held by ``df`` of ``chunks`` chunks: ``log(1 + (N - df + 0.5) / (df + 0.5))``
    (what bm25s's ``lucene`` method bakes into its scores)."""
    result: npt.NDArray[np.float64] = np.log1p((chunks - df + 0.5) / (df + 0.5))
    return result


def _stopwords(settings: LexicalSettings) -> str | list[str]:
    return settings.stopwords if settings.stopwords != "none" else []


def _stemmer(settings: LexicalSettings) -> Any:
    if settings.stemmer == "none":
        return None
    import Stemmer

    return Stemmer.Stemmer(settings.stemmer)
