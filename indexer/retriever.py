"""Answer a query from a snapshot: dense and lexical candidates, fused, hydrated with citations.

This is the one retrieval path; the service and the evaluation command both call it. Dense
(FAISS) and lexical (BM25) lists are computed separately and merged here, nowhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from indexer.config import RetrievalSettings
from indexer.embedder import Embedder, Vectors
from indexer.fusion import Ranked, fuse
from indexer.snapshot import Snapshot
from indexer.store import ChunkRecord, DocumentRecord, Store

MODES = ("dense", "lexical", "hybrid")


@dataclass(frozen=True, slots=True)
class DenseStart:
    """A query's vector and its first dense candidate list, computed ahead of :meth:`Retriever.search`
    (the service embeds and searches many queries' vectors at once: :meth:`Retriever.dense_starts`)."""

    vector: Vectors
    """Shape ``(1, dimension)``."""
    ranked: Ranked
    depth: int
    """How deep ``ranked`` was searched."""


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
        self._vector_rows: npt.NDArray[np.float32] | None = None

    def needs_vector(self, top_k: int, mode: str | None = None) -> bool:
        """Whether a search with these arguments embeds the query (and searches the vector index)."""
        mode = mode or self.settings.mode
        return mode in ("dense", "hybrid") and top_k >= 1 and self.snapshot.index.ntotal > 0

    def depth(self, top_k: int) -> int:
        """How deep the first candidate lists of a ``top_k`` search go."""
        return max(top_k, self.settings.candidates)

    def dense_starts(self, vectors: Vectors, depths: Sequence[int]) -> list[DenseStart]:
        """The first dense candidate lists of many queries (one row of ``vectors`` each), searched as
        one batch: one vector index call at the deepest of ``depths``, each list cut to its depth."""
        if len(vectors) != len(depths):
            raise ValueError("one depth per vector")
        if not len(depths):
            return []
        deepest = max(depths)
        scores, ids = self.snapshot.index.search(vectors, deepest)
        starts = []
        for i, depth in enumerate(depths):
            starts.append(DenseStart(vectors[i : i + 1], _found(scores[i, :depth], ids[i, :depth]), depth))
        return starts

    def search(
        self,
        query: str,
        top_k: int,
        mode: str | None = None,
        *,
        max_per_doc: int | None = None,
        start: DenseStart | None = None,
    ) -> list[Hit]:
        """The ``top_k`` best chunks for ``query``, best first.

        A chunk whose text equals a better-ranked chunk's is left out. With ``max_per_doc``, at
        most that many chunks of one document are returned (``1``: documents ranked by their best
        chunk), and the candidate lists are deepened until ``top_k`` hits are found or nothing is
        left. ``start``: the query's vector and first dense list, computed ahead (else computed here)."""
        mode = mode or self.settings.mode
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        if max_per_doc is not None and max_per_doc < 1:
            raise ValueError("max_per_doc must be at least 1")
        total = self.snapshot.index.ntotal
        if total == 0 or top_k < 1:
            return []
        vector: Vectors | None = None
        if mode in ("dense", "hybrid"):
            vector = start.vector if start is not None else self.embedder.embed([query])
        depth = self.depth(top_k)
        hydration = _Hydration(self.snapshot.store, top_k, max_per_doc)
        while True:
            first = start.ranked if start is not None and start.depth == depth else None
            ranked = self._ranked(query, vector, mode, depth, first)
            hits = hydration.extend(ranked)
            if len(hits) >= top_k or max_per_doc is None or depth >= total:
                return hits
            depth = min(depth * 2, total)

    def _ranked(
        self, query: str, vector: Vectors | None, mode: str, depth: int, dense: Ranked | None = None
    ) -> Ranked:
        lexical = self._lexical(query, depth) if mode in ("lexical", "hybrid") else None
        if vector is None:
            assert lexical is not None
            return lexical
        ranked = self._combine(dense if dense is not None else self._dense(vector, depth), lexical)
        feedback = self.settings.prf_docs
        if feedback > 0 and len(ranked.ids):
            # Pseudo-relevance feedback (Rocchio): move the query vector towards the vectors of
            # the first pass's best chunks, then search again.
            top = self._vectors()[np.sort(ranked.ids[:feedback])]
            moved = vector + self.settings.prf_weight * top.mean(axis=0, keepdims=True)
            moved /= np.linalg.norm(moved, axis=1, keepdims=True)
            ranked = self._combine(self._dense(moved.astype(np.float32), depth), lexical)
        return ranked

    def _combine(self, dense: Ranked, lexical: Ranked | None) -> Ranked:
        if lexical is None:
            return dense
        chunks = fuse(dense, lexical, self.settings)
        if not self.settings.fuse_documents:
            return chunks
        # Documents ranked by fused document scores, each by one chunk; every other chunk follows
        # in chunk-fusion order (so a search without max_per_doc still returns them).
        by_doc = self._by_document([dense, lexical])
        docs = fuse(by_doc[0], by_doc[1], self.settings)
        rest = ~np.isin(chunks.ids, docs.ids)
        floor = float(docs.scores[-1]) if len(docs.scores) else 0.0
        return Ranked(
            np.concatenate([docs.ids, chunks.ids[rest]]),
            np.concatenate([docs.scores, np.minimum(chunks.scores[rest], floor)]).astype(np.float32),
        )

    def _vectors(self) -> npt.NDArray[np.float32]:
        if self._vector_rows is None:
            self._vector_rows = self.snapshot.vectors()
        return self._vector_rows

    def _by_document(self, lists: list[Ranked]) -> list[Ranked]:
        """Each list cut to its documents' best chunks, a document named by one row in every list
        (the first list's), so fusion combines document scores, not unrelated chunks."""
        rows = np.unique(np.concatenate([ranked.ids for ranked in lists])).tolist()
        doc_of = {c.row: c.doc_id for c in self.snapshot.store.chunks(rows)}
        canonical: dict[str, int] = {}
        out: list[Ranked] = []
        for ranked in lists:
            ids: list[int] = []
            keep: list[int] = []
            seen: set[str] = set()
            for i, row in enumerate(ranked.ids.tolist()):
                doc = doc_of.get(row)
                if doc is None or doc in seen:
                    continue
                seen.add(doc)
                ids.append(canonical.setdefault(doc, row))
                keep.append(i)
            out.append(Ranked(np.array(ids, dtype=np.int64), ranked.scores[keep]))
        return out

    def _dense(self, vector: Vectors, depth: int) -> Ranked:
        scores, ids = self.snapshot.index.search(vector, depth)
        return _found(scores[0], ids[0])

    def _lexical(self, query: str, depth: int) -> Ranked:
        scores = self.snapshot.lexical.scores(query)
        return top_positive(scores, depth)


class _Hydration:
    """Turns a ranked list into hits (chunk and document records): reads the store in growing
    batches, leaves out repeated texts and, with ``max_per_doc``, a document's extra chunks. When a
    search deepens its lists and the deeper list starts with the rows already read (same order, same
    scores: exact dense or lexical lists do), it goes on from there instead of starting over."""

    def __init__(self, store: Store, top_k: int, max_per_doc: int | None) -> None:
        self.store = store
        self.top_k = top_k
        self.max_per_doc = max_per_doc
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
        scores = ranked.scores[begin:].tolist()
        hits = self.hits
        start = 0
        while start < len(rows) and len(hits) < self.top_k:
            end = start + self.batch
            chunks = {c.row: c for c in self.store.chunks(rows[start:end])}
            missing = sorted({c.doc_id for c in chunks.values()} - self.documents.keys())
            self.documents.update(self.store.documents(missing))
            for offset, (row, score) in enumerate(zip(rows[start:end], scores[start:end], strict=True)):
                if self._take(chunks.get(row), score):
                    end = start + offset + 1
                    break
            start, self.batch = end, min(self.batch * 2, 512)
        read = begin + min(start, len(rows))
        self.done = Ranked(ranked.ids[:read], ranked.scores[:read])
        return hits

    def _take(self, chunk: ChunkRecord | None, score: float) -> bool:
        """Consider one candidate; True once ``top_k`` hits are found."""
        if chunk is None or chunk.doc_id not in self.documents:
            return False
        key = " ".join(chunk.text.split())
        if key in self.seen_texts:
            return False
        if self.max_per_doc is not None and self.per_doc.get(chunk.doc_id, 0) >= self.max_per_doc:
            return False
        self.seen_texts.add(key)
        self.per_doc[chunk.doc_id] = self.per_doc.get(chunk.doc_id, 0) + 1
        self.hits.append(Hit(len(self.hits) + 1, float(score), chunk, self.documents[chunk.doc_id]))
        return len(self.hits) >= self.top_k


def top_positive(scores: npt.NDArray[np.float32], depth: int) -> Ranked:
    """The ``depth`` best rows with a score above zero, best first (ties by row)."""
    positive = np.flatnonzero(scores > 0)
    if len(positive) > depth:
        part = np.argpartition(-scores[positive], depth - 1)[:depth]
        positive = positive[part]
    order = np.lexsort((positive, -scores[positive]))
    rows = positive[order]
    return Ranked(rows.astype(np.int64), scores[rows].astype(np.float32))


def _found(scores: npt.NDArray[np.float32], ids: npt.NDArray[np.int64]) -> Ranked:
    """One query's row of a vector index answer, without the ``-1`` ids of missing hits."""
    keep = ids >= 0
    return Ranked(ids[keep].astype(np.int64), scores[keep].astype(np.float32))
