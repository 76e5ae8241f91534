"""Vector index backends behind one protocol, one module each, chosen by the manifest's index type
from one registry (:data:`BACKENDS`) and imported only when used."""

from __future__ import annotations

import importlib
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


class VectorBackend(Protocol):
    """A backend class: builds a new index, or opens a saved one, as the manifest's ``info`` says
    (:class:`ConfigError` when ``info`` lacks the parameters the type needs)."""

    def build(self, vectors: npt.NDArray[np.float32], info: IndexInfo) -> VectorIndex: ...

    def load(self, path: Path, info: IndexInfo, *, mmap: bool = False) -> VectorIndex: ...


BACKENDS: dict[str, str] = {
    "flat": "indexer.snapshot.vectors.flat:FlatIndex",
    "hnsw": "indexer.snapshot.vectors.hnsw:HnswIndex",
    "ivf": "indexer.snapshot.vectors.ivf:IvfIndex",
    "ivfpq": "indexer.snapshot.vectors.ivfpq:IvfPqIndex",
}
"""Each index type's backend class (``module:class``), imported when first used: one entry per
:data:`indexer.config.INDEX_TYPES`."""


def backend(kind: str) -> VectorBackend:
    """The backend class of index type ``kind``."""
    target = BACKENDS.get(kind)
    if target is None:
        raise ConfigError(f"unknown index type {kind!r}; available: {', '.join(BACKENDS)}")
    module, name = target.split(":")
    found: VectorBackend = getattr(importlib.import_module(module), name)
    return found


def configure_search(threads: int, blas_threshold: int) -> None:
    """Process-wide FAISS settings for searching: OpenMP ``threads`` (0: leave FAISS's default) and the
    number of queries from which exact search uses BLAS (``distance_compute_blas_threshold``)."""
    import faiss

    if threads > 0:
        faiss.omp_set_num_threads(threads)
    faiss.cvar.distance_compute_blas_threshold = blas_threshold


def build_index(info: IndexInfo, vectors: npt.NDArray[np.float32]) -> VectorIndex:
    """Factory: a new index as the manifest's ``info`` describes it (see ``indexer.snapshot.vectors.choice``),
    holding ``vectors`` (row i gets id i)."""
    return backend(info.type).build(vectors, info)


def load_index(info: IndexInfo, path: Path, *, mmap: bool = False) -> VectorIndex:
    """Open the index a manifest's ``info`` describes, with its search-time parameters applied;
    ``mmap``: leave the vectors in the file (see ``indexer.snapshot.vectors.faiss_base.read_faiss``)."""
    return backend(info.type).load(path, info, mmap=mmap)
