"""bench/compare.py's own logic on tiny fake data (no txtai or Haystack needed)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from indexer.evaluation import Collection

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


compare = _load("bench_compare", BENCH / "compare.py")
common = _load("bench_competitors_common", BENCH / "competitors" / "common.py")


def _collection() -> Collection:
    corpus = {f"d{i}": (f"title {i}", f"text {i}") for i in range(10)}
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1, "d3": 1}, "q3": {"d9": 1}}
    return Collection("fake", corpus, {q: f"query {q}" for q in qrels}, qrels)


def test_passage_hits_become_documents_scored_by_their_best_passage() -> None:
    hits = [("a#0", 0.9), ("b#0", 0.8), ("a#1", 0.7), ("c#0", 0.6), ("d#0", 0.5)]
    doc_of = {unit: unit.split("#")[0] for unit, _ in hits}
    assert common.best_per_document(hits, doc_of, depth=3) == {"a": 0.9, "b": 0.8, "c": 0.6}


def test_a_competitor_run_is_scored_like_ours() -> None:
    collection = _collection()
    perfect = {"q1": {"d1": 1.0, "d0": 0.5}, "q2": {"d2": 0.9, "d3": 0.8}, "q3": {"d9": 0.7}}
    assert compare.score(collection, perfect)["ndcg@10"] == 1.0
    missing_one = {q: docs for q, docs in perfect.items() if q != "q3"}
    assert abs(compare.score(collection, missing_one)["ndcg@10"] - 2 / 3) < 1e-9


def test_smoke_subset_keeps_the_judged_documents_of_every_kept_query() -> None:
    small = compare.subset(_collection(), max_docs=6, max_queries=None)
    assert len(small.corpus) == 6
    for relevant in small.qrels.values():
        assert set(relevant) <= set(small.corpus)
    assert list(small.queries) == ["q1", "q2"]  # q3 would overflow half the document budget
    assert compare.subset(_collection(), None, 1).queries == {"q1": "query q1"}


def test_table_has_one_row_per_system_and_mode() -> None:
    metrics = {"ndcg@10": 0.71234, "recall@100": 0.95, "mrr@10": 0.69}
    rows = [
        compare.SystemResult("citesearch", "hybrid", "ours", 812.0, [10.0, 20.0, 30.0], metrics),
        compare.SystemResult("txtai", "dense", "theirs", 900.5, [40.0], metrics),
    ]
    lines = compare.table(rows).splitlines()
    assert lines[0].split() == [
        "system",
        "mode",
        "build",
        "s",
        "p50",
        "ms",
        "p95",
        "ms",
        "nDCG@10",
        "R@100",
        "MRR@10",
    ]
    assert lines[2].split()[:5] == ["citesearch", "hybrid", "812.0", "20.0", "29.0"]
    assert lines[3].split()[:3] == ["txtai", "dense", "900.5"]
    assert "0.7123" in lines[2]
