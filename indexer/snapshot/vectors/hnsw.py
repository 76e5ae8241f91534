"""Approximate inner-product search over a graph: FAISS ``IndexHNSWFlat`` (full vectors kept)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from indexer.snapshot.manifest import IndexInfo
from indexer.snapshot.vectors.faiss_base import WideningIndex, add_in_blocks, parameters, read_faiss, select

_faiss: Any = faiss  # (its type stubs lack SearchParametersHNSW)


class HnswIndex(WideningIndex):
    """Its breadth is ``efSearch``. FAISS 1.15 returns at most about ``efSearch`` hits (the rest are
    -1), so a deeper list (the retriever deepens for ``max_per_doc``) starts with ``efSearch`` raised
    to ``k``, and widens from there while hits are missing."""

    def __init__(self, index: Any, ef_search: int) -> None:
        super().__init__(index)
        self.breadth = ef_search
        _faiss.downcast_index(index).hnsw.efSearch = ef_search

    @classmethod
    def build(cls, vectors: npt.NDArray[np.float32], info: IndexInfo) -> HnswIndex:
        params = parameters(info, info.hnsw, "hnsw")
        index = faiss.IndexHNSWFlat(int(vectors.shape[1]), params.m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params.ef_construction
        add_in_blocks(index, vectors)
        return cls(index, params.ef_search)

    @classmethod
    def load(cls, path: Path, info: IndexInfo, *, mmap: bool = False) -> HnswIndex:
        return cls(read_faiss(path, mmap=mmap), parameters(info, info.hnsw, "hnsw").ef_search)

    def _first(self, k: int) -> int:
        return max(super()._first(k), k)

    def _widest(self) -> int:
        return self.ntotal

    def _parameters(self, breadth: int, selector: Any) -> Any:
        params = _faiss.SearchParametersHNSW()
        params.efSearch = breadth
        return select(params, selector)
