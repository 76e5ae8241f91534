"""python -m bench.eval_bench and python -m bench.tune stay runnable on a tiny collection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import eval_bench, tune

pytestmark = pytest.mark.model


def test_eval_bench_reports_a_cold_build_and_every_mode(
    tiny_beir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "eval.json"
    assert eval_bench.main(["--dataset", str(tiny_beir), "--json", str(out)]) == 0
    assert "indexing" in capsys.readouterr().out

    report = json.loads(out.read_text())
    assert report["documents"] == 8 and report["queries"] == 4
    assert report["build"]["embedded_chunks"] == report["chunks"] > 0
    assert set(report["results"]) == {"dense", "lexical", "hybrid"}
    for figures in report["results"].values():
        assert 0 < figures["ndcg@10"] <= 1 and figures["latency_ms"]["p50"] > 0


def test_tune_scores_each_variant_through_the_engine(
    tiny_beir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "--dataset", str(tiny_beir),
        "--workdir", str(tmp_path / "work"),
        "--retrieval", '[{"dense_weight": 0.0}, {"dense_weight": 1.0}, {"fusion": "rrf"}]',
        "--lexical", '[{}, {"stemmer": "none"}]',
    ]  # fmt: skip
    assert tune.main(argv) == 0

    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert len(lines) == 6  # 2 lexical variants x 3 retrieval variants
    variants = [json.loads(line.split("  ")[0]) for line in lines]
    assert variants[0] == {"mode": "hybrid", "dense_weight": 0.0}
    assert variants[-1] == {"mode": "hybrid", "stemmer": "none", "fusion": "rrf"}
    assert all("ndcg@10=" in line for line in lines)


def test_tune_refuses_overrides_that_are_not_a_list_of_objects() -> None:
    with pytest.raises(SystemExit, match="expected a JSON list"):
        tune.overrides('{"k1": 1.2}', "--lexical")
