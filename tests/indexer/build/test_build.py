"""Building, incremental rebuilds and the snapshot contract (manifest, store, indexes)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import msgspec
import pytest

from indexer.build import Builder
from indexer.config import ChunkingSettings, IndexSettings, ModelSettings, Settings
from indexer.embedding import Embedder, EmbedderWrapper, Vectors
from indexer.errors import SnapshotError
from indexer.search import SearchEngine
from indexer.snapshot import CURRENT_LINK, SNAPSHOTS_DIR, Snapshot, current_dir, open_current
from indexer.snapshot.compatibility import check_queryable


def write(settings: Settings, name: str, text: str) -> None:
    path = settings.seeds_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def no_model() -> Embedder:
    raise AssertionError("the model must not be loaded when nothing needs embedding")


def search_ids(settings: Settings, embedder: Embedder, query: str, mode: str = "hybrid") -> list[str]:
    searcher = SearchEngine(settings, embedder).open_current()
    try:
        return [h.chunk.doc_id for h in searcher.search(query, 10, mode)]
    finally:
        searcher.close()


def check_model(snapshot: Snapshot, name: str, dimension: int | None = None, *, variant: str = "") -> None:
    """What the service checks before it serves ``snapshot`` with model ``name`` (of ``dimension``,
    in ``variant``)."""
    built = snapshot.manifest.model
    model = ModelSettings(name=name, variant=variant or built.variant)  # type: ignore[arg-type]
    embedder = SimpleNamespace(dimension=dimension or built.dimension, artifact_sha256="")
    check_queryable(snapshot.snapshot_id, built, model, embedder)  # type: ignore[arg-type]


def test_build_writes_a_complete_snapshot(settings: Settings, embedder: Embedder) -> None:
    write(
        settings,
        "a.txt",
        "date 2024-01-02 Volcanoes erupt\n\nMagma rises through the crust and erupts as lava.",
    )
    write(settings, "sub/b.md", "# Tides\n\nThe Moon's gravity pulls the oceans and causes tides.")
    report = Builder(settings, lambda: embedder).build()
    assert report.published and report.documents == 2 and report.embedded_documents == 2

    snapshot = open_current(settings.index_dir)
    manifest = snapshot.manifest
    assert manifest.schema_version == 2
    assert manifest.model.name == "all-MiniLM-L6-v2" and manifest.model.dimension == 384
    assert manifest.model.normalized and manifest.model.metric == "inner_product"
    assert manifest.chunking.encoding == "cl100k_base"
    assert manifest.chunking.max_tokens == settings.chunking.max_tokens
    assert manifest.chunking.model_token_limit == 256
    assert set(manifest.documents) == {"a.txt", "sub/b.md"}
    assert all(len(entry.sha256) == 64 for entry in manifest.documents.values())
    assert manifest.counts.documents == 2 and manifest.counts.chunks == snapshot.index.ntotal
    assert {"faiss-cpu", "sentence-transformers", "torch", "tiktoken"} <= set(manifest.versions)
    assert {"index.faiss", "vectors.npy", "store.sqlite"} <= set(manifest.files)

    doc = snapshot.store.document("a.txt")
    assert doc is not None and doc.title == "Volcanoes erupt" and doc.date == "2024-01-02"
    assert snapshot.store.document("sub/b.md").title == "Tides"  # type: ignore[union-attr]
    for chunk in snapshot.store.chunks_of("a.txt"):
        assert doc.text[chunk.char_start : chunk.char_end] == chunk.text
    snapshot.close()
    assert search_ids(settings, embedder, "why do oceans have tides?")[0] == "sub/b.md"


def test_incremental_rebuild_changed_added_deleted(settings: Settings, embedder: Embedder) -> None:
    write(settings, "keep.txt", "Photosynthesis turns sunlight into chemical energy in plants.")
    write(settings, "change.txt", "The old version talks about medieval castles.")
    write(settings, "delete.txt", "Zebrafish regenerate their fins quickly.")
    Builder(settings, lambda: embedder).build()
    first = current_dir(settings.index_dir)

    write(settings, "change.txt", "The new version explains how rockets reach orbit.")
    (settings.seeds_dir / "delete.txt").unlink()
    write(settings, "added.txt", "Honeybees communicate with a waggle dance.")

    embedded: list[int] = []

    class Counting(EmbedderWrapper):
        def embed(self, texts: Sequence[str], batch_size: int = 32) -> Vectors:
            embedded.append(len(texts))
            return self.inner.embed(texts, batch_size)

    report = Builder(settings, lambda: Counting(embedder)).build()
    assert report.published
    assert report.reused_documents == 1 and report.embedded_documents == 2 and report.deleted_documents == 1
    assert sum(embedded) == report.embedded_chunks
    assert current_dir(settings.index_dir) != first

    assert "delete.txt" not in search_ids(settings, embedder, "zebrafish fin regeneration")
    assert search_ids(settings, embedder, "how do rockets get to orbit")[0] == "change.txt"
    assert search_ids(settings, embedder, "bee dance communication")[0] == "added.txt"
    assert search_ids(settings, embedder, "plants sunlight energy")[0] == "keep.txt"


def test_rebuild_with_nothing_changed_is_fast_and_loads_no_model(
    settings: Settings, embedder: Embedder
) -> None:
    for i in range(20):
        write(settings, f"doc{i}.txt", f"Document {i} is about subject number {i}.")
    first = Builder(settings, lambda: embedder).build()
    started = time.perf_counter()
    again = Builder(settings, no_model).build()
    assert not again.published
    assert again.snapshot_id == first.snapshot_id
    assert time.perf_counter() - started < 1.0


def test_changed_chunking_rebuilds_everything(settings: Settings, embedder: Embedder) -> None:
    write(settings, "a.txt", "Some text about glaciers and ice sheets. " * 20)
    Builder(settings, lambda: embedder).build()
    smaller = msgspec.structs.replace(settings, chunking=ChunkingSettings(max_tokens=32, overlap_tokens=8))
    report = Builder(smaller, lambda: embedder).build()
    assert report.published and report.embedded_documents == 1
    assert open_current(settings.index_dir).manifest.chunking.max_tokens == 32


def test_unreadable_files_are_skipped_and_reported(settings: Settings, embedder: Embedder) -> None:
    write(settings, "good.txt", "Readable text.")
    (settings.seeds_dir / "bad.txt").write_bytes(b"\xff\xfe\xfa not utf-8")
    report = Builder(settings, lambda: embedder).build()
    assert report.documents == 1 and "bad.txt" in report.skipped
    manifest = open_current(settings.index_dir).manifest
    assert "not valid UTF-8" in manifest.skipped["bad.txt"].reason
    # an unchanged unreadable file does not make the index look stale
    assert not Builder(settings, no_model).build().published


def test_empty_documents_and_empty_seeds(settings: Settings, embedder: Embedder) -> None:
    write(settings, "empty.txt", "   \n")
    report = Builder(settings, lambda: embedder).build()
    assert report.documents == 0 and report.chunks == 0
    assert report.skipped == {"empty.txt": "empty (no text)"}
    assert search_ids(settings, embedder, "anything") == []


def test_old_snapshots_are_pruned(settings: Settings, embedder: Embedder) -> None:
    keep_two = msgspec.structs.replace(settings, index=IndexSettings(keep_snapshots=2))
    for i in range(4):
        write(keep_two, "a.txt", f"Version {i} of the text.")
        Builder(keep_two, lambda: embedder).build()
    published = [p for p in (settings.index_dir / SNAPSHOTS_DIR).iterdir() if not p.name.startswith(".")]
    assert len(published) == 2
    assert current_dir(settings.index_dir) in published


def test_corrupt_or_incomplete_snapshots_are_refused(settings: Settings, embedder: Embedder) -> None:
    write(settings, "a.txt", "Some text.")
    Builder(settings, lambda: embedder).build()
    directory = current_dir(settings.index_dir)
    store = directory / "store.sqlite"
    data = bytearray(store.read_bytes())
    data[-10] ^= 0xFF
    store.write_bytes(bytes(data))
    with pytest.raises(SnapshotError, match="sha256"):
        Snapshot.open(directory)
    (directory / "index.faiss").unlink()
    with pytest.raises(SnapshotError, match="missing"):
        Snapshot.open(directory)
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["schema_version"] = 99
    (directory / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SnapshotError, match="schema version"):
        Snapshot.open(directory)


def test_snapshot_built_with_another_model_is_refused(settings: Settings, embedder: Embedder) -> None:
    write(settings, "a.txt", "Some text.")
    Builder(settings, lambda: embedder).build()
    snapshot = open_current(settings.index_dir)
    with pytest.raises(SnapshotError, match="built with model 'all-MiniLM-L6-v2'"):
        check_model(snapshot, "some-other-model")
    with pytest.raises(SnapshotError, match="dimension"):
        check_model(snapshot, "all-MiniLM-L6-v2", 768)
    snapshot.close()


class _Reporting(EmbedderWrapper):
    """The fixture's model, reporting another variant (the builder records what its embedder says)."""

    def __init__(self, inner: Embedder, variant: str, embedded: list[int], artifact: str = "") -> None:
        super().__init__(inner)
        self.variant, self.artifact_sha256, self.embedded = variant, artifact, embedded

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> Vectors:
        self.embedded.append(len(texts))
        return self.inner.embed(texts, batch_size)


