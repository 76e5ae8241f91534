"""FAISS search settings the service exposes, measured (not a test): ``service.faiss_threads`` and
``service.faiss_blas_threshold``.

    flock /tmp/heavy.lock python -m bench.faiss_bench

- **Threads**: one exact query (the product's flat index, k=100: the dense candidate depth) over
  random normalised 384-d vectors, timed with 1 FAISS thread and with 2 (``--threads``), median over
  ``--queries`` single queries after a warm-up, at each size of ``--vectors``.
- **BLAS threshold**: batches of queries (``--batches``) searched at once in an exact index of
  ``--blas-vectors`` vectors (k=100, 1 thread), with FAISS's default threshold (20: batches of at least
  20 queries use BLAS matrix products) and with 1 (every batch does); best of ``--repeat`` per batch,
  as milliseconds per query. The micro-batcher searches up to ``service.max_batch`` queries at once.

Both settings are process-wide (``indexer.snapshot.vectors.configure_search``, as the query engine
applies them).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import describe_machine, machine, warn_unless_locked, write_json
from indexer.embedding import Vectors
from indexer.snapshot.manifest import IndexInfo
from indexer.snapshot.vectors import VectorIndex, build_index, configure_search

DIM = 384
K = 100
DEFAULT_BLAS_THRESHOLD = 20


def random_vectors(count: int, seed: int) -> Vectors:
    vectors = np.random.default_rng(seed).standard_normal((count, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def flat_index(count: int) -> VectorIndex:
    return build_index(
        IndexInfo(type="flat", vectors=count, requested="flat"), random_vectors(count, seed=count)
    )


def single_query_ms(index: VectorIndex, queries: Vectors) -> float:
    """Median milliseconds of one query searched alone, after a warm-up."""
    for query in queries[:20]:
        index.search(query[None, :], K)
    times = []
    for query in queries:
        started = time.perf_counter()
        index.search(query[None, :], K)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def batch_ms_per_query(index: VectorIndex, queries: Vectors, batch: int, repeat: int) -> float:
    """Best of ``repeat`` searches of ``batch`` queries at once, in milliseconds per query."""
    chunk = queries[:batch]
    index.search(chunk, K)
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        index.search(chunk, K)
        best = min(best, time.perf_counter() - started)
    return best * 1000 / batch


def threads_table(sizes: list[int], threads: list[int], queries: Vectors) -> list[dict[str, Any]]:
    rows = []
    for size in sizes:
        index = flat_index(size)
        row: dict[str, Any] = {"vectors": size}
        for count in threads:
            configure_search(count, DEFAULT_BLAS_THRESHOLD)
            row[f"threads_{count}_ms"] = round(single_query_ms(index, queries), 3)
        rows.append(row)
        cells = "  ".join(f"{count} thread(s) {row[f'threads_{count}_ms']:7.3f} ms" for count in threads)
        print(f"{size:>9,} vectors, one query, k={K}: {cells}", flush=True)
    return rows


def blas_table(size: int, batches: list[int], repeat: int, queries: Vectors) -> list[dict[str, Any]]:
    index = flat_index(size)
    rows = []
    for batch in batches:
        row: dict[str, Any] = {"batch": batch}
        for threshold in (DEFAULT_BLAS_THRESHOLD, 1):
            configure_search(1, threshold)
            row[f"threshold_{threshold}_ms"] = round(batch_ms_per_query(index, queries, batch, repeat), 3)
        default, blas = row[f"threshold_{DEFAULT_BLAS_THRESHOLD}_ms"], row["threshold_1_ms"]
        row["change_percent"] = round((blas - default) / default * 100, 1)
        rows.append(row)
        print(
            f"{size:,} vectors, batch of {batch:>3}: threshold {DEFAULT_BLAS_THRESHOLD} {default:6.3f} ms "
            f"per query, threshold 1 {blas:6.3f} ms ({row['change_percent']:+.1f}%)",
            flush=True,
        )
    configure_search(1, DEFAULT_BLAS_THRESHOLD)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.faiss_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--vectors", type=int, nargs="+", default=[2_252, 11_813, 100_000])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--queries", type=int, default=200, help="single queries timed per setting")
    parser.add_argument("--blas-vectors", type=int, default=100_000)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 16, 32, 64])
    parser.add_argument("--repeat", type=int, default=7, help="best of this many per batch (default 7)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    warn_unless_locked()
    import faiss

    print(f"faiss {faiss.__version__}; {describe_machine()}")
    queries = random_vectors(max(args.queries, max(args.batches)), seed=0)
    results = {
        "machine": machine(),
        "threads": threads_table(args.vectors, args.threads, queries[: args.queries]),
        "blas": blas_table(args.blas_vectors, args.batches, args.repeat, queries),
    }
    if args.json:
        write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
