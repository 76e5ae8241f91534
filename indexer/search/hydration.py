"""Turn a ranked list of chunk rows into hits: chunk and document records read from the store."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexer.search.fusion import Ranked
from indexer.snapshot.store import ChunkRecord, DocumentRecord, Store


@dataclass(frozen=True, slots=True)
class Hit:
    rank: int
    score: float
    chunk: ChunkRecord
    document: DocumentRecord
    """The document's metadata (its text is left empty: read it from the store when needed)."""
    dense: float | None = None
    """The passage's cosine to the query; None when the mode did not compute it (lexical)."""
    lexical: float | None = None
    """The passage's BM25 score; None when the mode did not compute it (dense)."""
    highlights: tuple[tuple[int, int], ...] = ()
    """``(start, end)`` in the chunk's text of each word matching a query term (keyword stemming)."""
    collection: str = ""
    """The collection it was found in, when a search spans collections (set by the service)."""


class Hydration:
    """Reads the store in growing batches, leaves out repeated texts, with ``max_per_doc`` a
    document's extra chunks, and hits scoring below ``min_score``. When a search deepens its lists
    and the deeper list starts with the rows already read (same order, same scores: exact dense or
    lexical lists do), it goes on from there instead of starting over."""

    def __init__(
        self, store: Store, top_k: int, max_per_doc: int | None, min_score: float | None = None
    ) -> None:
        self.store = store
        self.top_k = top_k
        self.max_per_doc = max_per_doc
        self.min_score = min_score
        self._start_over()

    def _start_over(self) -> None:
        self.hits: list[Hit] = []
        self.seen_texts: set[str] = set()
        self.per_doc: dict[str, int] = {}
        self.documents: dict[str, DocumentRecord] = {}
        self.done: Ranked | None = None
        """The part of the ranked list already read."""
        # Growing batches: most searches need little more than top_k rows (reading 64 for a top_k
        # of 5 cost ~0.3 ms), but with max_per_doc or repeated texts many may be passed over.
        self.batch = max(2 * self.top_k, 8)

    def _continues(self, ranked: Ranked) -> bool:
        """Whether ``ranked`` starts with the rows read so far, in the same order, same scores."""
        done = self.done
        if done is None:
            return True
        n = len(done.ids)
        return bool(
            len(ranked.ids) >= n
            and np.array_equal(ranked.ids[:n], done.ids)
            and np.array_equal(ranked.scores[:n], done.scores)
        )

    def extend(self, ranked: Ranked) -> list[Hit]:
        """The hits of ``ranked`` (the first ``top_k``), reading only rows not read before if
        ``ranked`` continues the list read so far, else starting over."""
        if not self._continues(ranked):
            self._start_over()
        begin = 0 if self.done is None else len(self.done.ids)
        rows = [int(r) for r in ranked.ids[begin:]]
        start = 0
        while start < len(rows) and len(self.hits) < self.top_k:
            end = start + self.batch
            chunks = {c.row: c for c in self.store.chunks(rows[start:end])}
            missing = sorted({c.doc_id for c in chunks.values()} - self.documents.keys())
            self.documents.update(self.store.documents(missing))
            for offset, row in enumerate(rows[start:end]):
                if self._take(chunks.get(row), ranked, begin + start + offset):
                    end = start + offset + 1
                    break
            start, self.batch = end, min(self.batch * 2, 512)
        read = begin + min(start, len(rows))
        self.done = ranked.head(read)
        return self.hits

    def _take(self, chunk: ChunkRecord | None, ranked: Ranked, index: int) -> bool:
        """Consider the candidate at ``index`` of ``ranked``; True once ``top_k`` hits are found."""
        if chunk is None or chunk.doc_id not in self.documents:
            return False
        score = float(ranked.scores[index])
        if self.min_score is not None and score < self.min_score:
            return False
        key = " ".join(chunk.text.split())
        if key in self.seen_texts:
            return False
        if self.max_per_doc is not None and self.per_doc.get(chunk.doc_id, 0) >= self.max_per_doc:
            return False
        dense, lexical = ranked.parts(index)
        hit = Hit(len(self.hits) + 1, score, chunk, self.documents[chunk.doc_id], dense, lexical)
        self.seen_texts.add(key)
        self.per_doc[chunk.doc_id] = self.per_doc.get(chunk.doc_id, 0) + 1
        self.hits.append(hit)
        return len(self.hits) >= self.top_k
