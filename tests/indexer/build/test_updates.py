"""Updates: a write costs what it writes (delta segments, deletion marks, one atomic publish), and
every reader sees the base and its deltas as one collection."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from indexer.build import Builder
from indexer.build import segment as segment_module
from indexer.build import updates as updates_module
from indexer.build.updates import merge, update
from indexer.config import Settings
from indexer.embedding import Embedder
from indexer.search import SearchEngine, Searcher
from indexer.snapshot import current_dir, open_current, read_live_manifest
from indexer.snapshot.layout import SEGMENTS_DIR, STATE_NAME
from indexer.snapshot.state import read_state

TEXTS = {
    "volcano.txt": "Volcanoes erupt when magma rises through the crust and pours out as lava.",
    "tides.md": "# Tides\n\nThe Moon's gravity pulls the oceans and causes the tides twice a day.",
    "plants.txt": "Photosynthesis lets plants turn sunlight, water and carbon dioxide into sugar.",
}


def write(settings: Settings, name: str, text: str) -> None:
    path = settings.seeds_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def base_files(settings: Settings) -> dict[str, tuple[int, int, int]]:
    """(inode, mtime_ns, size) of every file of the base snapshot."""
    base = current_dir(settings.index_dir)
    return {
        p.relative_to(base).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns, p.stat().st_size)
        for p in base.rglob("*")
        if p.is_file()
    }


@pytest.fixture
def built(settings: Settings, embedder: Embedder) -> Settings:
    for name, text in TEXTS.items():
        write(settings, name, text)
    Builder(settings, lambda: embedder).build()
    return settings


@pytest.fixture
def searcher_of(embedder: Embedder) -> Iterator[object]:
    opened: list[Searcher] = []

    def open_(settings: Settings) -> Searcher:
        searcher = SearchEngine(settings, embedder).open_current()
        opened.append(searcher)
        return searcher

    yield open_
    for searcher in opened:
        searcher.close()


def doc_ids(searcher: Searcher, query: str, mode: str = "hybrid", **options: object) -> list[str]:
    return [hit.chunk.doc_id for hit in searcher.search(query, 10, mode, **options)]  # type: ignore[arg-type]


def test_an_update_adds_replaces_and_deletes_without_rewriting_the_base(
    built: Settings, embedder: Embedder, searcher_of: object
) -> None:
    before = base_files(built)
    write(built, "glacier.txt", "Glaciers are rivers of ice that carve valleys as they slowly move.")
    report = update(built, lambda: embedder, ["glacier.txt"])
    assert report.published and report.embedded_documents == 1 and report.documents == 4
    write(built, "volcano.txt", "Geysers spout boiling water heated by volcanic rock underground.")
    (built.seeds_dir / "tides.md").unlink()
    report = update(built, lambda: embedder, ["volcano.txt", "tides.md"])
    assert report.deleted_documents == 1 and report.documents == 3
    assert base_files(built) == before  # the base's files were neither rewritten nor replaced

    searcher = searcher_of(built)  # type: ignore[operator]
    assert doc_ids(searcher, "rivers of ice carving valleys")[0] == "glacier.txt"
    assert doc_ids(searcher, "geysers spout", "lexical") == ["volcano.txt"]
    for mode in ("hybrid", "dense", "lexical"):  # the replaced text and the deleted document are gone
        assert "tides.md" not in doc_ids(searcher, "Moon gravity tides oceans", mode)
        hits = searcher.search("magma lava crust", 10, mode)
        assert all("magma" not in hit.chunk.text for hit in hits)
    store = searcher.snapshot.store
    assert store.document("tides.md") is None and store.chunks_of("tides.md") == []
    replaced = store.document("volcano.txt")
    assert replaced is not None and replaced.text.startswith("Geysers")
    assert [c.text for c in store.chunks_of("volcano.txt")] == [replaced.text]
    assert searcher.count({"type": "eq", "key": "doc_id", "value": "tides.md"}) == 0
    assert searcher.count({"type": "ne", "key": "doc_id", "value": "none"}) == 3
    assert doc_ids(searcher, "tides", filters={"type": "eq", "key": "format", "value": "markdown"}) == []
    manifest = searcher.manifest
    assert manifest.counts.documents == 3 and set(manifest.documents) == {
        "volcano.txt",
        "plants.txt",
        "glacier.txt",
    }
    assert {record.doc_id for record in store.iter_documents()} == set(manifest.documents)


def test_hits_from_a_delta_cite_their_document_exactly(
    built: Settings, embedder: Embedder, searcher_of: object
) -> None:
    text = "\n\n".join(
        f"Section {i}. Comets carry ice and dust around the Sun, orbit {i}." for i in range(40)
    )
    write(built, "comets.txt", text)
    update(built, lambda: embedder, ["comets.txt"])
    searcher = searcher_of(built)  # type: ignore[operator]
    hits = searcher.search("comets ice dust orbit", 5, max_per_doc=5)
    assert hits and {hit.chunk.doc_id for hit in hits} == {"comets.txt"}
    document = searcher.snapshot.store.document("comets.txt")
    assert document is not None
    for hit in hits:
        assert document.text[hit.chunk.char_start : hit.chunk.char_end] == hit.chunk.text
        assert hit.chunk.row >= searcher.snapshot.parts()[1].offset  # found in the delta
    one_each = doc_ids(searcher, "comets ice dust orbit", max_per_doc=1)
    assert one_each.count("comets.txt") == 1 and len(one_each) == len(set(one_each))
    strong = searcher.search("comets ice dust orbit", 10, min_score=0.5)
    assert strong and all(hit.score >= 0.5 and hit.chunk.doc_id == "comets.txt" for hit in strong)


def test_a_crash_inside_the_publish_sequence_leaves_the_previous_state(
    built: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch, searcher_of: object
) -> None:
    state_before = read_state(built.index_dir).state
    write(built, "glacier.txt", "Glaciers are rivers of ice that carve valleys as they slowly move.")
    (built.seeds_dir / "plants.txt").unlink()

    def killed(*args: object) -> None:
        raise KeyboardInterrupt("killed before the state was renamed into place")

    for step in ("publish_segment", "write_state"):
        target = updates_module if step == "write_state" else segment_module
        monkeypatch.setattr(target, step, killed)
        with pytest.raises(KeyboardInterrupt):
            update(built, lambda: embedder, ["glacier.txt", "plants.txt"])
        monkeypatch.undo()
        assert read_state(built.index_dir).state == state_before
        searcher = searcher_of(built)  # type: ignore[operator]
        assert "glacier.txt" not in doc_ids(searcher, "rivers of ice")
        assert searcher.snapshot.store.document("plants.txt") is not None

    report = update(built, lambda: embedder, None)  # reconciles whatever the index lacks
    assert report.published and report.deleted_documents == 1
    searcher = searcher_of(built)  # type: ignore[operator]
    assert doc_ids(searcher, "rivers of ice carving valleys")[0] == "glacier.txt"
    assert searcher.snapshot.store.document("plants.txt") is None
    live = {ref.id for ref in read_state(built.index_dir).state.deltas}
    assert {p.name for p in (built.index_dir / SEGMENTS_DIR).iterdir()} == live  # leftovers removed


def test_small_deltas_are_merged(
    built: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch, searcher_of: object
) -> None:
    monkeypatch.setattr(updates_module, "MAX_DELTAS", 3)
    monkeypatch.setattr(updates_module, "MERGE_WIDTH", 2)
    for i in range(6):
        write(built, f"note{i}.txt", f"Note {i}: the lighthouse keeper logged storm number {i} tonight.")
        update(built, lambda: embedder, [f"note{i}.txt"])
    write(built, "note0.txt", "Note 0 rewritten: a quiet harbour, no storm at all.")
    update(built, lambda: embedder, ["note0.txt"], merge=False)  # served first, merged next
    assert len(read_state(built.index_dir).state.deltas) == 4
    assert merge(built) is not None and merge(built) is None
    state = read_state(built.index_dir).state
    assert len(state.deltas) <= 3
    assert {p.name for p in (built.index_dir / SEGMENTS_DIR).iterdir()} == {r.id for r in state.deltas}
    searcher = searcher_of(built)  # type: ignore[operator]
    found = set(doc_ids(searcher, "lighthouse keeper storm", "lexical"))
    assert found == {f"note{i}.txt" for i in range(1, 6)} | {"note0.txt"}
    assert searcher.snapshot.store.document("note0.txt").text.startswith("Note 0 rewritten")  # type: ignore[union-attr]
    assert searcher.manifest.counts.documents == len(TEXTS) + 6


def test_a_full_build_after_updates_equals_a_fresh_build(
    built: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    write(built, "glacier.txt", "Glaciers are rivers of ice that carve valleys as they slowly move.")
    write(built, "tides.md", "# Tides\n\nSpring tides follow the new and the full Moon.")
    (built.seeds_dir / "plants.txt").unlink()
    update(built, lambda: embedder, ["glacier.txt", "tides.md", "plants.txt"])
    report = Builder(built, lambda: embedder).build()
    assert report.published and report.embedded_documents == 0  # every vector was reused
    assert not (built.index_dir / STATE_NAME).exists() and not any((built.index_dir / SEGMENTS_DIR).iterdir())

    fresh = msgspec.structs.replace(built, index_dir=tmp_path / "fresh")
    Builder(fresh, lambda: embedder).build()
    folded, clean = open_current(built.index_dir), open_current(fresh.index_dir)
    try:
        assert folded.manifest.documents == clean.manifest.documents
        for doc_id in clean.manifest.documents:
            assert [c.text for c in folded.store.chunks_of(doc_id)] == [
                c.text for c in clean.store.chunks_of(doc_id)
            ]
    finally:
        folded.close()
        clean.close()


def test_a_delta_is_scored_with_the_collections_keyword_statistics(
    built: Settings, embedder: Embedder, tmp_path: Path, searcher_of: object
) -> None:
    """The same passage scores (BM25 and calibrated) about the same whether it sits in the base or
    arrived in a one-document delta: its rare terms do not get the delta's own IDFs."""
    for i in range(30):
        write(built, f"filler{i}.txt", f"Filler page {i} about the harbour, the town and the weather.")
    Builder(built, lambda: embedder).build()
    write(built, "orca.txt", "Orcas hunt seals near the harbour in packs.")
    update(built, lambda: embedder, ["orca.txt"])
    in_delta = searcher_of(built).search("orcas harbour", 1, "lexical")[0]  # type: ignore[operator]
    Builder(built, lambda: embedder).build(force=True)
    in_base = searcher_of(built).search("orcas harbour", 1, "lexical")[0]  # type: ignore[operator]
    assert in_delta.chunk.doc_id == in_base.chunk.doc_id == "orca.txt"
    assert in_delta.lexical == pytest.approx(in_base.lexical, rel=0.1)
    assert in_delta.score == pytest.approx(in_base.score, abs=0.05)


