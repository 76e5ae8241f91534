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
from indexer.search.calibration import CALIBRATION, Calibration, bm25_share
from indexer.search.deadline import Deadline, check
from indexer.search.fusion import Ranked, fuse
from indexer.search.hydration import Hit, Hydration
from indexer.search.selection import Selection
from indexer.snapshot.reader import Snapshot


@dataclass(frozen=True, slots=True)
class DenseStart:
    """A query's vector and its first dense candidate list, computed in a batch with other queries."""

    vector: Vectors
    """Shape ``(1, dimension)``."""
    ranked: Ranked
    depth: int
    """How deep ``ranked`` was searched."""


@dataclass(frozen=True, slots=True)
class LexicalList:
    """A query's lexical candidates, with every row's BM25 score and the query's IDF mass."""

    ranked: Ranked
    scores: npt.NDArray[np.float32]
    idf_mass: float


class Retriever:
    """Candidate lists, fusion, calibrated scores and hydration over one snapshot; thread-safe
    (reads only)."""

    def __init__(
        self, snapshot: Snapshot, settings: RetrievalSettings, calibration: Calibration = CALIBRATION
    ) -> None:
        self.snapshot = snapshot
        self.settings = settings
        self.calibration = calibration

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
        if max(depths) < 1:  # filtered searches: their dense lists are searched with the filter
            empty = Ranked(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
            return [DenseStart(vectors[i : i + 1], empty, 0) for i in range(len(depths))]
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
        selection: Selection | None = None,
        start: DenseStart | None = None,
        min_score: float | None = None,
        deadline: Deadline | None = None,
    ) -> list[Hit]:
        """The ``top_k`` best chunks for ``query``, best first (``start``: its vector and first dense
        list; needed by the dense and hybrid modes), each scored with its calibrated relevance.

        A chunk whose text equals a better-ranked chunk's is left out, and so is one scoring below
        ``min_score``. With ``selection`` only its rows are searched (both lists). With
        ``max_per_doc`` (at most that many chunks of one document) the candidate lists are deepened
        until ``top_k`` hits are found, nothing is left, ``retrieval.max_depth`` is reached, or no
        deeper chunk can reach ``min_score``. ``deadline`` is checked before each round."""
        total = self.snapshot.index.ntotal if selection is None else selection.count
        if total == 0 or top_k < 1:
            return []
        if mode != "lexical" and start is None:
            raise ValueError(f"mode {mode!r} needs the query's vector")
        # A filtered search asks each list for no more rows than the filter allows (HNSW would widen
        # its search looking for the missing ones).
        depth = self.depth(top_k) if selection is None else min(self.depth(top_k), total)
        deepest = min(total, max(depth, self.settings.max_depth))
        hydration = Hydration(self.snapshot.store, top_k, max_per_doc, min_score)
        # Every row's BM25 score, once: deeper lists only take more of them.
        bm25 = self._bm25(query, selection) if mode in ("lexical", "hybrid") else None
        while True:
            check(deadline)
            ranked, bound = self._ranked(bm25, start, mode, depth, selection)
            check(deadline)
            hits = hydration.extend(ranked)
            if len(hits) >= top_k or max_per_doc is None or depth >= deepest:
                return hits
            if min_score is not None and bound < min_score:
                return hits
            depth = min(depth * 2, deepest)

    def _ranked(
        self,
        bm25: tuple[npt.NDArray[np.float32], float] | None,
        start: DenseStart | None,
        mode: str,
        depth: int,
        selection: Selection | None,
    ) -> tuple[Ranked, float]:
        """The candidates (of ``selection`` only, when given), ordered, with calibrated scores and
        their parts; and the best score a chunk outside both lists could have (a deeper search finds
        nothing above it). ``bm25``: every row's BM25 score and the query's IDF mass (lexical and
        hybrid modes)."""
        lexical = None if bm25 is None else LexicalList(top_positive(bm25[0], depth), *bm25)
        calibration = self.calibration
        if start is None or mode == "lexical":
            assert lexical is not None
            ranked = lexical.ranked
            share = bm25_share(ranked.scores, lexical.idf_mass)
            bound = calibration.lexical.at(_lowest(share) if len(ranked.ids) >= depth else 0.0)
            return _with(ranked, calibration.lexical(share), lexical=ranked.scores), bound
        if selection is None and start.depth == depth:
            dense = start.ranked
        else:
            dense = self._dense(start.vector, depth, selection)
        if lexical is None:
            scores = calibration.dense(dense.scores.astype(np.float64))
            return _with(dense, scores, dense=dense.scores), calibration.dense.at(_lowest(dense.scores))
        return self._hybrid(dense, lexical, start.vector, depth)

    def _hybrid(
        self, dense: Ranked, lexical: LexicalList, vector: Vectors, depth: int
    ) -> tuple[Ranked, float]:
        """Every candidate of either list scored with both parts (a part a list did not give is
        computed: the cosine from the stored vectors, BM25 from the scores of every row); ordered by
        the calibrated score (``fusion: calibrated``) or by ``weighted`` / ``rrf`` fusion."""
        if self.settings.fusion == "calibrated":
            rows = np.union1d(dense.ids, lexical.ranked.ids)
        else:
            rows = self._combine(dense, lexical.ranked).ids
        cosines = self._cosines(rows, dense, vector)
        bm25 = lexical.scores[rows].astype(np.float64)
        share = bm25_share(bm25, lexical.idf_mass)
        scores = self.calibration.score(cosines, share)
        if self.settings.fusion == "calibrated":
            order = np.lexsort((rows, -scores))
            rows, scores, cosines, bm25 = rows[order], scores[order], cosines[order], bm25[order]
        lowest_share = _lowest(bm25_share(lexical.ranked.scores, lexical.idf_mass))
        if len(lexical.ranked.ids) < depth:
            lowest_share = 0.0  # every chunk with a query term is in the list already
        bound = self.calibration.hybrid.at(
            _lowest(dense.scores) + self.calibration.lexical_weight * lowest_share
        )
        ranked = Ranked(rows.astype(np.int64), scores.astype(np.float32), cosines, bm25)
        return ranked, bound

    def _cosines(
        self, rows: npt.NDArray[np.int64], dense: Ranked, vector: Vectors
    ) -> npt.NDArray[np.float64]:
        """Each row's cosine to the query: from the dense list, else from the stored vectors."""
        known = dict(zip(dense.ids.tolist(), dense.scores.tolist(), strict=True))
        cosines = np.array([known.get(row, np.nan) for row in rows.tolist()], dtype=np.float64)
        missing = np.flatnonzero(np.isnan(cosines))
        if len(missing):
            stored = self.snapshot.vector_rows(rows[missing])
            cosines[missing] = stored @ np.asarray(vector[0], dtype=np.float32)
        return cosines

    def _combine(self, dense: Ranked, lexical: Ranked) -> Ranked:
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

    def _dense(self, vector: Vectors, depth: int, selection: Selection | None = None) -> Ranked:
        if selection is not None and len(selection.rows) == selection.count:
            return self._exact(vector, depth, selection.rows)
        if selection is None:
            scores, ids = self.snapshot.index.search(vector, depth)
        else:
            scores, ids = self.snapshot.index.search(vector, depth, selection.bitmap)
        return _found(scores[0], ids[0])

    def _exact(self, vector: Vectors, depth: int, rows: npt.NDArray[np.int64]) -> Ranked:
        """A small selection searched exactly: inner products with its own stored vectors."""
        scores = (self.snapshot.vector_rows(rows) @ vector[0].astype(np.float32)).astype(np.float32)
        if len(rows) > depth:
            part = np.argpartition(-scores, depth - 1)[:depth]
            rows, scores = rows[part], scores[part]
        order = np.lexsort((rows, -scores))
        return Ranked(rows[order].astype(np.int64), scores[order])

    def _bm25(self, query: str, selection: Selection | None) -> tuple[npt.NDArray[np.float32], float]:
        """Every row's BM25 score for ``query`` (0 outside ``selection``) and the query's IDF mass."""
        scores, mass = self.snapshot.lexical.scores_and_mass(query)
        if selection is not None:
            scores = np.where(selection.mask, scores, 0).astype(np.float32)
        return scores, mass


def _with(
    ranked: Ranked,
    scores: npt.NDArray[np.float64],
    *,
    dense: npt.NDArray[np.float32] | None = None,
    lexical: npt.NDArray[np.float32] | None = None,
) -> Ranked:
    """``ranked`` (same order) with calibrated ``scores`` and the parts given."""
    return Ranked(
        ranked.ids,
        scores.astype(np.float32),
        None if dense is None else dense.astype(np.float64),
        None if lexical is None else lexical.astype(np.float64),
    )


def _lowest(values: npt.NDArray[np.floating]) -> float:
    return float(values.min()) if len(values) else 0.0


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
