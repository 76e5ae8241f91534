"""Approximate inner-product search over a graph: FAISS ``IndexHNSWFlat`` (full vectors kept)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from indexer.snapshot.manifest import HnswInfo
from indexer.snapshot.vectors.faiss_base import FaissIndex, add_in_blocks, id_selector, read_faiss

_faiss: Any = faiss  # (its type stubs lack SearchParametersHNSW)


class HnswIndex(FaissIndex):
    def __init__(self, index: Any, ef_search: int) -> None:
        super().__init__(index)
        self._ef = ef_search
        _faiss.downcast_index(index).hnsw.efSearch = ef_search

    @classmethod
    def build(cls, vectors: npt.NDArray[np.float32], params: HnswInfo) -> HnswIndex:
        index = faiss.IndexHNSWFlat(int(vectors.shape[1]), params.m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params.ef_construction
        add_in_blocks(index, vectors)
        return cls(index, params.ef_search)

    @classmethod
    def load(cls, path: Path, params: HnswInfo, *, mmap: bool = False) -> HnswIndex:
        return cls(read_faiss(path, mmap=mmap), params.ef_search)

    def search(
        self, queries: npt.NDArray[np.float32], k: int, allowed: npt.NDArray[np.uint8] | None = None
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """FAISS 1.15 returns at most about ``efSearch`` hits (the rest are -1), so a deeper list (the
        retriever deepens for ``max_per_doc``) is searched with ``efSearch`` raised to ``k``, and
        raised again while hits are missing (a filter that passes over most of the graph needs that
        too: ``k`` must then be at most the rows ``allowed``)."""
        k = max(1, min(k, self.ntotal))
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        ef = max(self._ef, k)
        scores, ids = self._search(queries, k, ef, allowed)
        while ef < self.ntotal and bool((ids < 0).any()):
            ef = min(ef * 2, self.ntotal)
            scores, ids = self._search(queries, k, ef, allowed)
        return scores, ids

    def _search(
        self, queries: npt.NDArray[np.float32], k: int, ef: int, allowed: npt.NDArray[np.uint8] | None
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        if ef == self._ef and allowed is None:
            scores, ids = self._index.search(queries, k)
            return scores, ids
        params = _faiss.SearchParametersHNSW()
        params.efSearch = ef
        selector = None if allowed is None else id_selector(allowed, self.ntotal)
        if selector is not None:
            params.sel = selector
        scores, ids = self._index.search(queries, k, params=params)
        return scores, ids