def test_deltas_do_not_move_the_base_passages_calibrated_scores(
    settings: Settings, embedder: Embedder, searcher_of: object
) -> None:
    """A base passage's calibrated score is its share of the query as the base scores it: documents
    added in deltas (without the query's terms) do not lower it, so a threshold keeps its meaning."""
    for i in range(20):
        write(settings, f"note{i}.txt", f"Note {i}: the harbour ledger, page {i}.")
    Builder(settings, lambda: embedder).build()
    before = searcher_of(settings).search("harbour ledger", 1, "lexical")[0]  # type: ignore[operator]
    for name in ("okapi.txt", "zebra.txt", "giraffe.txt"):
        write(settings, name, f"The {name[:-4]} lives in the forest and eats leaves.")
        update(settings, lambda: embedder, [name])
    after = searcher_of(settings).search("harbour ledger", 1, "lexical")[0]  # type: ignore[operator]
    assert after.chunk.doc_id.startswith("note")
    assert after.score == pytest.approx(before.score, abs=0.01)


def test_reloading_reuses_the_open_base(built: Settings, embedder: Embedder) -> None:
    engine = SearchEngine(built, embedder)
    first = engine.open_current()
    write(built, "glacier.txt", "Glaciers are rivers of ice that carve valleys as they slowly move.")
    update(built, lambda: embedder, ["glacier.txt"])
    second = engine.open_view(previous=first)
    try:
        assert second.snapshot.parts()[0].snapshot is first.snapshot.parts()[0].snapshot
        assert second.snapshot_id == read_state(built.index_dir).state.id != first.snapshot_id
        first.close()  # the shared base stays open for the searcher that still serves it
        assert doc_ids(second, "rivers of ice carving valleys")[0] == "glacier.txt"
        assert doc_ids(second, "magma lava", "lexical") == ["volcano.txt"]
    finally:
        second.close()
    assert os.path.exists(built.index_dir / STATE_NAME)


