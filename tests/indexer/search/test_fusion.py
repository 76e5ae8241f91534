from __future__ import annotations

import numpy as np

from indexer.config import RetrievalSettings
from indexer.search.fusion import Ranked, fuse
from indexer.search.retriever import top_positive


def ranked(pairs: list[tuple[int, float]]) -> Ranked:
    return Ranked(
        np.array([p[0] for p in pairs], dtype=np.int64), np.array([p[1] for p in pairs], dtype=np.float32)
    )


def test_weighted_fusion_rewards_agreement_and_has_no_duplicates() -> None:
    dense = ranked([(1, 0.9), (2, 0.8), (3, 0.1)])
    lexical = ranked([(2, 10.0), (4, 9.0), (1, 1.0)])
    fused = fuse(dense, lexical, RetrievalSettings(fusion="weighted", dense_weight=0.5))
    assert fused.ids.tolist()[0] == 2
    assert sorted(fused.ids.tolist()) == [1, 2, 3, 4]
    assert np.all(np.diff(fused.scores) <= 0)


def test_dense_weight_one_keeps_dense_order() -> None:
    dense = ranked([(1, 0.9), (2, 0.8), (3, 0.1)])
    lexical = ranked([(3, 10.0)])
    fused = fuse(dense, lexical, RetrievalSettings(fusion="weighted", dense_weight=1.0))
    assert fused.ids.tolist()[:3] == [1, 2, 3]


def test_rrf_is_rank_based() -> None:
    dense = ranked([(1, 0.9), (2, 0.1)])
    lexical = ranked([(2, 100.0), (1, 99.0)])
    fused = fuse(dense, lexical, RetrievalSettings(fusion="rrf", rrf_k=60))
    assert fused.scores[0] == fused.scores[1]
    assert fused.ids.tolist() == [1, 2]  # ties broken by row id, deterministically


def test_empty_lexical_list_leaves_dense_order() -> None:
    dense = ranked([(5, 0.5), (6, 0.4)])
    fused = fuse(dense, ranked([]), RetrievalSettings())
    assert fused.ids.tolist() == [5, 6]


def test_top_positive_skips_zero_scores() -> None:
    scores = np.array([0.0, 2.0, 0.5, 0.0, 3.0], dtype=np.float32)
    top = top_positive(scores, 2)
    assert top.ids.tolist() == [4, 1]
