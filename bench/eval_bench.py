"""Benchmark (not a test): full retrieval evaluation, indexing time and per-query latency per mode.

    flock /tmp/heavy.lock python -m bench.eval_bench --dataset ../shared/bench/scifact [--json out.json]

By default the collection is indexed from scratch in a temporary folder, so the indexing time is a
real cold build (loading the model, reading, chunking, embedding, FAISS, BM25, the store, publishing);
``--reuse`` uses the evaluation cache of ``python -m indexer eval`` instead. Latency is measured per
query through the query engine the service runs, with the model embedding each query (no
precomputed query vectors, no cache), one query at a time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench.common import CONFIG, describe_machine, machine, warn_unless_locked, write_json
from indexer.config import load_settings
from indexer.evaluation import METRICS, evaluate, load_beir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.eval_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dataset", type=Path, required=True, help="BEIR-format collection folder")
    parser.add_argument("--split", default="train")
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--reuse", action="store_true", help="reuse the eval cache instead of a cold build")
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    args = parser.parse_args(argv)
    warn_unless_locked()

    settings = load_settings(args.config, environ={})
    collection = load_beir(args.dataset, args.split)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="citesearch-bench-") as tmp:
        report = evaluate(
            collection,
            settings,
            split=args.split,
            workdir=None if args.reuse else Path(tmp),
            cache_queries=False,
            progress=sys.stderr.isatty(),
        )
    total = time.perf_counter() - started

    build = report.build
    print(
        f"collection   {collection.name} ({args.split}): {report.queries} queries, "
        f"{report.documents} documents"
    )
    print(f"machine      {describe_machine()}")
    print(f"model        {settings.model.name} ({settings.model.variant})")
    print(
        f"indexing     {build.seconds:.1f}s ({report.chunks} chunks; embedded {build.embedded_chunks}, "
        f"{'cold build' if not args.reuse else 'reused cache'})"
    )
    print()
    header = f"{'mode':<8} " + " ".join(f"{m:>10}" for m in METRICS) + "   p50 ms   p95 ms   p99 ms  total s"
    print(header)
    print("-" * len(header))
    for r in report.results:
        print(
            f"{r.mode:<8} "
            + " ".join(f"{r.metrics[m]:>10.4f}" for m in METRICS)
            + f" {r.latency(50):>8.1f} {r.latency(95):>8.1f} {r.latency(99):>8.1f} {r.seconds:>8.1f}"
        )
    print(f"\nfull run (indexing + all modes): {total:.1f}s")
    if args.json:
        data = report.to_json()
        data["full_run_seconds"] = round(total, 1)
        data["machine"] = machine()
        write_json(args.json, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