def test_the_first_update_of_an_empty_collection_builds_it_and_later_ones_add_deltas(
    settings: Settings, embedder: Embedder, searcher_of: object
) -> None:
    report = update(settings, lambda: embedder, None)
    assert report.published and report.documents == 0
    write(settings, "a/one.txt", "Comets carry ice and dust around the Sun.")
    write(settings, "a/two.txt", "Meteors burn up as they fall through the air.")
    write(settings, "notes.bin", "\x00\x01 not a document")
    report = update(settings, lambda: embedder, ["a/one.txt", "a/two.txt", "notes.bin", "../escape.txt"])
    assert report.documents == 2 and "notes.bin" in report.skipped
    assert len(read_state(settings.index_dir).state.deltas) == 1
    searcher = searcher_of(settings)  # type: ignore[operator]
    assert doc_ids(searcher, "comets ice dust")[0] == "a/one.txt"
    for name in ("one.txt", "two.txt"):
        (settings.seeds_dir / "a" / name).unlink()
    (settings.seeds_dir / "a").rmdir()
    report = update(settings, lambda: embedder, ["a"])  # a folder stands for every file under it
    assert report.deleted_documents == 2 and report.documents == 0
    again = update(settings, lambda: embedder, ["a", "notes.bin"])
    assert not again.published  # nothing changed: nothing written
    searcher = searcher_of(settings)  # type: ignore[operator]
    assert searcher.search("comets ice dust", 5) == [] and searcher.manifest.counts.documents == 0


