"""The build's processor factory: the local processor unless ``--ray`` is given, each yielding one
result per source in order and one vector per chunk yielded."""

from __future__ import annotations

import pytest

from indexer.build.local_processor import LocalProcessor
from indexer.build.processor import Parsed, Unreadable
from indexer.build.processor_factory import processor_for
from indexer.config import Settings
from indexer.embedding import Embedder
from indexer.errors import RayUnavailableError
from indexer.reading.documents import load_source
from tests.hash_embedder import HashEmbedder


def no_model() -> Embedder:
    raise AssertionError("the model must not be loaded")


def test_the_local_processor_reads_chunks_and_embeds_in_order(settings: Settings) -> None:
    seeds = settings.seeds_dir
    (seeds / "moon.txt").write_text("The lunar rover drove on Apollo 15.\n\n" * 60, encoding="utf-8")
    (seeds / "empty.md").write_text("", encoding="utf-8")
    (seeds / "sun.md").write_text("# Sun\n\nThe sun is a star.\n", encoding="utf-8")
    sources = [load_source(seeds, seeds / name) for name in ("moon.txt", "empty.md", "sun.md")]
    processor = processor_for(settings, HashEmbedder)
    assert isinstance(processor, LocalProcessor)
    try:
        results = list(processor.process(sources))
        vectors = processor.vectors()
    finally:
        processor.close()
    assert [r.source.doc_id for r in results] == ["moon.txt", "empty.md", "sun.md"]
    moon, empty, sun = results
    assert isinstance(moon, Parsed) and isinstance(sun, Parsed) and isinstance(empty, Unreadable)
    assert len(moon.chunks) > 1 and [c.position for c in moon.chunks] == list(range(len(moon.chunks)))
    assert vectors.shape == (len(moon.chunks) + len(sun.chunks), HashEmbedder.dimension)


def test_nothing_to_process_loads_no_model(settings: Settings) -> None:
    processor = processor_for(settings, no_model)
    assert list(processor.process([])) == [] and len(processor.vectors()) == 0
    processor.close()


def test_a_ray_address_it_cannot_mean_is_refused_before_any_work(settings: Settings) -> None:
    with pytest.raises(RayUnavailableError, match=r"expected auto .* local .* or ray://host:port"):
        processor_for(settings, no_model, ray="cluster-1")
