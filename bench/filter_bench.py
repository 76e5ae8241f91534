"""What a filter costs: search latency with and without filters of 1%, 10% and 50% of a BEIR corpus
(SciFact), through the query engine and over HTTP (``POST /v1/search``).

The corpus is written as Markdown files with a synthetic front matter field (``bucket: n % 100``), so
``bucket eq 7`` keeps 1% of the documents; it is indexed once into a work folder (kept for later
runs). Filters allowing few rows are searched exactly over their own vectors, larger ones through
FAISS's ID selector; ``--selector`` forces the selector for every filter, to compare. Run from the
repository root, under the heavy-job lock:

    flock /tmp/heavy.lock python -m bench.filter_bench --dataset /work/shared/bench/scifact
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import msgspec

from indexer.build import Builder
from indexer.config import MODES
from indexer.evaluation import Collection, document_file, document_text, load_beir
from indexer.search import EngineOptions, SearchEngine, Searcher
from indexer.search import selection as selection_module
from service.app import create_app
from service.settings import AppSettings, load_app_settings

REPO = Path(__file__).resolve().parents[1]
FILTERS: dict[str, dict[str, Any] | None] = {
    "none": None,
    "1%": {"type": "eq", "key": "bucket", "value": 7},
    "10%": {"type": "lt", "key": "bucket", "value": 10},
    "50%": {"type": "lt", "key": "bucket", "value": 50},
}


def write_seeds(collection: Collection, seeds: Path) -> None:
    """The corpus as Markdown with front matter (``bucket``), rewritten only when missing."""
    seeds.mkdir(parents=True, exist_ok=True)
    for n, (doc_id, (title, text)) in enumerate(collection.corpus.items()):
        path = seeds / document_file(doc_id).replace(".txt", ".md")
        if not path.exists():
            path.write_text(f"---\nbucket: {n % 100}\n---\n{document_text(title, text)}\n", encoding="utf-8")


def settings_for(workdir: Path) -> AppSettings:
    base = load_app_settings(REPO / "config.yaml", environ={})
    service = msgspec.structs.replace(base.service, query_cache_size=0, log_level="warning")
    observability = msgspec.structs.replace(base.observability, access_log=False)
    return msgspec.structs.replace(
        base,
        seeds_dir=workdir / "seeds",
        index_dir=workdir / "index",
        service=service,
        observability=observability,
    )


def percentiles(seconds: Sequence[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    return {
        "p50_ms": round(statistics.median(ms), 3),
        "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 3),
        "mean_ms": round(statistics.fmean(ms), 3),
    }


def engine_latency(searcher: Searcher, queries: Sequence[str], mode: str, top_k: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, spec in FILTERS.items():
        tree = searcher.parse_filters(spec) if spec is not None else None
        for query in queries[:10]:  # warm up: columns, caches
            searcher.search(query, top_k, mode, filters=tree)
        times, full = [], 0
        for query in queries:
            started = time.perf_counter()
            hits = searcher.search(query, top_k, mode, filters=tree)
            times.append(time.perf_counter() - started)
            full += len(hits) == top_k
        allowed = searcher.count(tree) if tree is not None else searcher.snapshot.index.ntotal
        out[name] = percentiles(times) | {"allowed_rows": allowed, "filled_top_k": full / len(queries)}
    return out


@contextlib.contextmanager
def serve(settings: AppSettings, searcher_engine: SearchEngine) -> Iterator[str]:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(settings, embedder=searcher_engine.embedder)
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def http_latency(base: str, queries: Sequence[str], mode: str, top_k: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with httpx.Client(base_url=base, timeout=60) as client:
        for name, spec in FILTERS.items():
            body: dict[str, Any] = {"top_k": top_k, "mode": mode}
            if spec is not None:
                body["filters"] = spec
            for query in queries[:10]:
                client.post("/v1/search", json={"query": query, **body}).raise_for_status()
            times = []
            for query in queries:
                started = time.perf_counter()
                client.post("/v1/search", json={"query": query, **body}).raise_for_status()
                times.append(time.perf_counter() - started)
            out[name] = percentiles(times)
    return out


def table(title: str, rows: dict[str, dict[str, Any]]) -> str:
    lines = [
        title,
        f"  {'filter':<7} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8} {'rows':>7} {'top_k filled':>13}",
    ]
    for name, row in rows.items():
        rows_allowed = f"{row['allowed_rows']:>7}" if "allowed_rows" in row else f"{'':>7}"
        filled = f"{row['filled_top_k']:>13.0%}" if "filled_top_k" in row else ""
        times = f"{row['p50_ms']:>8.2f} {row['p95_ms']:>8.2f} {row['mean_ms']:>8.2f}"
        lines.append(f"  {name:<7} {times} {rows_allowed} {filled}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.filter_bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--dataset", type=Path, required=True, help="a BEIR collection folder")
    parser.add_argument(
        "--workdir", type=Path, default=Path.home() / ".cache" / "citesearch" / "filter-bench"
    )
    parser.add_argument("--queries", type=int, default=300, help="queries per configuration (default 300)")
    parser.add_argument("--mode", default="hybrid", choices=MODES)
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument(
        "--selector", action="store_true", help="search every filter through FAISS's ID selector"
    )
    parser.add_argument("--no-http", action="store_true", help="measure the query engine only")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    # As python -m service does: FAISS then searches on one OpenMP thread in every thread (the
    # service searches in worker threads, where faiss.omp_set_num_threads in another thread does not
    # reach: on two cores the default of two threads doubled an unfiltered search's time).
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    collection = load_beir(args.dataset)
    workdir = args.workdir / collection.name
    write_seeds(collection, workdir / "seeds")
    settings = settings_for(workdir)
    report = Builder(settings, progress=sys.stderr.isatty()).build()
    print(f"index: {report.documents} documents, {report.chunks} chunks in {workdir}", file=sys.stderr)
    if args.selector:
        selection_module.EXACT_MAX = 0
    queries = list(collection.queries.values())[: args.queries]
    engine = SearchEngine(settings, options=EngineOptions(query_cache_size=0))
    searcher = engine.open_current()
    results: dict[str, Any] = {"queries": len(queries), "mode": args.mode, "top_k": args.top_k}
    try:
        results["engine"] = engine_latency(searcher, queries, args.mode, args.top_k)
        print(
            table(f"query engine, {args.mode}, top_k {args.top_k}, {len(queries)} queries", results["engine"])
        )
        if not args.no_http:
            with serve(settings, engine) as base:
                results["http"] = http_latency(base, queries, args.mode, args.top_k)
            print(table("POST /v1/search over HTTP (one client, keep-alive)", results["http"]))
    finally:
        searcher.close()
        engine.close()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
