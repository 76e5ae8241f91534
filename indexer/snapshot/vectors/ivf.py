"""Approximate inner-product search in k-means cells: FAISS ``IndexIVFFlat`` (full vectors kept)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from indexer.snapshot.manifest import IvfInfo
from indexer.snapshot.vectors.faiss_base import FaissIndex, add_in_blocks, read_faiss, training_sample


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
        self, queries: npt.NDArray[np.float32], k: int
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        scores, ids = super().search(queries, k)
        nprobe, nlist = int(self._ivf.nprobe), int(self._ivf.nlist)
        wanted = ids.shape[1]
        while nprobe < nlist and bool(((ids >= 0).sum(axis=1) < wanted).any()):
            nprobe = min(nprobe * 4, nlist)
            params = faiss.SearchParametersIVF()
            params.nprobe = nprobe
            scores, ids = self._index.search(
                np.ascontiguousarray(queries, dtype=np.float32), wanted, params=self._search_params(params)
            )
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
