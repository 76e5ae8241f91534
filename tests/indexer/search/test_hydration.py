"""Result hydration reads the chunk store in growing batches: a plain search reads little more than
``top_k`` rows, and a search that passes many candidates over (``max_per_doc``, repeated texts)
still finds its hits further down. Fake snapshot parts; the retriever is the real one."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any, cast

import numpy as np

from indexer.config import RetrievalSettings
from indexer.search.retriever import Retriever
from indexer.snapshot import Snapshot
from indexer.snapshot.store import ChunkRecord, DocumentRecord


class FakeStore:
    def __init__(self, chunks: list[ChunkRecord]) -> None:
        self._chunks = {c.row: c for c in chunks}
        self.reads: list[int] = []

    def chunks(self, rows: Sequence[int]) -> list[ChunkRecord]:
        self.reads.append(len(rows))
        return [self._chunks[r] for r in rows if r in self._chunks]

    def documents(self, doc_ids: Sequence[str]) -> dict[str, DocumentRecord]:
        return {d: DocumentRecord(d, f"{d}.md", d, None, "", 0, "") for d in doc_ids}


def retriever(chunks: list[ChunkRecord]) -> tuple[Retriever, FakeStore]:
    """A lexical-only retriever whose ranking is by row: row 0 best."""
    store = FakeStore(chunks)
    n = len(chunks)
    snapshot: Any = SimpleNamespace(
        store=store,
        index=SimpleNamespace(ntotal=n),
        lexical=SimpleNamespace(
            scores_and_mass=lambda query: (np.linspace(2.0, 1.0, n, dtype=np.float32), 4.0)
        ),
    )
    found = Retriever(cast(Snapshot, snapshot), RetrievalSettings())
    return found, store


def chunk(row: int, doc_id: str, text: str) -> ChunkRecord:
    return ChunkRecord(row, doc_id, row, 0, len(text), 1, 1, text)


def test_a_plain_search_reads_few_rows() -> None:
    found, store = retriever([chunk(i, f"d{i}", f"text {i}") for i in range(200)])
    hits = found.search("q", 5, "lexical")
    assert [h.chunk.row for h in hits] == [0, 1, 2, 3, 4]
    assert store.reads == [10]


def test_max_per_doc_finds_other_documents_far_down_the_list() -> None:
    chunks = [chunk(i, "big", f"big part {i}") for i in range(150)]
    chunks += [chunk(150, "other", "other text"), chunk(151, "third", "third text")]
    found, store = retriever(chunks)
    hits = found.search("q", 3, "lexical", max_per_doc=1)
    assert [h.document.doc_id for h in hits] == ["big", "other", "third"]
    assert [h.rank for h in hits] == [1, 2, 3]
    assert store.reads[:3] == [8, 16, 32]  # batches grow
    assert sum(store.reads) <= len(chunks)  # deepening the list went on from the rows already read


def test_repeated_texts_are_passed_over() -> None:
    chunks = [chunk(i, f"d{i}", "the same words") for i in range(40)] + [chunk(40, "d40", "new words")]
    found, _ = retriever(chunks)
    hits = found.search("q", 2, "lexical")
    assert [h.chunk.row for h in hits] == [0, 40]
