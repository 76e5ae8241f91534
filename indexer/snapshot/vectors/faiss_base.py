"""What every FAISS-backed vector index shares: reading (optionally memory-mapped), search with a row
filter, widening an approximate search until it has its hits, saving."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import faiss
import numpy as np
import numpy.typing as npt

from indexer.errors import ConfigError
from indexer.snapshot.manifest import IndexInfo

ADD_BLOCK = 65_536
"""Vectors handed to FAISS per ``add`` call, so a memory-mapped array is never copied whole."""

T = TypeVar("T")
Results = tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]


def read_faiss(path: Path, *, mmap: bool) -> Any:
    """Read a FAISS index file; with ``mmap`` its vectors, codes and inverted lists stay in the file
    (``IO_FLAG_MMAP_IFC``, read-only) and the OS pages them in as searches touch them. Measured with
    faiss-cpu 1.15.1: flat, IVF and IVF-PQ (and its refinement vectors) load in ~1 MB; HNSW maps its
    vectors but reads its graph (``2 * M * 4`` bytes a vector) into memory."""
    flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY if mmap else 0
    return faiss.read_index(str(path), flags)


def add_in_blocks(index: Any, vectors: npt.NDArray[np.float32]) -> None:
    for start in range(0, len(vectors), ADD_BLOCK):
        index.add(np.ascontiguousarray(vectors[start : start + ADD_BLOCK], dtype=np.float32))


def training_sample(vectors: npt.NDArray[np.float32], size: int, seed: int = 1234) -> npt.NDArray[np.float32]:
    """``size`` distinct rows (all of them if there are fewer), drawn with a fixed seed so that the
    same vectors always train the same index."""
    if size >= len(vectors):
        return np.ascontiguousarray(vectors, dtype=np.float32)
    rows = np.sort(np.random.default_rng(seed).choice(len(vectors), size=size, replace=False))
    return np.ascontiguousarray(vectors[rows], dtype=np.float32)


def id_selector(allowed: npt.NDArray[np.uint8], rows: int) -> Any:
    """A FAISS ID selector for the rows set in the bitmap ``allowed`` (keep ``allowed`` alive while it
    is used)."""
    return faiss.IDSelectorBitmap(rows, faiss.swig_ptr(allowed))


def select(params: Any, selector: Any) -> Any:
    """``params`` restricted to the rows of ``selector`` (None: every row)."""
    if selector is not None:
        params.sel = selector
    return params


def parameters(info: IndexInfo, part: T | None, name: str) -> T:
    """``part`` of the manifest's index description (its ``name`` parameters), which the type needs."""
    if part is None:
        raise ConfigError(f"index type {info.type!r} without its {name} parameters")
    return part


class FaissIndex:
    """A FAISS index whose ids are row numbers (the base of each backend)."""

    breadth = 0
    """How much of the index a search visits (HNSW's ``efSearch``, IVF's ``nprobe``) when nothing
    asks for more; 0: all of it (exact search)."""

    def __init__(self, index: Any) -> None:
        self._index = index

    @property
    def ntotal(self) -> int:
        return int(self._index.ntotal)

    @property
    def dimension(self) -> int:
        return int(self._index.d)

    def search(
        self, queries: npt.NDArray[np.float32], k: int, allowed: npt.NDArray[np.uint8] | None = None
    ) -> Results:
        k = max(1, min(k, self.ntotal))
        return self._search(np.ascontiguousarray(queries, dtype=np.float32), k, self.breadth, allowed)

    def _search(
        self, queries: npt.NDArray[np.float32], k: int, breadth: int, allowed: npt.NDArray[np.uint8] | None
    ) -> Results:
        """One FAISS search visiting ``breadth`` (the index's own: no parameters), over the rows
        ``allowed`` (None: all)."""
        if allowed is None and breadth == self.breadth:
            scores, ids = self._index.search(queries, k)
            return scores, ids
        selector = None if allowed is None else id_selector(allowed, self.ntotal)
        scores, ids = self._index.search(queries, k, params=self._parameters(breadth, selector))
        return scores, ids

    def _parameters(self, breadth: int, selector: Any) -> Any:
        """FAISS search parameters for ``breadth`` and ``selector`` (None: every row)."""
        return select(faiss.SearchParameters(), selector)

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))


class WideningIndex(FaissIndex):
    """An approximate index that visits only part of the vectors: when a query asks for more hits than
    that part holds (a deep candidate list, or a filter that passes over most of it), the search is
    repeated visiting ``growth`` times more, up to all of it, so ids are -1 only past what ``allowed``
    lets through."""

    growth = 2

    def _widest(self) -> int:
        """The breadth that visits the whole index."""
        raise NotImplementedError

    def _first(self, k: int) -> int:
        """The breadth the first search of ``k`` hits visits."""
        return self.breadth

    def search(
        self, queries: npt.NDArray[np.float32], k: int, allowed: npt.NDArray[np.uint8] | None = None
    ) -> Results:
        k = max(1, min(k, self.ntotal))
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        breadth, widest = self._first(k), self._widest()
        scores, ids = self._search(queries, k, breadth, allowed)
        while breadth < widest and bool((ids < 0).any()):
            breadth = min(breadth * self.growth, widest)
            scores, ids = self._search(queries, k, breadth, allowed)
        return scores, ids
