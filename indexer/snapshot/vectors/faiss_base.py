"""What every FAISS-backed vector index shares: reading (optionally memory-mapped), search, saving."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

ADD_BLOCK = 65_536
"""Vectors handed to FAISS per ``add`` call, so a memory-mapped array is never copied whole."""


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


class FaissIndex:
    """A FAISS index whose ids are row numbers (the base of each backend)."""

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
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        k = max(1, min(k, self.ntotal))
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if allowed is None:
            scores, ids = self._index.search(queries, k)
            return scores, ids
        params = faiss.SearchParameters()
        selector = id_selector(allowed, self.ntotal)
        params.sel = selector
        scores, ids = self._index.search(queries, k, params=params)
        return scores, ids

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))
