"""Vector index backends (flat, hnsw, ivf, ivfpq) on small random data, and the ``auto`` rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from indexer.config import INDEX_TYPES, HnswSettings, IndexSettings, IvfSettings
from indexer.errors import ConfigError
from indexer.snapshot.manifest import IndexInfo
from indexer.snapshot.vectors import BACKENDS, backend, build_index, load_index
from indexer.snapshot.vectors.choice import choose_type, plan_index, same_structure
from indexer.snapshot.vectors.flat import FlatIndex
from indexer.snapshot.vectors.hnsw import HnswIndex
from indexer.snapshot.vectors.ivf import IvfIndex
from indexer.snapshot.vectors.ivfpq import IvfPqIndex

N, DIM = 4000, 32
CLASSES = {"flat": FlatIndex, "hnsw": HnswIndex, "ivf": IvfIndex, "ivfpq": IvfPqIndex}
SMALL = IndexSettings(ivf=IvfSettings(min_vectors=1000, nlist=32, nprobe=8, pq_m=8, pq_nbits=4, pq_refine=16))


def unit(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def data() -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Clustered unit vectors (like text embeddings, unlike uniform noise) and queries near them."""
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((40, DIM))
    vectors = unit(centres[rng.integers(0, 40, N)] + 0.6 * rng.standard_normal((N, DIM)))
    queries = unit(vectors[:50] + 0.3 * rng.standard_normal((50, DIM)))
    return vectors, queries


def plan(kind: str) -> IndexInfo:
    settings = IndexSettings(type=kind, ivf=SMALL.ivf)  # type: ignore[arg-type]
    return plan_index(settings, N, DIM)


@pytest.mark.parametrize("kind", list(CLASSES))
@pytest.mark.parametrize("mmap", [False, True])
def test_each_backend_builds_saves_loads_and_finds_the_true_neighbours(
    kind: str, mmap: bool, data: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]], tmp_path: Path
) -> None:
    vectors, queries = data
    info = plan(kind)
    assert info.type == kind
    build_index(info, vectors).save(tmp_path / "index.faiss")
    index = load_index(info, tmp_path / "index.faiss", mmap=mmap)
    assert isinstance(index, CLASSES[kind])
    assert (index.ntotal, index.dimension) == (N, DIM)

    scores, ids = index.search(queries, 10)
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    recall = np.mean([len(set(ids[i]) & set(exact[i])) / 10 for i in range(len(queries))])
    assert recall >= 0.9, recall
    assert ids.shape == (len(queries), 10) and ((ids >= 0) & (ids < N)).all()
    # Scores are inner products of the row the id names (ivfpq re-ranks with the exact vectors).
    rows = vectors[ids[0]]
    np.testing.assert_allclose(scores[0], rows @ queries[0], atol=1e-4)
    assert (np.diff(scores, axis=1) <= 1e-6).all()


@pytest.mark.parametrize("kind", list(CLASSES))
def test_deep_candidate_lists_are_complete(
    kind: str, data: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]
) -> None:
    """The retriever deepens its dense list (max_per_doc) up to every row: approximate indexes must
    not answer with -1 ids where rows exist (HNSW's efSearch and IVF's nprobe cap what they find)."""
    vectors, queries = data
    index = build_index(plan(kind), vectors)
    for k in (100, 1000, N):
        _, ids = index.search(queries[:3], k)
        assert ids.shape == (3, k)
        for row in ids:
            assert (row >= 0).all() and len(set(row.tolist())) == k


@pytest.mark.parametrize("kind", list(CLASSES))
def test_a_filter_that_passes_few_rows_finds_every_one_of_them(
    kind: str, data: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]
) -> None:
    """Approximate indexes visit part of the vectors; with most rows filtered out they widen the
    search until the rows allowed are found (never -1 where an allowed row exists)."""
    vectors, queries = data
    index = build_index(plan(kind), vectors)
    wanted = np.arange(7, N, 577)  # 7 rows spread over the clusters
    mask = np.zeros(N, dtype=bool)
    mask[wanted] = True
    allowed = np.packbits(mask, bitorder="little")
    _, ids = index.search(queries[:3], len(wanted), allowed)
    for row in ids:
        assert sorted(row.tolist()) == wanted.tolist()
    _, ids = index.search(queries[:1], len(wanted) + 3, allowed)  # more asked than allowed: -1 after
    assert sorted(ids[0][: len(wanted)].tolist()) == wanted.tolist() and (ids[0][len(wanted) :] == -1).all()


