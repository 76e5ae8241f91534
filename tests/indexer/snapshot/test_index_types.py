"""Snapshots with approximate vector indexes: the manifest names the type and parameters, the read
side follows the manifest, and a changed index type or parameter needs no new embeddings."""

from __future__ import annotations

import msgspec
import pytest

from indexer.build import Builder
from indexer.config import HnswSettings, IndexSettings, IvfSettings, Settings
from indexer.embedding import Embedder
from indexer.search import SearchEngine
from indexer.snapshot import current_dir, open_current
from indexer.snapshot.layout import INDEX_NAME
from indexer.snapshot.vectors.flat import FlatIndex
from indexer.snapshot.vectors.hnsw import HnswIndex
from indexer.snapshot.vectors.ivf import IvfIndex

TOPICS = {
    "tides.txt": "The Moon's gravity pulls the oceans and causes the tides twice a day.",
    "volcano.txt": "Magma rises through the crust and erupts from volcanoes as lava.",
    "bees.txt": "Honeybees tell each other where flowers are with a waggle dance.",
    "rockets.txt": "Rockets reach orbit by burning fuel in stages and dropping empty tanks.",
    "bread.txt": "Knead the dough, let it rise for an hour, then bake it until golden.",
}


def no_model() -> Embedder:
    raise AssertionError("the model must not be loaded when nothing needs embedding")


def with_index(settings: Settings, index: IndexSettings) -> Settings:
    return msgspec.structs.replace(settings, index=index)


def top_doc(settings: Settings, embedder: Embedder, query: str, **kwargs: int) -> list[str]:
    searcher = SearchEngine(settings, embedder).open_current()
    try:
        return [h.chunk.doc_id for h in searcher.search(query, 5, "dense", **kwargs)]
    finally:
        searcher.close()


@pytest.fixture
def corpus(settings: Settings) -> Settings:
    for name, text in TOPICS.items():
        (settings.seeds_dir / name).write_text(text, encoding="utf-8")
    return settings


def test_auto_builds_flat_for_a_small_collection(corpus: Settings, embedder: Embedder) -> None:
    report = Builder(corpus, lambda: embedder).build()
    assert report.index_type == "flat"
    snapshot = open_current(corpus.index_dir)
    assert isinstance(snapshot.index, FlatIndex)
    assert snapshot.manifest.index.type == "flat" and snapshot.manifest.index.requested == "auto"
    snapshot.close()


def test_index_type_change_rebuilds_the_index_from_stored_vectors(
    corpus: Settings, embedder: Embedder
) -> None:
    Builder(corpus, lambda: embedder).build()
    flat_order = top_doc(corpus, embedder, "what causes ocean tides?")

    hnsw = with_index(corpus, IndexSettings(type="hnsw", hnsw=HnswSettings(m=8, ef_search=20)))
    report = Builder(hnsw, no_model).build()  # the stored vectors are reused: no model is loaded
    assert report.published and report.index_rebuilt and report.index_type == "hnsw"
    assert report.embedded_chunks == 0 and report.reused_documents == len(TOPICS)
    snapshot = open_current(corpus.index_dir)
    manifest = snapshot.manifest
    assert isinstance(snapshot.index, HnswIndex)
    assert manifest.index.type == "hnsw" and manifest.index.requested == "hnsw"
    assert manifest.index.hnsw is not None
    assert (manifest.index.hnsw.m, manifest.index.hnsw.ef_search) == (8, 20)
    snapshot.close()
    # A tiny collection: HNSW finds the same ranking as exact search, and max_per_doc still works.
    assert top_doc(hnsw, embedder, "what causes ocean tides?") == flat_order
    assert top_doc(hnsw, embedder, "what causes ocean tides?", max_per_doc=1) == flat_order

    # The same settings again: up to date, nothing published.
    assert not Builder(hnsw, no_model).build().published


def test_search_time_parameters_reuse_the_index_file(corpus: Settings, embedder: Embedder) -> None:
    hnsw = with_index(corpus, IndexSettings(type="hnsw"))
    Builder(hnsw, lambda: embedder).build()
    first = current_dir(corpus.index_dir)

    wider = with_index(corpus, IndexSettings(type="hnsw", hnsw=HnswSettings(ef_search=300)))
    report = Builder(wider, no_model).build()
    assert report.published and not report.index_rebuilt
    second = current_dir(corpus.index_dir)
    assert second != first
    assert (second / INDEX_NAME).read_bytes() == (first / INDEX_NAME).read_bytes()
    manifest = open_current(corpus.index_dir).manifest
    assert manifest.index.hnsw is not None and manifest.index.hnsw.ef_search == 300

    # A build-time parameter (m) changes the graph: rebuilt, still without the model.
    denser = with_index(corpus, IndexSettings(type="hnsw", hnsw=HnswSettings(m=48)))
    assert Builder(denser, no_model).build().index_rebuilt


def test_the_snapshot_opens_the_type_its_manifest_names_whatever_the_config_says(
    corpus: Settings, embedder: Embedder
) -> None:
    ivf = with_index(corpus, IndexSettings(type="ivf", ivf=IvfSettings(min_vectors=1, nprobe=1)))
    Builder(ivf, lambda: embedder).build()
    # The service's config says flat; the snapshot is IVF, and is opened and searched as IVF.
    flat_config = with_index(corpus, IndexSettings(type="flat"))
    snapshot = open_current(flat_config.index_dir, mmap_min_mb=0)
    assert isinstance(snapshot.index, IvfIndex)
    assert snapshot.manifest.index.ivf is not None and snapshot.manifest.index.ivf.nlist == 1
    snapshot.close()
    assert top_doc(flat_config, embedder, "bees dancing")[0] == "bees.txt"
