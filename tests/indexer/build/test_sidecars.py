"""Metadata sidecars (``<file>.meta.json``, written by uploads over HTTP): merged over the document's
own metadata, never documents themselves, bounded like front matter, and a change of one alone is
enough for the document to be read again."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from indexer.build import Builder
from indexer.config import ReadingSettings, Settings
from indexer.snapshot import open_current
from tests.hash_embedder import HashEmbedder


def build(settings: Settings) -> tuple[dict[str, object], dict[str, str]]:
    report = Builder(settings, HashEmbedder).build(allow_shrink=True)
    snapshot = open_current(settings.index_dir)
    metadata = {
        doc_id: dict(snapshot.store.document(doc_id).metadata) for doc_id in snapshot.manifest.documents
    }  # type: ignore[union-attr]
    return metadata, report.skipped


def test_a_sidecar_merges_over_front_matter_and_is_not_a_document(settings: Settings) -> None:
    seeds = settings.seeds_dir
    (seeds / "note.md").write_text("---\nauthor: Ann\nteam: old\n---\n# Note\n\nSeals sleep in water.\n")
    (seeds / "note.md.meta.json").write_text(json.dumps({"team": "marine", "year": 2020, "title": "Seals"}))
    (seeds / "orphan.txt.meta.json").write_text("{}")
    metadata, skipped = build(settings)
    assert list(metadata) == ["note.md"] and not skipped
    assert metadata["note.md"] == {"author": "Ann", "team": "marine", "year": 2020, "title": "Seals"}
    snapshot = open_current(settings.index_dir)
    assert snapshot.store.document("note.md").title == "Seals"  # type: ignore[union-attr]


def test_changing_only_the_sidecar_reads_the_document_again(settings: Settings) -> None:
    seeds = settings.seeds_dir
    (seeds / "a.txt").write_text("Puffins nest in burrows.")
    (seeds / "a.txt.meta.json").write_text(json.dumps({"colour": "black"}))
    assert build(settings)[0]["a.txt"] == {"colour": "black"}
    (seeds / "a.txt.meta.json").write_text(json.dumps({"colour": "orange"}))
    assert build(settings)[0]["a.txt"] == {"colour": "orange"}
    (seeds / "a.txt.meta.json").unlink()
    assert build(settings)[0]["a.txt"] == {}


def test_a_sidecar_too_large_or_not_an_object_skips_its_document_with_the_reason(settings: Settings) -> None:
    settings = msgspec.structs.replace(settings, reading=ReadingSettings(max_front_matter_kb=1))
    seeds: Path = settings.seeds_dir
    (seeds / "big.txt").write_text("Big sidecar.")
    (seeds / "big.txt.meta.json").write_text(json.dumps({"x": "y" * 2000}))
    (seeds / "list.txt").write_text("List sidecar.")
    (seeds / "list.txt.meta.json").write_text("[1, 2]")
    (seeds / "ok.txt").write_text("Fine.")
    metadata, skipped = build(settings)
    assert list(metadata) == ["ok.txt"]
    assert "reading.max_front_matter_kb" in skipped["big.txt"]
    assert "not a JSON object" in skipped["list.txt"]
