"""Load benchmark: the real service on 127.0.0.1, driven from a separate process at fixed concurrencies.

    python bench/load_bench.py                                   # the repository's seeds
    python bench/load_bench.py --beir ../shared/bench/scifact --docs 1000   # a SciFact slice

It builds an index in a temporary folder (``python -m indexer build``; or reuses ``--index-dir``),
measures the bare time of one search in-process on that index (model call + retrieval, no HTTP, no
batching: the floor for a lone request; timed before and after the load, ratios use the mean),
starts ``python -m service`` on a free port, waits for ``/ready``, then for each concurrency
(default 1, 8, 16, 32) runs a load client in its own process that keeps that many searches in flight
until ``--duration`` seconds pass or ``--requests`` requests are sent, whichever comes first. It
reports requests/s, p50/p95/p99 latency, errors (any non-200 or transport error), the service's own
mean request, search and model-call times (from its ``/metrics``, so client overhead can be told
apart), the server's resident memory after warm-up and after each level (VmRSS) and its peak
(VmHWM), as a table and optionally as JSON. The query embedding cache is off unless
``--query-cache`` says otherwise, so every request costs a model call. Bounded in time and
requests; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SEED_QUESTIONS = [
    "What did the Secretary General call the war against Ukraine an example of?",
    "Which ministers met at NATO?",
    "What did Marco Rubio say about NATO spending?",
    "Why does the alliance need to invest more in defence?",
    "Who is the NATO Secretary General?",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_beir_slice(beir: Path, docs: int, seeds: Path) -> list[str]:
    """The first ``docs`` documents of a BEIR corpus as text files; its queries as questions."""
    seeds.mkdir(parents=True)
    with (beir / "corpus.jsonl").open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i >= docs:
                break
            doc = json.loads(line)
            name = "".join(c if c.isalnum() else "_" for c in str(doc["_id"]))
            text = f"# {doc.get('title') or name}\n\n{doc['text']}\n"
            (seeds / f"{name}.md").write_text(text, encoding="utf-8")
    return read_questions(beir)


def read_questions(beir: Path) -> list[str]:
    with (beir / "queries.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh]


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """The process's resident set size now (``VmRSS``) or its peak so far (``VmHWM``), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb(pid: int) -> float:
    return rss_mb(pid, "VmHWM")


def bare_search(questions: list[str], count: int, warmup: int) -> dict[str, Any]:
    """In this process (run it in a fresh one, with the service's environment): the time of one
    search with no HTTP and no batching, over ``count`` questions after ``warmup``. ``search_ms``:
    the whole retrieval as a lone request does it (embed, vector and lexical search, fusion,
    hydration); ``embed_ms``: the model call alone; ``vector_ms``: the vector index search alone."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # as python -m service does
    sys.path.insert(0, str(REPO))
    from service.resources import Resources

    from indexer.config import load_settings
    from indexer.snapshot.vectors import configure_search

    settings = load_settings()
    configure_search(settings.service.faiss_threads, settings.service.faiss_blas_threshold)
    resources = Resources.load(settings)
    retriever = resources.retriever
    times: dict[str, list[float]] = {"search_ms": [], "embed_ms": [], "vector_ms": []}
    for i in range(warmup + count):
        question = questions[i % len(questions)]
        started = time.perf_counter()
        resources.search(question, 5)
        searched = time.perf_counter()
        vector = resources.embedder.embed([question])
        embedded = time.perf_counter()
        retriever.dense_starts(vector, [retriever.depth(5)])
        done = time.perf_counter()
        if i >= warmup:
            times["search_ms"].append(searched - started)
            times["embed_ms"].append(embedded - searched)
            times["vector_ms"].append(done - embedded)
    resources.close()
    return {key: round(statistics.median(values) * 1000, 2) for key, values in times.items()}


Totals = dict[str, tuple[float, float]]


def server_seconds(base_url: str) -> Totals:
    """The service's own totals from ``/metrics``, as (sum of seconds, count): successful
    ``POST /v1/search`` requests as the server timed them, the searches in them, the model calls."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    wanted = {
        "citesearch_http_request_duration_seconds": "request",
        "citesearch_search_seconds": "search",
        "citesearch_embedding_seconds": "model",
    }
    totals = {name: [0.0, 0.0] for name in wanted.values()}
    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        name = wanted.get(family.name)
        if name is None:
            continue
        for sample in family.samples:
            if name == "request" and (
                sample.labels.get("route") != "/v1/search" or sample.labels.get("status") != "200"
            ):
                continue
            if sample.name.endswith("_sum"):
                totals[name][0] += sample.value
            elif sample.name.endswith("_count"):
                totals[name][1] += sample.value
    return {name: (total, count) for name, (total, count) in totals.items()}


