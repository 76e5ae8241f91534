"""Exact inner-product search with FAISS ``IndexFlatIP``."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import numpy.typing as npt

from indexer.snapshot.manifest import IndexInfo
from indexer.snapshot.vectors.faiss_base import FaissIndex, add_in_blocks, read_faiss


class FlatIndex(FaissIndex):
    @classmethod
    def build(cls, vectors: npt.NDArray[np.float32], info: IndexInfo) -> FlatIndex:
        index = faiss.IndexFlatIP(int(vectors.shape[1]))
        add_in_blocks(index, vectors)
        return cls(index)

    @classmethod
    def load(cls, path: Path, info: IndexInfo, *, mmap: bool = False) -> FlatIndex:
        return cls(read_faiss(path, mmap=mmap))
