"""ROC AUC as the separability benchmark and the CI guard compute it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from indexer.evaluation import roc_auc


def test_perfect_reversed_and_tied() -> None:
    assert roc_auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert roc_auc([0.1], [0.9]) == 0.0
    assert roc_auc([0.5, 0.5], [0.5]) == 0.5
    assert roc_auc([1, 2], [2, 0]) == pytest.approx(0.625)  # 1>0, 2>0, 2=2 (half), 1<2


scores = st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=30)


@given(scores, scores)
def test_it_is_the_share_of_pairs_ordered_right(pos: list[float], neg: list[float]) -> None:
    pairs = [(p > n) + 0.5 * (p == n) for p in pos for n in neg]
    assert roc_auc(pos, neg) == pytest.approx(float(np.mean(pairs)))


def test_empty_sides_are_refused() -> None:
    with pytest.raises(ValueError):
        roc_auc([], [0.1])