def mean_ms(before: Totals, after: Totals, name: str) -> float:
    seconds = after[name][0] - before[name][0]
    count = after[name][1] - before[name][1]
    return round(seconds / count * 1000, 2) if count else float("nan")


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


# -- the load client (runs in its own process) ------------------------------------------------


async def _drive(
    base_url: str, questions: list[str], concurrency: int, duration: float, limit: int
) -> dict[str, Any]:
    # aiohttp, not httpx: on this 2-CPU machine the client shares the CPUs with the server, and httpx
    # spent ~1-2 ms of CPU per request (measured at concurrency 1 against a raw-socket client), which
    # the server's latency figures would otherwise carry.
    import aiohttp

    latencies: list[float] = []
    errors: dict[str, int] = {}
    sent = 0
    deadline = time.perf_counter() + duration
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)

    async with aiohttp.ClientSession(base_url, connector=connector, timeout=timeout) as client:

        async def worker() -> None:
            nonlocal sent
            while sent < limit and time.perf_counter() < deadline:
                question = questions[sent % len(questions)]
                sent += 1
                started = time.perf_counter()
                try:
                    async with client.post("/v1/search", json={"query": question, "top_k": 5}) as response:
                        await response.read()
                        ok = response.status == 200
                        key = str(response.status)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    ok, key = False, type(exc).__name__
                if ok:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors[key] = errors.get(key, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {"latencies": latencies, "errors": errors, "elapsed": elapsed}


def _client_process(
    base_url: str, questions: list[str], concurrency: int, duration: float, limit: int, out: Any
) -> None:
    out.put(asyncio.run(_drive(base_url, questions, concurrency, duration, limit)))


def run_level(
    base_url: str, questions: list[str], concurrency: int, duration: float, limit: int, server_pid: int
) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    args = (base_url, questions, concurrency, duration, limit, queue)
    before = server_seconds(base_url)
    proc = ctx.Process(target=_client_process, args=args)
    proc.start()
    raw = queue.get(timeout=duration + 300)
    proc.join(timeout=60)
    after = server_seconds(base_url)
    latencies = sorted(raw["latencies"])
    ok = len(latencies)
    error_count = sum(raw["errors"].values())
    return {
        "concurrency": concurrency,
        "requests": ok + error_count,
        "seconds": round(raw["elapsed"], 2),
        "rps": round((ok + error_count) / raw["elapsed"], 1) if raw["elapsed"] else 0.0,
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 95) * 1000, 1),
        "p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else float("nan"),
        "server_mean_ms": mean_ms(before, after, "request"),
        "search_mean_ms": mean_ms(before, after, "search"),
        "model_mean_ms": mean_ms(before, after, "model"),
        "errors": error_count,
        "error_kinds": raw["errors"],
        "server_rss_mb": round(rss_mb(server_pid), 1),
        "server_peak_rss_mb": round(peak_rss_mb(server_pid), 1),
    }


