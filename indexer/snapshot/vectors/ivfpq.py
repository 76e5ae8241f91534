"""Compressed approximate search: FAISS ``IndexIVFPQ`` (product-quantised codes in k-means cells),
optionally re-ranked by exact inner product (``IndexRefineFlat``) so recall stays high."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from indexer.snapshot.manifest import IvfInfo, PqInfo
from indexer.snapshot.vectors.faiss_base import read_faiss
from indexer.snapshot.vectors.ivf import IvfSearch, train_and_add


def factory_string(ivf: IvfInfo, pq: PqInfo) -> str:
    return f"IVF{ivf.nlist},PQ{pq.m}x{pq.nbits}" + (",RFlat" if pq.refine > 0 else "")


class IvfPqIndex(IvfSearch):
    def __init__(self, index: Any, ivf: IvfInfo, pq: PqInfo) -> None:
        super().__init__(index, ivf.nprobe)
        self._refine = pq.refine
        if pq.refine > 0:
            refine: Any = faiss.downcast_index(index)
            refine.k_factor = float(pq.refine)

    @classmethod
    def build(cls, vectors: npt.NDArray[np.float32], ivf: IvfInfo, pq: PqInfo) -> IvfPqIndex:
        index = faiss.index_factory(
            int(vectors.shape[1]), factory_string(ivf, pq), faiss.METRIC_INNER_PRODUCT
        )
        train_and_add(index, vectors, ivf)
        return cls(index, ivf, pq)

    @classmethod
    def load(cls, path: Path, ivf: IvfInfo, pq: PqInfo, *, mmap: bool = False) -> IvfPqIndex:
        return cls(read_faiss(path, mmap=mmap), ivf, pq)

    def _search_params(self, ivf_params: Any) -> Any:
        if self._refine <= 0:
            return ivf_params
        params = faiss.IndexRefineSearchParameters()
        params.k_factor = float(self._refine)
        params.base_index_params = ivf_params
        return params
