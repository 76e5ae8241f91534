"""python -m bench.embed_bench stays runnable: every figure of one variant on a tiny collection,
its vectors compared with torch's (loaded as the reference although torch is not measured)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import embed_bench

pytestmark = pytest.mark.model


def test_embed_bench_reports_speed_and_cosine_to_torch(tiny_beir: Path, tmp_path: Path) -> None:
    out = tmp_path / "embed.json"
    argv = [
        "--dataset", str(tiny_beir),
        "--variant", "onnx-int8",
        "--queries", "4",
        "--passages", "4",
        "--passage-tokens", "30",
        "--batch", "2",
        "--query-batch", "1", "--query-batch", "2",
        "--build-docs", "3",
        "--json", str(out),
    ]  # fmt: skip
    assert embed_bench.main(argv) == 0

    results = json.loads(out.read_text())
    assert list(results) == ["onnx-int8"]  # torch was the reference only
    figures = results["onnx-int8"]
    assert figures["query_ms_p50"] > 0 and figures["passages_per_second"]["2"] > 0
    assert set(figures["query_ms_per_query_in_batch"]) == {"1", "2"}
    for kind in ("queries", "passages"):
        cosine = figures["cosine_to_torch"][kind]
        assert 0.95 < cosine["min"] <= cosine["p1"] <= cosine["mean"] < 1.0 + 1e-6
    assert figures["cosine_alone_vs_batched"]["min"] > 0.9999
    assert figures["build"]["chunks"] >= 3


def test_cosine_stats_of_identical_and_orthogonal_vectors() -> None:
    import numpy as np

    a = np.eye(4, dtype=np.float32)
    b = np.vstack([a[:3], a[[0]]])  # the last row differs from a's: cosine 0
    stats = embed_bench.cosine_stats(a, b)
    assert stats == {"mean": 0.75, "min": 0.0, "p1": pytest.approx(0.0, abs=0.03)}
