"""Vector index backends behind one protocol, chosen by ``index.type`` in the config."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from indexer.errors import ConfigError
from indexer.snapshot.manifest import IndexInfo


class VectorIndex(Protocol):
    """Inner-product search over normalised vectors whose ids are their row numbers."""

    @property
    def ntotal(self) -> int: ...

    @property
    def dimension(self) -> int: ...

    def search(
        self, queries: npt.NDArray[np.float32], k: int, allowed: npt.NDArray[np.uint8] | None = None
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """Scores and row ids, best first, shape ``(len(queries), k)``; missing hits have id -1.
        ``allowed``: only rows whose bit is set in this bitmap (``np.packbits(mask, bitorder="little")``)."""
        ...

    def save(self, path: Path) -> None: ...


def configure_search(threads: int, blas_threshold: int) -> None:
    """Process-wide FAISS settings for searching: OpenMP ``threads`` (0: leave FAISS's default) and the
    number of queries from which exact search uses BLAS (``distance_compute_blas_threshold``)."""
    import faiss

    if threads > 0:
        faiss.omp_set_num_threads(threads)
    faiss.cvar.distance_compute_blas_threshold = blas_threshold


TYPES = ("flat", "hnsw", "ivf", "ivfpq")


def build_index(info: IndexInfo, vectors: npt.NDArray[np.float32]) -> VectorIndex:
    """Factory: a new index as the manifest's ``info`` describes it (see ``indexer.snapshot.vectors.choice``),
    holding ``vectors`` (row i gets id i)."""
    if info.type == "flat":
        from indexer.snapshot.vectors.flat import FlatIndex

        return FlatIndex.build(vectors)
    if info.type == "hnsw" and info.hnsw is not None:
        from indexer.snapshot.vectors.hnsw import HnswIndex

        return HnswIndex.build(vectors, info.hnsw)
    if info.type == "ivf" and info.ivf is not None:
        from indexer.snapshot.vectors.ivf import IvfIndex

        return IvfIndex.build(vectors, info.ivf)
    if info.type == "ivfpq" and info.ivf is not None and info.pq is not None:
        from indexer.snapshot.vectors.ivfpq import IvfPqIndex

        return IvfPqIndex.build(vectors, info.ivf, info.pq)
    raise ConfigError(f"unknown or incomplete index type {info.type!r}; available: {', '.join(TYPES)}")


def load_index(info: IndexInfo, path: Path, *, mmap: bool = False) -> VectorIndex:
    """Open the index a manifest's ``info`` describes, with its search-time parameters applied;
    ``mmap``: leave the vectors in the file (see ``indexer.snapshot.vectors.faiss_base.read_faiss``)."""
    if info.type == "flat":
        from indexer.snapshot.vectors.flat import FlatIndex

        return FlatIndex.load(path, mmap=mmap)
    if info.type == "hnsw" and info.hnsw is not None:
        from indexer.snapshot.vectors.hnsw import HnswIndex

        return HnswIndex.load(path, info.hnsw, mmap=mmap)
    if info.type == "ivf" and info.ivf is not None:
        from indexer.snapshot.vectors.ivf import IvfIndex

        return IvfIndex.load(path, info.ivf, mmap=mmap)
    if info.type == "ivfpq" and info.ivf is not None and info.pq is not None:
        from indexer.snapshot.vectors.ivfpq import IvfPqIndex

        return IvfPqIndex.load(path, info.ivf, info.pq, mmap=mmap)
    raise ConfigError(f"unknown or incomplete index type {info.type!r}; available: {', '.join(TYPES)}")
