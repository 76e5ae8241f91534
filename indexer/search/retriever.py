"""Dense and lexical candidate lists for a query, fused, deepened until enough hits are found.

Dense (FAISS) and lexical (BM25) lists are computed separately and merged here, nowhere else. The
query's vector (and, when the batcher computed it, its first dense list) is handed in by the engine,
which embeds queries in batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from indexer.config import RetrievalSettings
from indexer.embedding.base import Vectors
from indexer.search.fusion import Ranked, fuse
from indexer.search.hydration import Hit, Hydration, Where
from indexer.snapshot.reader import Snapshot

MODES = ("dense", "lexical", "hybrid")


@dataclass(frozen=True, slots=True)
class DenseStart:
    """A query's vector and its first dense candidate list, computed in a batch with other queries."""

    vector: Vectors
    """Shape ``(1, dimension)``."""
    ranked: Ranked
    depth: int
    """How deep ``ranked`` was searched."""


class Retriever:
    """Candidate lists, fusion and hydration over one snapshot; thread-safe (reads only)."""

    def __init__(self, snapshot: Snapshot, settings: RetrievalSettings) -> None:
        self.snapshot = snapshot
        self.settings = settings

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
        scores, ids = self.snapshot.index.search(vectors, max(depths))
        return [
            DenseStart(vectors[i : i + 1], _found(scores[i, :depth], ids[i, :depth]), depth)
            for i, depth in enumerate(depths)
        ]

    def search(
        self,
        query: str,
        top_k: int,
        mode: str,
        *,
        max_per_doc: int | None = None,
        where: Where | None = None,
        start: DenseStart | None = None,
    ) -> list[Hit]:
        """The ``top_k`` best chunks for ``query``, best first (``start``: its vector and first dense
        list; needed by the dense and hybrid modes).

        A chunk whose text equals a better-ranked chunk's is left out. With ``max_per_doc`` (at most
        that many chunks of one document) or ``where`` (a filter), the candidate lists are deepened
        until ``top_k`` hits are found, nothing is left, or ``retrieval.max_depth`` is reached."""
        total = self.snapshot.index.ntotal
        if total == 0 or top_k < 1:
            return []
        if mode != "lexical" and start is None:
            raise ValueError(f"mode {mode!r} needs the query's vector")
        depth = self.depth(top_k)
        deepest = min(total, max(depth, self.settings.max_depth))
        hydration = Hydration(self.snapshot.store, top_k, max_per_doc, where)
        deepen = max_per_doc is not None or where is not None
        while True:
            ranked = self._ranked(query, start, mode, depth)
            hits = hydration.extend(ranked)
            if len(hits) >= top_k or not deepen or depth >= deepest:
                return hits
            depth = min(depth * 2, deepest)

    def _ranked(self, query: str, start: DenseStart | None, mode: str, depth: int) -> Ranked:
        lexical = self._lexical(query, depth) if mode in ("lexical", "hybrid") else None
        if start is None or mode == "lexical":
            assert lexical is not None
            return lexical
        dense = start.ranked if start.depth == depth else self._dense(start.vector, depth)
        return self._combine(dense, lexical)

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
        return top_positive(self.snapshot.lexical.scores(query), depth)


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
