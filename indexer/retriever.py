"""Answer a query from a snapshot: dense and lexical candidates, fused, hydrated with citations.

This is the one retrieval path; the service and the evaluation command both call it. Dense
(FAISS) and lexical (BM25) lists are computed separately and merged here, nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from indexer.config import RetrievalSettings
from indexer.embedder import Embedder
from indexer.fusion import Ranked, fuse
from indexer.snapshot import Snapshot
from indexer.store import ChunkRecord, DocumentRecord

MODES = ("dense", "lexical", "hybrid")


@dataclass(frozen=True, slots=True)
class Hit:
    rank: int
    score: float
    chunk: ChunkRecord
    document: DocumentRecord


class Retriever:
    def __init__(self, snapshot: Snapshot, embedder: Embedder, settings: RetrievalSettings) -> None:
        snapshot.check_model(embedder.name, embedder.dimension)
        self.snapshot = snapshot
        self.embedder = embedder
        self.settings = settings

    def search(self, query: str, top_k: int, mode: str | None = None) -> list[Hit]:
        mode = mode or self.settings.mode
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        if self.snapshot.index.ntotal == 0:
            return []
        depth = max(top_k, self.settings.candidates)
        lists: list[Ranked] = []
        if mode in ("dense", "hybrid"):
            lists.append(self._dense(query, depth))
        if mode in ("lexical", "hybrid"):
            lists.append(self._lexical(query, depth))
        if len(lists) == 1:
            ranked = lists[0]
        else:
            ranked = fuse(lists[0], lists[1], self.settings)
        return self._hydrate(ranked, top_k)

    def _dense(self, query: str, depth: int) -> Ranked:
        vector = self.embedder.embed([query])
        scores, ids = self.snapshot.index.search(vector, depth)
        keep = ids[0] >= 0
        return Ranked(ids[0][keep].astype(np.int64), scores[0][keep].astype(np.float32))

    def _lexical(self, query: str, depth: int) -> Ranked:
        scores = self.snapshot.lexical.scores(query)
        return top_positive(scores, depth)

    def _hydrate(self, ranked: Ranked, top_k: int) -> list[Hit]:
        rows = [int(r) for r in ranked.ids[:top_k]]
        store = self.snapshot.store
        chunks = {c.row: c for c in store.chunks(rows)}
        documents = store.documents(sorted({c.doc_id for c in chunks.values()}))
        hits: list[Hit] = []
        for row, score in zip(rows, ranked.scores[:top_k].tolist(), strict=True):
            chunk = chunks.get(row)
            if chunk is not None and chunk.doc_id in documents:
                hits.append(Hit(len(hits) + 1, float(score), chunk, documents[chunk.doc_id]))
        return hits


def top_positive(scores: npt.NDArray[np.float32], depth: int) -> Ranked:
    """The ``depth`` best rows with a score above zero, best first (ties by row)."""
    positive = np.flatnonzero(scores > 0)
    if len(positive) > depth:
        part = np.argpartition(-scores[positive], depth - 1)[:depth]
        positive = positive[part]
    order = np.lexsort((positive, -scores[positive]))
    rows = positive[order]
    return Ranked(rows.astype(np.int64), scores[rows].astype(np.float32))
