"""Vector index backends behind one protocol, chosen by ``index.type`` in the config."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from indexer.errors import ConfigError

INDEX_NAME = "index.faiss"


class VectorIndex(Protocol):
    """Inner-product search over normalised vectors whose ids are their row numbers."""

    @property
    def ntotal(self) -> int: ...

    @property
    def dimension(self) -> int: ...

    def search(
        self, queries: npt.NDArray[np.float32], k: int
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """Scores and row ids, best first, shape ``(len(queries), k)``; missing hits have id -1."""
        ...

    def save(self, path: Path) -> None: ...


def configure_search(threads: int, blas_threshold: int) -> None:
    """Process-wide FAISS settings for searching: OpenMP ``threads`` (0: leave FAISS's default) and the
    number of queries from which exact search uses BLAS (``distance_compute_blas_threshold``)."""
    import faiss

    if threads > 0:
        faiss.omp_set_num_threads(threads)
    faiss.cvar.distance_compute_blas_threshold = blas_threshold


def build_index(kind: str, vectors: npt.NDArray[np.float32]) -> VectorIndex:
    """Factory: a new index of type ``kind`` holding ``vectors`` (row i gets id i)."""
    if kind == "flat":
        from indexer.vectors.flat import FlatIndex

        return FlatIndex.build(vectors)
    raise ConfigError(f"unknown index type {kind!r}; available: flat")


def load_index(kind: str, path: Path) -> VectorIndex:
    if kind == "flat":
        from indexer.vectors.flat import FlatIndex

        return FlatIndex.load(path)
    raise ConfigError(f"unknown index type {kind!r}; available: flat")