def test_every_index_type_has_one_backend_and_an_unknown_one_is_refused() -> None:
    assert tuple(BACKENDS) == INDEX_TYPES
    assert {kind: backend(kind) for kind in INDEX_TYPES} == CLASSES
    with pytest.raises(ConfigError, match="unknown index type 'annoy'; available: flat, hnsw, ivf, ivfpq"):
        backend("annoy")


@pytest.mark.parametrize("kind", ["hnsw", "ivf", "ivfpq"])
def test_a_description_without_the_types_parameters_is_refused(
    kind: str, data: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]], tmp_path: Path
) -> None:
    bare = IndexInfo(type=kind, vectors=N, requested=kind)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=f"index type '{kind}' without its"):
        build_index(bare, data[0])
    build_index(plan(kind), data[0]).save(tmp_path / "index.faiss")
    with pytest.raises(ConfigError, match=f"index type '{kind}' without its"):
        load_index(bare, tmp_path / "index.faiss")


def test_auto_picks_flat_for_small_collections_and_the_large_type_above() -> None:
    auto = IndexSettings(flat_max_vectors=1000, large="hnsw")
    assert choose_type(auto, 0, 384) == "flat"
    assert choose_type(auto, 1000, 384) == "flat"
    assert choose_type(auto, 1001, 384) == "hnsw"
    ivf = IndexSettings(flat_max_vectors=1000, large="ivf", ivf=IvfSettings(min_vectors=5000))
    assert choose_type(ivf, 4999, 384) == "flat"  # too few to train on
    assert choose_type(ivf, 5000, 384) == "ivf"
    budget = IndexSettings(flat_max_vectors=1000, memory_budget_mb=100)
    assert choose_type(budget, 60_000, 384) == "hnsw"  # 88 MB of vectors
    assert choose_type(budget, 80_000, 384) == "ivfpq"  # 117 MB
    assert choose_type(IndexSettings(type="hnsw"), 10, 384) == "hnsw"
    assert choose_type(IndexSettings(type="ivfpq"), 10, 384) == "flat"
    assert IndexSettings().type == "auto"


def test_the_plan_records_the_parameters_used() -> None:
    hnsw = plan_index(IndexSettings(type="hnsw", hnsw=HnswSettings(m=16, ef_search=40)), 500, 384)
    assert hnsw.type == "hnsw" and hnsw.requested == "hnsw" and hnsw.vectors == 500
    assert hnsw.hnsw is not None and (hnsw.hnsw.m, hnsw.hnsw.ef_search) == (16, 40)
    assert hnsw.ivf is None and hnsw.pq is None

    ivfpq = plan_index(IndexSettings(type="ivfpq"), 1_000_000, 384)
    assert ivfpq.ivf is not None and ivfpq.pq is not None
    assert ivfpq.ivf.nlist == 4000 and ivfpq.ivf.trained_on == 4000 * 64
    assert (ivfpq.pq.m, ivfpq.pq.nbits) == (48, 8)

    few = plan_index(IndexSettings(type="ivf", ivf=IvfSettings(min_vectors=1, nlist=1000)), 3900, 384)
    assert few.ivf is not None and few.ivf.nlist == 100  # at least 39 training vectors per list

    auto = plan_index(IndexSettings(), 10, 384)
    assert auto.type == "flat" and auto.requested == "auto"

    with pytest.raises(ConfigError, match="divide"):
        plan_index(IndexSettings(type="ivfpq", ivf=IvfSettings(pq_m=50)), 100_000, 384)


def test_search_time_parameters_do_not_change_the_structure() -> None:
    base = IndexSettings(type="hnsw")
    other_ef = IndexSettings(type="hnsw", hnsw=HnswSettings(ef_search=200))
    other_m = IndexSettings(type="hnsw", hnsw=HnswSettings(m=8))
    assert same_structure(plan_index(base, 500, 8), plan_index(other_ef, 500, 8))
    assert not same_structure(plan_index(base, 500, 8), plan_index(other_m, 500, 8))
    assert not same_structure(plan_index(base, 500, 8), plan_index(base, 501, 8))
    ivf = IndexSettings(type="ivf", ivf=IvfSettings(min_vectors=1))
    more_probes = IndexSettings(type="ivf", ivf=IvfSettings(min_vectors=1, nprobe=64))
    assert same_structure(plan_index(ivf, 50_000, 8), plan_index(more_probes, 50_000, 8))