def test_manifest_records_the_variant_and_another_variant_re_embeds_everything(
    settings: Settings, embedder: Embedder
) -> None:
    write(settings, "a.txt", "Glaciers carve valleys over thousands of years.")
    write(settings, "b.txt", "Coral reefs bleach when the sea warms.")
    Builder(settings, lambda: embedder).build()
    snapshot = open_current(settings.index_dir)
    built = snapshot.manifest
    snapshot.close()
    assert built.model.variant == settings.model.variant == getattr(embedder, "variant", None)
    assert built.model.artifact_sha256 == getattr(embedder, "artifact_sha256", None)
    assert "onnxruntime" in built.versions and "torch" in built.versions

    other = "onnx-int8" if settings.model.variant != "onnx-int8" else "onnx-fp32"
    changed = msgspec.structs.replace(settings, model=msgspec.structs.replace(settings.model, variant=other))
    embedded: list[int] = []
    report = Builder(changed, lambda: _Reporting(embedder, other, embedded)).build()
    assert report.published and report.embedded_documents == 2 and report.reused_documents == 0
    assert sum(embedded) == report.chunks
    snapshot = open_current(settings.index_dir)
    try:
        assert snapshot.manifest.model.variant == other
        check_model(snapshot, "all-MiniLM-L6-v2", variant=other)
        wrong = "torch" if other == "onnx-int8" else "onnx-int8"
        with pytest.raises(SnapshotError, match=f"built by model variant '{other}'.*model.variant: {other}"):
            check_model(snapshot, "all-MiniLM-L6-v2", variant=wrong)
    finally:
        snapshot.close()


