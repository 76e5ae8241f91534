"""Merge a dense and a lexical ranked list into one (weighted score fusion or reciprocal-rank fusion)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from indexer.config import RetrievalSettings


@dataclass(frozen=True, slots=True)
class Ranked:
    """Row ids with their scores, best first."""

    ids: npt.NDArray[np.int64]
    scores: npt.NDArray[np.float32]
    dense: npt.NDArray[np.float64] | None = None
    """Each row's cosine to the query (the score's dense part), when the mode computed it."""
    lexical: npt.NDArray[np.float64] | None = None
    """Each row's BM25 score (the score's lexical part), when the mode computed it."""

    def head(self, count: int) -> Ranked:
        """The first ``count`` rows."""
        return Ranked(
            self.ids[:count],
            self.scores[:count],
            None if self.dense is None else self.dense[:count],
            None if self.lexical is None else self.lexical[:count],
        )

    def parts(self, index: int) -> tuple[float | None, float | None]:
        """Row ``index``'s dense and lexical parts (None where not computed)."""
        dense = None if self.dense is None else float(self.dense[index])
        lexical = None if self.lexical is None else float(self.lexical[index])
        return dense, lexical


def fuse(dense: Ranked, lexical: Ranked, settings: RetrievalSettings) -> Ranked:
    """Min-max weighted or reciprocal-rank fusion (``retrieval.fusion: weighted | rrf``); the
    calibrated fusion, the default, is the retriever's (it needs every candidate's raw scores)."""
    if settings.fusion == "rrf":
        return _rrf(dense, lexical, settings.rrf_k)
    return _weighted(dense, lexical, settings.dense_weight)


def _union(dense: Ranked, lexical: Ranked) -> npt.NDArray[np.int64]:
    return np.unique(np.concatenate([dense.ids, lexical.ids]))


def _lookup(ranked: Ranked, ids: npt.NDArray[np.int64], missing: float) -> npt.NDArray[np.float64]:
    table = dict(zip(ranked.ids.tolist(), ranked.scores.tolist(), strict=True))
    return np.array([table.get(i, missing) for i in ids.tolist()], dtype=np.float64)


def _minmax(values: npt.NDArray[np.float64], lowest: float, highest: float) -> npt.NDArray[np.float64]:
    span = highest - lowest
    if span <= 0:
        return np.ones_like(values) if highest > 0 else np.zeros_like(values)
    return (values - lowest) / span


def _weighted(dense: Ranked, lexical: Ranked, dense_weight: float) -> Ranked:
    """Convex combination of min-max normalised scores; a row missing from a list gets that
    list's lowest score (it ranked below everything the list returned)."""
    ids = _union(dense, lexical)
    parts = []
    for ranked in (dense, lexical):
        if len(ranked.ids):
            low, high = float(ranked.scores.min()), float(ranked.scores.max())
            parts.append(_minmax(_lookup(ranked, ids, low), low, high))
        else:
            parts.append(np.zeros(len(ids)))
    score = dense_weight * parts[0] + (1 - dense_weight) * parts[1]
    return _sorted(ids, score)


def _rrf(dense: Ranked, lexical: Ranked, k: int) -> Ranked:
    ids = _union(dense, lexical)
    score = np.zeros(len(ids))
    for ranked in (dense, lexical):
        ranks = {row: r for r, row in enumerate(ranked.ids.tolist(), start=1)}
        score += np.array([1.0 / (k + ranks[i]) if i in ranks else 0.0 for i in ids.tolist()])
    return _sorted(ids, score)


def _sorted(ids: npt.NDArray[np.int64], score: npt.NDArray[np.float64]) -> Ranked:
    order = np.lexsort((ids, -score))
    return Ranked(ids[order], score[order].astype(np.float32))
