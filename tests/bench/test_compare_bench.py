"""bench/compare.py's own logic on tiny fake data, and a citesearch-only run (no txtai or Haystack needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench import compare
from bench.competitors import common
from indexer.evaluation import Collection


def _collection() -> Collection:
    corpus = {f"d{i}": (f"title {i}", f"text {i}") for i in range(10)}
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1, "d3": 1}, "q3": {"d9": 1}}
    return Collection("fake", corpus, {q: f"query {q}" for q in qrels}, qrels)


METRICS = {"ndcg@10": 0.71234, "recall@10": 0.9, "recall@100": 0.95, "mrr@10": 0.69}


def _result(
    system: str, mode: str, build: float, latencies: list[float], round_: int = 1
) -> compare.SystemResult:
    return compare.SystemResult(system, mode, "label", build, latencies, METRICS, round=round_)


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
    small = compare.subset(_collection(), max_docs=6, max_queries=2)
    assert list(small.queries) == ["q1", "q2"]
    assert len(small.corpus) == 6
    assert {"d1", "d2", "d3"} <= set(small.corpus) and "d9" not in small.corpus
    assert compare.subset(_collection(), None, 1).queries == {"q1": "query q1"}
    assert len(compare.subset(_collection(), 2, 3).corpus) == 4  # never fewer than the judged documents


def test_table_has_one_row_per_system_and_mode_with_the_spread_over_rounds() -> None:
    rows = [
        _result("citesearch", "hybrid", 812.0, [10.0, 20.0, 30.0], round_=1),
        _result("txtai", "dense", 900.5, [40.0]),
        _result("citesearch", "hybrid", 820.4, [12.0, 22.0, 32.0], round_=2),
    ]
    lines = compare.table(rows).splitlines()
    assert lines[0].split()[:6] == ["system", "mode", "runs", "build", "s", "p50"]
    assert lines[2].split()[:5] == ["citesearch", "hybrid", "2", "812.0-820.4", "20.0-22.0"]
    assert lines[2].split()[6] == "0.7123"  # the same in both rounds: one value
    assert lines[3].split()[:4] == ["txtai", "dense", "1", "900.5"]


def test_ahead_only_where_the_ranges_do_not_overlap() -> None:
    assert compare.verdict([10, 11], [12, 14], higher_is_better=False) == "ahead"
    assert compare.verdict([10, 13], [12, 14], higher_is_better=False) == "within spread"
    assert compare.verdict([15, 16], [12, 14], higher_is_better=False) == "behind"
    assert compare.verdict([0.72, 0.72], [0.70, 0.71], higher_is_better=True) == "ahead"
    assert compare.verdict([10], [20], higher_is_better=False) == "one run"


def test_verdicts_compare_citesearch_with_each_competitor_per_mode_and_figure() -> None:
    collection = _collection()
    run = {"q1": {"d1": 1.0}, "q2": {"d2": 0.9, "d3": 0.8}, "q3": {"d9": 0.7}}
    results = []
    for round_, (ours, theirs) in enumerate([(10.0, 30.0), (12.0, 31.0)], start=1):
        for system, latency in (("citesearch", ours), ("txtai", theirs)):
            result = _result(system, "dense", 100.0 + round_, [latency] * 3, round_)
            result.run = run
            results.append(result)
    found = {(v["versus"], v["figure"]): v for v in compare.verdicts(results, collection)}
    assert found[("txtai", "p50_ms")]["verdict"] == "ahead"
    assert found[("txtai", "p50_ms")]["margin"] == -19.5
    assert found[("txtai", "build_s")]["verdict"] == "within spread"  # the same builds: ranges overlap
    # Identical runs: no quality difference, whatever the (zero) spread says.
    assert found[("txtai", "ndcg@10")]["p_value"] == 1.0
    assert found[("txtai", "ndcg@10")]["verdict"] == "within spread"


def test_paired_randomisation_test_tells_a_consistent_gain_from_noise() -> None:
    rng = np.random.default_rng(1)
    base = rng.uniform(0.2, 0.8, 200)
    assert compare.paired_p_value(base + 0.05, base) < 0.001
    mixed = np.tile([0.1, -0.1, 0.1, -0.09], 50)  # a mean gain of 0.0025 with swings of 0.1
    assert compare.paired_p_value(base + mixed, base) > 0.5


@pytest.mark.model
def test_citesearch_alone_runs_twice_and_reports_its_spread(tiny_beir: Path, tmp_path: Path) -> None:
    out = tmp_path / "compare.json"
    argv = ["--dataset", str(tiny_beir), "--systems", "citesearch", "--repeat", "2",
            "--workdir", str(tmp_path / "work"), "--json", str(out)]  # fmt: skip
    assert compare.main(argv) == 0

    data = json.loads(out.read_text())
    assert data["rounds"] == 2 and data["documents"] == 8 and data["queries"] == 4
    rows = data["results"]
    assert sorted((r["round"], r["mode"]) for r in rows) == [
        (round_, mode) for round_ in (1, 2) for mode in ("dense", "hybrid", "lexical")
    ]
    assert data["verdicts"] == []  # nothing to compare with
    for mode in ("dense", "lexical", "hybrid"):
        first, second = (r for r in rows if r["mode"] == mode)
        assert first["ndcg@10"] == second["ndcg@10"]  # deterministic: only timings move