def test_a_changed_model_file_re_embeds_everything_once_something_needs_embedding(
    settings: Settings, embedder: Embedder
) -> None:
    """Same model and variant, but another ONNX file (a new export recipe or toolchain): adding a
    document must not mix the old file's stored vectors with the new file's."""
    variant = settings.model.variant
    write(settings, "a.txt", "Glaciers carve valleys over thousands of years.")
    write(settings, "b.txt", "Coral reefs bleach when the sea warms.")
    old: list[int] = []
    Builder(settings, lambda: _Reporting(embedder, variant, old, "old-file")).build()
    snapshot = open_current(settings.index_dir)
    assert snapshot.manifest.model.artifact_sha256 == "old-file"
    snapshot.close()

    # Nothing to embed: the snapshot stays as it is (it is what its manifest says) and no model loads.
    assert not Builder(settings, no_model).build().published

    write(settings, "c.txt", "Bees dance to tell the hive where flowers are.")
    new: list[int] = []
    report = Builder(settings, lambda: _Reporting(embedder, variant, new, "new-file")).build()
    assert report.embedded_documents == 3 and report.reused_documents == 0
    snapshot = open_current(settings.index_dir)
    try:
        assert snapshot.manifest.model.artifact_sha256 == "new-file"
    finally:
        snapshot.close()

    write(settings, "d.txt", "Volcanoes build islands from lava.")
    report = Builder(settings, lambda: _Reporting(embedder, variant, new, "new-file")).build()
    assert report.embedded_documents == 1 and report.reused_documents == 3


def test_current_link_is_relative(settings: Settings, embedder: Embedder) -> None:
    """The index folder can be moved or mounted elsewhere."""
    write(settings, "a.txt", "Some text.")
    Builder(settings, lambda: embedder).build()
    link = Path(settings.index_dir / CURRENT_LINK)
    assert not Path(link.readlink()).is_absolute()