def test_filters_and_fields_follow_the_documents_across_segments(
    settings: Settings, embedder: Embedder, searcher_of: object
) -> None:
    index = msgspec.structs.replace(settings.index, type="hnsw")  # deletions masked in a graph index
    settings = msgspec.structs.replace(settings, index=index)
    for i in range(12):
        write(settings, f"base{i}.md", f"---\nshelf: {i}\n---\nShip log {i}: calm seas and a steady wind.")
    Builder(settings, lambda: embedder).build()
    write(settings, "storm.md", "---\nshelf: new\nwarning: gale\n---\nShip log: a gale and a steady wind.")
    (settings.seeds_dir / "base3.md").unlink()
    update(settings, lambda: embedder, ["storm.md", "base3.md"])

    searcher = searcher_of(settings)  # type: ignore[operator]
    fields = searcher.manifest.fields
    assert fields["shelf"].type == "string" and fields["shelf"].documents == 12
    assert fields["warning"].documents == 1
    gale = {"type": "eq", "key": "warning", "value": "gale"}
    assert doc_ids(searcher, "steady wind", filters=gale) == ["storm.md"]
    assert read_live_manifest(settings.index_dir) == searcher.manifest  # what writers compare with
    assert searcher.count({"type": "eq", "key": "shelf", "value": "new"}) == 1
    assert searcher.count({"type": "eq", "key": "shelf", "value": "3"}) == 0
    for mode in ("dense", "hybrid", "lexical"):
        found = doc_ids(searcher, "ship log 3 calm seas steady wind", mode)
        assert "base3.md" not in found and len(found) == 10
    (settings.seeds_dir / "storm.md").unlink()
    update(settings, lambda: embedder, ["storm.md"])
    assert "warning" not in searcher_of(settings).manifest.fields  # type: ignore[operator]


def test_updates_run_on_one_writer_thread_at_a_lower_priority() -> None:
    from indexer.build.writer import WRITER_NICE, on_writer

    def where() -> tuple[str, int]:
        return threading.current_thread().name, os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    name, nice = on_writer(where)
    assert name.startswith("citesearch-writer") and nice == min(19, mine + WRITER_NICE)
    assert on_writer(lambda: on_writer(where)) == (name, nice)  # nested calls run in place
    with pytest.raises(ZeroDivisionError):
        on_writer(lambda: 1 // 0)
