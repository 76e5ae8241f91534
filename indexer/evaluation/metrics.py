"""Retrieval metrics of a run against a collection's judgements, computed by ranx."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

import numpy as np

from indexer.evaluation.beir import Collection, EvaluationError

METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10")

Run = dict[str, dict[str, float]]
"""query id -> {document id: score}."""
INSTALL = "pip install -e '.[eval]'"
"""What installs ranx (~450 MB with numba, scipy and pandas, hence an extra, not a dependency)."""


def require_ranx() -> None:
    """Fail at once, before any index is built, when ranx is not installed."""
    if importlib.util.find_spec("ranx") is None:
        raise EvaluationError(f"measuring retrieval quality needs ranx: {INSTALL}")


def score(collection: Collection, run: Run, metrics: Sequence[str] = METRICS) -> dict[str, float]:
    """The metrics of ``run`` against the collection's judgements, averaged over judged queries
    (a query with no result counts as zero), computed by ranx."""
    import ranx  # type: ignore[import-untyped]

    # make_comparable: a judged query missing from the run (nothing found) scores zero.
    found = {q: docs for q, docs in run.items() if docs and q in collection.qrels}
    values = ranx.evaluate(ranx.Qrels(collection.qrels), ranx.Run(found), list(metrics), make_comparable=True)
    if isinstance(values, float):
        values = {metrics[0]: values}
    return {m: float(values[m]) for m in metrics}


def roc_auc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """The chance that a random positive scores above a random negative, ties counting half (the
    Mann-Whitney U statistic over the product of the two counts)."""
    pos = np.asarray(positives, dtype=np.float64)
    neg = np.asarray(negatives, dtype=np.float64)
    if not len(pos) or not len(neg):
        raise ValueError("need at least one positive and one negative")
    values = np.concatenate([pos, neg])
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    first_rank = np.cumsum(counts) - counts + 1
    ranks = (first_rank + (counts - 1) / 2)[inverse]  # ties share their mean rank
    u = ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2
    return float(u / (len(pos) * len(neg)))
