"""Which vector index to build for a collection: the ``index.type: auto`` rule and each type's
parameters, as they are written in the manifest."""

from __future__ import annotations

import math

import msgspec

from indexer.config import IndexSettings, IndexType
from indexer.errors import ConfigError
from indexer.snapshot.manifest import HnswInfo, IndexInfo, IvfInfo, PqInfo

MIN_POINTS_PER_LIST = 39
"""FAISS's k-means warns with fewer training points per centroid."""


def choose_type(settings: IndexSettings, vectors: int, dimension: int) -> IndexType:
    """The index type for ``vectors`` vectors of ``dimension``: the configured one, or with ``auto``
    exact search up to ``flat_max_vectors``, then ``large`` (ivfpq when the full vectors would exceed
    ``memory_budget_mb``). ivf and ivfpq need enough vectors to train on: below ``ivf.min_vectors``
    they fall back to flat. An empty index is always flat."""
    kind: IndexType
    if settings.type != "auto":
        kind = settings.type
    elif vectors <= settings.flat_max_vectors:
        kind = "flat"
    elif settings.memory_budget_mb and vectors * dimension * 4 > settings.memory_budget_mb * 2**20:
        kind = "ivfpq"
    else:
        kind = settings.large
    if vectors == 0 or (kind in ("ivf", "ivfpq") and vectors < settings.ivf.min_vectors):
        return "flat"
    return kind


def plan_index(settings: IndexSettings, vectors: int, dimension: int) -> IndexInfo:
    """The manifest's description of the index to build: type and every parameter that shapes it."""
    kind = choose_type(settings, vectors, dimension)
    info = IndexInfo(type=kind, vectors=vectors, requested=settings.type)
    if kind == "hnsw":
        hnsw = settings.hnsw
        return msgspec.structs.replace(
            info, hnsw=HnswInfo(m=hnsw.m, ef_construction=hnsw.ef_construction, ef_search=hnsw.ef_search)
        )
    if kind in ("ivf", "ivfpq"):
        ivf = settings.ivf
        nlist = ivf.nlist or round(4 * math.sqrt(vectors))
        nlist = max(1, min(nlist, vectors // MIN_POINTS_PER_LIST))
        sample = nlist * ivf.train_per_list
        if kind == "ivfpq":  # the PQ codebooks (2**nbits centroids each) train on the same sample
            sample = max(sample, 2**ivf.pq_nbits * ivf.train_per_list)
        plan = IvfInfo(nlist=nlist, nprobe=min(ivf.nprobe, nlist), trained_on=min(vectors, sample))
        info = msgspec.structs.replace(info, ivf=plan)
        if kind == "ivfpq":
            if dimension % ivf.pq_m:
                raise ConfigError(f"index.ivf.pq_m ({ivf.pq_m}) must divide the dimension ({dimension})")
            pq = PqInfo(m=ivf.pq_m, nbits=ivf.pq_nbits, refine=ivf.pq_refine)
            info = msgspec.structs.replace(info, pq=pq)
    return info


def same_structure(a: IndexInfo, b: IndexInfo) -> bool:
    """Whether two plans build the same FAISS index from the same vectors (they may differ in
    search-time parameters only: ``ef_search``, ``nprobe``, ``refine``; those are applied at load)."""
    return _structure(a) == _structure(b)


def _structure(info: IndexInfo) -> IndexInfo:
    return msgspec.structs.replace(
        info,
        requested="",
        hnsw=info.hnsw and msgspec.structs.replace(info.hnsw, ef_search=0),
        ivf=info.ivf and msgspec.structs.replace(info.ivf, nprobe=0),
        pq=info.pq and msgspec.structs.replace(info.pq, refine=min(info.pq.refine, 1)),
    )
