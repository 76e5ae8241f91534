"""Approximate inner-product search in k-means cells: FAISS ``IndexIVFFlat`` (full vectors kept)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from indexer.snapshot.manifest import IvfInfo
from indexer.snapshot.vectors.faiss_base import (
    FaissIndex,
    add_in_blocks,
    id_selector,
    read_faiss,
    training_sample,
)


def train_and_add(index: Any, vectors: npt.NDArray[np.float32], params: IvfInfo) -> None:
    """Train the centroids (and any codebook) on a fixed sample of ``params.trained_on`` rows, then
    add every row (row i gets id i)."""
    index.train(training_sample(vectors, params.trained_on))
    add_in_blocks(index, vectors)


class IvfSearch(FaissIndex):
    """IVF search visits ``nprobe`` lists; when a query asks for more hits than those lists hold (a
    deep candidate list), it visits more lists until it has them, so ids are -1 only past ``ntotal``."""

    def __init__(self, index: Any, nprobe: int) -> None:
        super().__init__(index)
        self._ivf: Any = faiss.extract_index_ivf(index)
        self._ivf.nprobe = min(nprobe, self._ivf.nlist)

    def search(
        self, queries: npt.NDArray[np.float32], k: int, allowed: npt.NDArray[np.uint8] | None = None
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        k = max(1, min(k, self.ntotal))
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        nprobe, nlist = int(self._ivf.nprobe), int(self._ivf.nlist)
        scores, ids = self._probe(queries, k, nprobe, allowed)
        while nprobe < nlist and bool(((ids >= 0).sum(axis=1) < k).any()):
            nprobe = min(nprobe * 4, nlist)
            scores, ids = self._probe(queries, k, nprobe, allowed)
        return scores, ids

    def _probe(
        self, queries: npt.NDArray[np.float32], k: int, nprobe: int, allowed: npt.NDArray[np.uint8] | None
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        if allowed is None and nprobe == int(self._ivf.nprobe):
            scores, ids = self._index.search(queries, k)
            return scores, ids
        params = faiss.SearchParametersIVF()
        params.nprobe = nprobe
        selector = None if allowed is None else id_selector(allowed, self.ntotal)
        if selector is not None:
            params.sel = selector
        scores, ids = self._index.search(queries, k, params=self._search_params(params))
        return scores, ids

    def _search_params(self, ivf_params: Any) -> Any:
        return ivf_params


class IvfIndex(IvfSearch):
    @classmethod
    def build(cls, vectors: npt.NDArray[np.float32], params: IvfInfo) -> IvfIndex:
        spec = f"IVF{params.nlist},Flat"
        index = faiss.index_factory(int(vectors.shape[1]), spec, faiss.METRIC_INNER_PRODUCT)
        train_and_add(index, vectors, params)
        return cls(index, params.nprobe)

    @classmethod
    def load(cls, path: Path, params: IvfInfo, *, mmap: bool = False) -> IvfIndex:
        return cls(read_faiss(path, mmap=mmap), params.nprobe)
