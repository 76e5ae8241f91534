"""Compressed approximate search: FAISS ``IndexIVFPQ`` (product-quantised codes in k-means cells),
optionally re-ranked by exact inner product (``IndexRefineFlat``) so recall stays high."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from indexer.snapshot.manifest import IndexInfo, IvfInfo, PqInfo
from indexer.snapshot.vectors.faiss_base import parameters, read_faiss
from indexer.snapshot.vectors.ivf import IvfSearch, train_and_add


def factory_string(ivf: IvfInfo, pq: PqInfo) -> str:
    return f"IVF{ivf.nlist},PQ{pq.m}x{pq.nbits}" + (",RFlat" if pq.refine > 0 else "")


class IvfPqIndex(IvfSearch):
    def __init__(self, index: Any, info: IndexInfo) -> None:
        super().__init__(index, parameters(info, info.ivf, "ivf").nprobe)
        self._refine = parameters(info, info.pq, "pq").refine
        if self._refine > 0:
            refine: Any = faiss.downcast_index(index)
            refine.k_factor = float(self._refine)

    @classmethod
    def build(cls, vectors: npt.NDArray[np.float32], info: IndexInfo) -> IvfPqIndex:
        ivf, pq = parameters(info, info.ivf, "ivf"), parameters(info, info.pq, "pq")
        index = faiss.index_factory(
            int(vectors.shape[1]), factory_string(ivf, pq), faiss.METRIC_INNER_PRODUCT
        )
        train_and_add(index, vectors, ivf)
        return cls(index, info)

    @classmethod
    def load(cls, path: Path, info: IndexInfo, *, mmap: bool = False) -> IvfPqIndex:
        return cls(read_faiss(path, mmap=mmap), info)

    def _parameters(self, breadth: int, selector: Any) -> Any:
        ivf_params = super()._parameters(breadth, selector)
        if self._refine <= 0:
            return ivf_params
        params = faiss.IndexRefineSearchParameters()
        params.k_factor = float(self._refine)
        params.base_index_params = ivf_params
        return params
