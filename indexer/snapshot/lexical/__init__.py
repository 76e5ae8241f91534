"""Lexical (keyword) scorers behind one protocol, chosen by ``lexical.type`` in the config."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from indexer.config import LexicalSettings
from indexer.errors import ConfigError


class LexicalIndex(Protocol):
    """Keyword scoring of every chunk (row i is chunk row i) for a query."""

    @property
    def size(self) -> int: ...

    def scores(self, query: str) -> npt.NDArray[np.float32]:
        """One score per chunk row (0 where no query term occurs)."""
        ...

    def scores_and_mass(self, query: str) -> tuple[npt.NDArray[np.float32], float]:
        """:meth:`scores`, and the most a chunk matching the whole query scores about (the query's
        IDF mass), which makes scores comparable across queries and collections."""
        ...

    def query_terms(self, query: str) -> list[str]:
        """The query's terms as this index tokenizes them (one entry per occurrence)."""
        ...

    def frequencies(self, terms: Sequence[str]) -> npt.NDArray[np.int64]:
        """How many chunks hold each of ``terms`` (0 for a term the index does not hold)."""
        ...

    def weighted_scores(self, terms: Sequence[str], idf: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
        """Every row's score for ``terms`` with ``idf[i]`` as term i's IDF in place of this index's
        own: a small segment scored with the whole collection's term statistics."""
        ...

    def highlights(self, query: str, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        """For each of ``texts``, ``(start, end)`` of the words matching the query's terms as this
        index tokenizes them (what a client bolds)."""
        ...

    def save(self, directory: Path) -> None: ...

    def close(self) -> None:
        """Release the index's files (memory maps); it answers no more queries."""
        ...


def build_lexical(settings: LexicalSettings, texts: Sequence[str]) -> LexicalIndex:
    """Factory: a new lexical index over ``texts``."""
    if settings.type == "bm25":
        from indexer.snapshot.lexical.bm25 import BM25Index

        return BM25Index.build(settings, texts)
    raise ConfigError(f"unknown lexical index type {settings.type!r}; available: bm25")


def load_lexical(settings: LexicalSettings, directory: Path) -> LexicalIndex:
    if settings.type == "bm25":
        from indexer.snapshot.lexical.bm25 import BM25Index

        return BM25Index.load(settings, directory)
    raise ConfigError(f"unknown lexical index type {settings.type!r}; available: bm25")
