"""Retrieval metrics of a run against a collection's judgements, computed by ranx."""

from __future__ import annotations

from collections.abc import Sequence

from indexer.evaluation.beir import Collection

METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10")

Run = dict[str, dict[str, float]]
"""query id -> {document id: score}."""


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
