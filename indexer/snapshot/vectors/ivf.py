"""Approximate inner-product search in k-means cells: FAISS ``IndexIVFFlat`` (full vectors kept)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from indexer.snapshot.manifest import IndexInfo, IvfInfo
from indexer.snapshot.vectors.faiss_base import (
    WideningIndex,
    add_in_blocks,
    parameters,
    read_faiss,
    select,
    training_sample,
)


def train_and_add(index: Any, vectors: npt.NDArray[np.float32], params: IvfInfo) -> None:
    """Train the centroids (and any codebook) on a fixed sample of ``params.trained_on`` rows, then
    add every row (row i gets id i)."""
    index.train(training_sample(vectors, params.trained_on))
    add_in_blocks(index, vectors)


class IvfSearch(WideningIndex):
    """IVF search: its breadth is ``nprobe``, the lists a query visits (widened four times at a step,
    up to every list)."""

    growth = 4

    def __init__(self, index: Any, nprobe: int) -> None:
        super().__init__(index)
        self._ivf: Any = faiss.extract_index_ivf(index)
        self._ivf.nprobe = self.breadth = min(nprobe, self._ivf.nlist)

    def _widest(self) -> int:
        return int(self._ivf.nlist)

    def _parameters(self, breadth: int, selector: Any) -> Any:
        params = faiss.SearchParametersIVF()
        params.nprobe = breadth
        return select(params, selector)


class IvfIndex(IvfSearch):
    @classmethod
    def build(cls, vectors: npt.NDArray[np.float32], info: IndexInfo) -> IvfIndex:
        params = parameters(info, info.ivf, "ivf")
        spec = f"IVF{params.nlist},Flat"
        index = faiss.index_factory(int(vectors.shape[1]), spec, faiss.METRIC_INNER_PRODUCT)
        train_and_add(index, vectors, params)
        return cls(index, params.nprobe)

    @classmethod
    def load(cls, path: Path, info: IndexInfo, *, mmap: bool = False) -> IvfIndex:
        return cls(read_faiss(path, mmap=mmap), parameters(info, info.ivf, "ivf").nprobe)
