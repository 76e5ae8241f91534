"""Answer a query from a snapshot: embed it, search the vector index, hydrate passages and citations.

This is the one retrieval path; the service and the evaluation command both call it.
"""

from __future__ import annotations

from dataclasses import dataclass

from indexer.embedder import Embedder
from indexer.snapshot import Snapshot
from indexer.store import ChunkRecord, DocumentRecord


@dataclass(frozen=True, slots=True)
class Hit:
    rank: int
    score: float
    chunk: ChunkRecord
    document: DocumentRecord


class Retriever:
    def __init__(self, snapshot: Snapshot, embedder: Embedder) -> None:
        snapshot.check_model(embedder.name, embedder.dimension)
        self.snapshot = snapshot
        self.embedder = embedder

    def search(self, query: str, top_k: int) -> list[Hit]:
        if self.snapshot.index.ntotal == 0:
            return []
        vector = self.embedder.embed([query])
        scores, ids = self.snapshot.index.search(vector, top_k)
        ranked = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
        store = self.snapshot.store
        chunks = {c.row: c for c in store.chunks([i for i, _ in ranked])}
        documents = store.documents(sorted({c.doc_id for c in chunks.values()}))
        hits: list[Hit] = []
        for row, score in ranked:
            chunk = chunks.get(row)
            if chunk is not None and chunk.doc_id in documents:
                hits.append(Hit(len(hits) + 1, score, chunk, documents[chunk.doc_id]))
        return hits