# -- orchestration ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--beir", type=Path, help="a BEIR folder (corpus.jsonl, queries.jsonl) to index")
    parser.add_argument("--docs", type=int, default=1000, help="documents taken from --beir (default 1000)")
    parser.add_argument(
        "--concurrency", default="1,8,16,32", help="comma-separated levels (default 1,8,16,32)"
    )
    parser.add_argument("--duration", type=float, default=15, help="seconds per level (default 15)")
    parser.add_argument("--requests", type=int, default=3000, help="at most this many per level")
    parser.add_argument("--warmup", type=int, default=20, help="requests sent before measuring (default 20)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--index-dir",
        type=Path,
        help="keep the index here and reuse it when it is already built (default: a temporary folder)",
    )
    parser.add_argument(
        "--query-cache", type=int, default=0, help="service.query_cache_size for the run (default 0: off)"
    )
    parser.add_argument("--bare", type=int, default=200, help="questions timed in-process (default 200)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION__KEY=VALUE",
        help="a config override for the build and the service, e.g. model__variant=onnx-fp32 (repeatable)",
    )
    parser.add_argument("--bare-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    levels = [int(c) for c in args.concurrency.split(",")]
    if args.bare_only:  # the child process started below
        questions = read_questions(args.beir) if args.beir else SEED_QUESTIONS
        print(json.dumps(bare_search(questions, args.bare, args.warmup)))
        return 0

    with tempfile.TemporaryDirectory(prefix="citesearch-load-") as tmp:
        root = Path(tmp)
        if args.beir:
            questions = write_beir_slice(args.beir, args.docs, root / "seeds")
            seeds = root / "seeds"
        else:
            questions, seeds = SEED_QUESTIONS, REPO / "seeds"
        index_dir = args.index_dir.resolve() if args.index_dir else root / "index"
        env = {
            **os.environ,
            "CITESEARCH_CONFIG": str(REPO / "config.yaml"),
            "CITESEARCH__SEEDS_DIR": str(seeds),
            "CITESEARCH__INDEX_DIR": str(index_dir),
            "CITESEARCH__SERVICE__RATE_LIMIT": "0",
            "CITESEARCH__SERVICE__QUERY_CACHE_SIZE": str(args.query_cache),
        }
        for override in args.set:
            key, _, value = override.partition("=")
            env[f"CITESEARCH__{key.upper()}"] = value
        started = time.perf_counter()
        if not (index_dir / "current").exists():
            subprocess.run(
                [sys.executable, "-m", "indexer", "build", "--no-progress"],
                cwd=REPO,
                env=env,
                check=True,
                timeout=3600,
            )
        build_seconds = time.perf_counter() - started
        bare_args = [sys.executable, str(Path(__file__).resolve()), "--bare-only", "--bare", str(args.bare)]
        bare_args += ["--warmup", str(args.warmup)] + (["--beir", str(args.beir)] if args.beir else [])

        def measure_bare() -> dict[str, float]:
            done = subprocess.run(
                bare_args, cwd=REPO, env=env, check=True, timeout=1800, capture_output=True, text=True
            )
            return dict(json.loads(done.stdout.splitlines()[-1]))

        # Timed before the service starts and again after it stops: this shared machine's speed drifts
        # by 10-20% over minutes, and the ratios below use the mean of the two.
        bare_before = measure_bare()
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        log = (root / "service.log").open("wb")
        server = subprocess.Popen(
            [sys.executable, "-m", "service", "--port", str(port)], cwd=REPO, env=env, stdout=log, stderr=log
        )
        try:
            import httpx

            deadline = time.monotonic() + 180
            while True:
                assert server.poll() is None, (root / "service.log").read_text()[-2000:]
                try:
                    ready = httpx.get(f"{base_url}/ready", timeout=2)
                    if ready.status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "the service did not become ready"
                time.sleep(0.2)
            snapshot = ready.json()["snapshot"]
            for question in (questions * args.warmup)[: args.warmup]:
                httpx.post(f"{base_url}/v1/search", json={"query": question}, timeout=60)
            rss_start = round(rss_mb(server.pid), 1)
            results = [
                run_level(base_url, questions, level, args.duration, args.requests, server.pid)
                for level in levels
            ]
        finally:
            server.terminate()
            server.wait(timeout=60)
            log.close()
        bare_after = measure_bare()
        bare = {key: round((bare_before[key] + bare_after[key]) / 2, 2) for key in bare_before}

    print(
        f"index: {snapshot['documents']} documents, {snapshot['chunks']} chunks "
        f"(built in {build_seconds:.0f} s); {os.cpu_count()} CPUs; default search mode; top_k 5; "
        f"query cache {args.query_cache}; overrides: {' '.join(args.set) or 'none'}"
    )
    for label, figures in (("before the load", bare_before), ("after it", bare_after), ("mean", bare)):
        print(
            f"bare, in-process, median of {args.bare}, {label}: one search {figures['search_ms']} ms "
            f"(model call {figures['embed_ms']} ms, vector search {figures['vector_ms']} ms)"
        )
    print(f"server RSS after warm-up: {rss_start} MiB")
    header = f"{'concurrency':>11} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
    header += f"{'server ms':>9} {'search ms':>9} {'model ms':>8} "
    print(header + f"{'errors':>6} {'RSS MiB':>8} {'peak RSS MiB':>12}")
    for r in results:
        print(
            f"{r['concurrency']:>11} {r['requests']:>8} {r['rps']:>7} {r['p50_ms']:>7} {r['p95_ms']:>7} "
            f"{r['p99_ms']:>7} {r['server_mean_ms']:>9} {r['search_mean_ms']:>9} {r['model_mean_ms']:>8} "
            f"{r['errors']:>6} {r['server_rss_mb']:>8} {r['server_peak_rss_mb']:>12}"
        )
    print(
        "server ms: the mean time the service measured per request (from its /metrics); search ms: the "
        "mean search inside it (a wait for the batch included); model ms: the mean model call (one per batch)"
    )
    by_level = {r["concurrency"]: r for r in results}
    if 1 in by_level:
        print(f"p50 at concurrency 1 / mean bare search: {by_level[1]['p50_ms'] / bare['search_ms']:.2f}x")
        if 16 in by_level and by_level[1]["rps"]:
            print(f"req/s at concurrency 16 / at 1: {by_level[16]['rps'] / by_level[1]['rps']:.2f}x")
    if args.json:
        report = {
            "snapshot": snapshot,
            "bare": bare,
            "bare_before": bare_before,
            "bare_after": bare_after,
            "rss_start_mb": rss_start,
            "levels": results,
        }
        args.json.write_text(json.dumps(report, indent=2))
    return 1 if any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
