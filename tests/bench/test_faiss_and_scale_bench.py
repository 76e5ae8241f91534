"""python -m bench.faiss_bench and python -m bench.scale_bench stay runnable (tiny sizes; no model)."""

from __future__ import annotations

import json
from pathlib import Path

from bench import faiss_bench, scale_bench


def test_faiss_bench_times_threads_and_blas_thresholds(tmp_path: Path) -> None:
    out = tmp_path / "faiss.json"
    argv = ["--vectors", "500", "--queries", "30", "--blas-vectors", "1000", "--batches", "1", "4",
            "--repeat", "2", "--json", str(out)]  # fmt: skip
    assert faiss_bench.main(argv) == 0

    figures = json.loads(out.read_text())
    (threads,) = figures["threads"]
    assert threads["vectors"] == 500 and threads["threads_1_ms"] > 0 and threads["threads_2_ms"] > 0
    assert [row["batch"] for row in figures["blas"]] == [1, 4]
    assert all(row["threshold_20_ms"] > 0 and row["threshold_1_ms"] > 0 for row in figures["blas"])


def test_scale_bench_measures_each_type_read_and_mapped(tmp_path: Path) -> None:
    out = tmp_path / "scale.json"
    argv = ["--sizes", "3000", "--types", "flat", "hnsw", "ivf", "--queries", "30", "--source", "synthetic",
            "--ef-search", "16", "64", "--workdir", str(tmp_path / "work"), "--json", str(out)]  # fmt: skip
    assert scale_bench.main(argv) == 0

    rows = json.loads(out.read_text())
    assert [row["type"] for row in rows] == ["flat", "hnsw"]  # ivf falls back to flat below 20,000
    flat, hnsw = rows
    assert flat["ram"]["variants"][0]["k10"]["recall10"] == 1.0  # exact search is its own truth
    assert [v["params"] for v in hnsw["mmap"]["variants"]] == [
        "M=32 efC=80 efSearch=16",
        "M=32 efC=80 efSearch=64",
    ]
    for row in rows:
        assert row["file_mb"] > 0 and row["ram"]["load_s"] >= 0 and row["mmap"]["rss_load_mb"] >= 0
