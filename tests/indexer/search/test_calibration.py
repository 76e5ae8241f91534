"""Calibrated scores: the curves, the BM25 share they read, and what the retriever makes of them
(ordering, parts, ``min_score``). Fake snapshot parts around the real retriever; no model."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.config import LexicalSettings, RetrievalSettings
from indexer.search.calibration import CALIBRATION, Calibration, Logistic, bm25_share
from indexer.search.retriever import DenseStart, Retriever
from indexer.snapshot import Snapshot
from indexer.snapshot.lexical.bm25 import BM25Index
from indexer.snapshot.store import ChunkRecord, DocumentRecord


def test_curves_are_increasing_and_stay_in_zero_one() -> None:
    x = np.linspace(-1.0, 3.0, 200)
    for curve in (CALIBRATION.hybrid, CALIBRATION.dense, CALIBRATION.lexical):
        y = curve(x)
        assert np.all(np.diff(y) >= 0) and y[-1] > y[0]
        assert np.all((y >= 0) & (y <= 1))
        assert curve.at(-curve.intercept / curve.slope) == pytest.approx(0.5)  # the midpoint


def test_each_mode_reads_its_own_curve() -> None:
    calibration = Calibration("t", "m", 2.0, Logistic(0, 1), Logistic(1, 1), Logistic(2, 1))
    cos, share = np.array([0.5]), np.array([0.25])
    assert calibration.score(cos, share)[0] == pytest.approx(Logistic(0, 1).at(0.5 + 2.0 * 0.25))
    assert calibration.score(cos, None)[0] == pytest.approx(Logistic(1, 1).at(0.5))
    assert calibration.score(None, share)[0] == pytest.approx(Logistic(2, 1).at(0.25))
    with pytest.raises(ValueError):
        calibration.score(None, None)


def test_an_off_topic_passage_scores_near_zero_and_a_close_match_high() -> None:
    """The issue's example: a cosine of 0.017 and no shared term is not relevant, whatever else the
    collection holds; a close paraphrase matching most of the query is."""
    off = CALIBRATION.score(np.array([0.017]), np.array([0.0]))[0]
    close = CALIBRATION.score(np.array([0.75]), np.array([0.5]))[0]
    assert off < 0.01 < 0.9 < close


def test_bm25_share_of_a_query_without_indexed_terms_is_zero() -> None:
    assert bm25_share(np.array([0.0, 0.0]), 0.0).tolist() == [0.0, 0.0]


@given(
    st.lists(
        st.sampled_from(["cat", "dog", "bread", "dough", "moon", "tide", "war", "peace"]),
        min_size=1,
        max_size=12,
    ),
    st.lists(st.sampled_from(["cat", "bread", "moon", "zebra", "quasar"]), min_size=1, max_size=5),
)
@settings(deadline=None)  # the first example builds an index: slow on a busy machine, not wrong
def test_bm25_is_a_share_of_the_query_idf_mass(words: list[str], query: list[str]) -> None:
    """Lucene BM25 gives one term at most its IDF, so no chunk reaches the query's mass; a term the
    collection lacks adds to the mass and lowers every share."""
    texts = [" ".join(words[i:] + words[:i]) for i in range(len(words))] + ["unrelated filler text"]
    index = BM25Index.build(LexicalSettings(stemmer="none", stopwords="none"), texts)
    scores, mass = index.scores_and_mass(" ".join(query))
    assert mass > 0
    assert np.all(scores < mass + 1e-6)
    _, wider = index.scores_and_mass(" ".join([*query, "xylophone"]))
    assert wider > mass


class FakeStore:
    def __init__(self, n: int) -> None:
        self.n = n

    def chunks(self, rows: Sequence[int]) -> list[ChunkRecord]:
        return [ChunkRecord(r, f"d{r}", r, 0, 5, 1, 1, f"text {r}") for r in rows if 0 <= r < self.n]

    def documents(self, doc_ids: Sequence[str]) -> dict[str, DocumentRecord]:
        return {d: DocumentRecord(d, d, d, None, "", 0, "") for d in doc_ids}


def hybrid_retriever(
    cosines: list[float], bm25: list[float], mass: float, dense_depth: int
) -> tuple[Retriever, DenseStart, list[list[int]]]:
    """A retriever over ``len(cosines)`` one-chunk documents whose vectors give those cosines to the
    query vector ``e0``; the dense list the engine hands in holds the ``dense_depth`` best."""
    n = len(cosines)
    vectors = np.zeros((n, 2), dtype=np.float32)
    vectors[:, 0] = cosines
    searched: list[list[int]] = []

    def search(query: Any, k: int) -> tuple[Any, Any]:
        order = np.argsort(-vectors[:, 0], kind="stable")[:k]
        searched.append(order.tolist())
        return vectors[order, 0][None, :], order[None, :].astype(np.int64)

    snapshot: Any = SimpleNamespace(
        store=FakeStore(n),
        index=SimpleNamespace(ntotal=n, search=search),
        lexical=SimpleNamespace(scores_and_mass=lambda q: (np.array(bm25, dtype=np.float32), mass)),
        vectors=lambda: vectors,
    )
    retriever = Retriever(cast(Snapshot, snapshot), RetrievalSettings(candidates=dense_depth))
    query = np.array([[1.0, 0.0]], dtype=np.float32)
    start = retriever.dense_starts(query, [dense_depth])[0]
    return retriever, start, searched


def test_hybrid_orders_by_calibrated_score_with_both_parts_even_outside_a_list() -> None:
    # Row 3 is outside the dense list (depth 2): its cosine comes from the stored vectors.
    retriever, start, _ = hybrid_retriever([0.6, 0.5, 0.1, 0.05], [0.0, 1.0, 0.0, 3.0], 4.0, 2)
    hits = retriever.search("q", 4, "hybrid", start=start)
    rows = [h.chunk.row for h in hits]
    expected = sorted(range(4), key=lambda r: -(([0.6, 0.5, 0.1, 0.05][r]) + [0.0, 1.0, 0.0, 3.0][r] / 4.0))
    assert rows[:3] == [r for r in expected if r != 2][:3]
    by_row = {h.chunk.row: h for h in hits}
    assert by_row[3].dense == pytest.approx(0.05) and by_row[3].lexical == pytest.approx(3.0)
    assert by_row[0].lexical == 0.0
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert by_row[1].score == pytest.approx(CALIBRATION.hybrid.at(0.5 + 0.25), rel=1e-5)


def test_min_score_drops_weak_hits_and_does_not_deepen_past_what_could_reach_it() -> None:
    cosines = [0.9] + [0.05] * 99
    retriever, start, searched = hybrid_retriever(cosines, [0.0] * 100, 1.0, 10)
    threshold = CALIBRATION.hybrid.at(0.5)
    hits = retriever.search("q", 5, "hybrid", start=start, min_score=threshold, max_per_doc=5)
    assert [h.chunk.row for h in hits] == [0]
    assert searched == [list(range(10))]  # max_per_doc would deepen, but nothing deeper can pass


def test_dense_and_lexical_modes_carry_only_their_part() -> None:
    retriever, start, _ = hybrid_retriever([0.6, 0.5, 0.1], [0.0, 1.0, 2.0], 4.0, 3)
    dense = retriever.search("q", 3, "dense", start=start)
    assert [h.chunk.row for h in dense] == [0, 1, 2]
    assert all(h.lexical is None and h.dense is not None for h in dense)
    assert dense[0].score == pytest.approx(CALIBRATION.dense.at(0.6), rel=1e-5)
    lexical = retriever.search("q", 3, "lexical")
    assert [h.chunk.row for h in lexical] == [2, 1]
    assert all(h.dense is None for h in lexical)
    assert lexical[0].score == pytest.approx(CALIBRATION.lexical.at(0.5), rel=1e-5)
