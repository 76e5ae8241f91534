"""Load benchmark: the real service on 127.0.0.1, driven from a separate process at fixed concurrencies.

    python -m bench.load_bench                                                # the repository's seeds
    python -m bench.load_bench --beir ../shared/bench/scifact --docs 1000      # a SciFact slice

It builds an index in a temporary folder (``python -m indexer build``; or reuses ``--index-dir``),
measures the bare time of one search in-process on that index (the query engine with no HTTP and no
batching: the floor for a lone request; timed before and after the load, ratios use the mean),
starts ``python -m service`` on a free port, waits for ``/ready``, then for each concurrency
(default 1, 8, 16, 32) runs a load client in its own process that keeps that many searches in flight
until ``--duration`` seconds pass or ``--requests`` requests are sent, whichever comes first.

For each level it reports requests/s, p50/p95/p99 latency, errors (any non-200 or transport error),
the service's own mean request, search and model-call times and queries per model call (from its
``/metrics``, so client overhead can be told apart), the CPU time the server process used
(``/proc/<pid>/stat``) and how busy the whole machine was (``/proc/stat``, the load client
included) over the level, as cores and as CPU milliseconds per request, and the server's resident
memory after the level (VmRSS) and its peak (VmHWM); as a table and optionally as JSON. The query
embedding cache is off unless ``--query-cache`` says otherwise, so every request costs a model call.
Bounded in time and requests; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench.common import (
    CONFIG,
    REPO,
    describe_machine,
    first_documents,
    free_port,
    machine,
    rss_mib,
    warn_unless_locked,
    write_json,
)
from indexer.evaluation import load_beir, write_corpus

SEED_QUESTIONS = [
    "What did the Secretary General call the war against Ukraine an example of?",
    "Which ministers met at NATO?",
    "What did Marco Rubio say about NATO spending?",
    "Why does the alliance need to invest more in defence?",
    "Who is the NATO Secretary General?",
]
TOP_K = 5
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = math.ceil(q / 100 * len(sorted_values))  # the smallest value with q% of them at or below it
    return sorted_values[min(len(sorted_values), max(1, rank)) - 1]


# -- CPU time from /proc ------------------------------------------------------------------------


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` so far, all its threads (``/proc/<pid>/stat``)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # fields after the command name, from state on
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14 and 15)


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, accounted) CPU time of the whole machine so far, summed over its CPUs (``/proc/stat``):
    time not idle, and all time the kernel accounted (busy, idle and waiting for I/O)."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = values
    busy = user + nice + system + irq + softirq + steal
    return busy / CLOCK_TICKS, (busy + idle + iowait) / CLOCK_TICKS


def cpu_sample(server_pid: int) -> tuple[float, float, float]:
    """The server process's CPU time, and the machine's busy and accounted CPU time."""
    return (process_cpu_seconds(server_pid), *machine_cpu_seconds())


def busy_cores(before: Sequence[float], after: Sequence[float]) -> float:
    """How many of the machine's CPUs were busy between two :func:`cpu_sample` readings: the busy
    share of the time ``/proc/stat`` accounted, times the CPUs. (In a virtual machine the kernel's
    tick-based totals miss some of the wall-clock time; the share is what they do say.)"""
    accounted = after[2] - before[2]
    return (after[1] - before[1]) / accounted * (os.cpu_count() or 1) if accounted > 0 else float("nan")


# -- the bare search (in a fresh process) -------------------------------------------------------


def bare_search(questions: list[str], count: int, warmup: int) -> dict[str, float]:
    """In this process (run it in a fresh one, with the service's environment): the time of one
    search with no HTTP and no batching, over ``count`` questions after ``warmup``. ``search_ms``:
    the whole search as a lone request does it (embed, vector and lexical search, fusion,
    hydration); ``embed_ms``: the model call alone; ``vector_ms``: the vector index search alone, at
    the depth of the dense candidate list (``retrieval.candidates``)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # as python -m service does
    from indexer.search import SearchEngine
    from service.settings import load_app_settings

    settings = load_app_settings()
    engine = SearchEngine(settings, options=settings.service)
    searcher = engine.open_current(verify=False)
    depth = max(TOP_K, settings.retrieval.candidates)
    times: dict[str, list[float]] = {"search_ms": [], "embed_ms": [], "vector_ms": []}
    for i in range(warmup + count):
        question = questions[i % len(questions)]
        started = time.perf_counter()
        searcher.search(question, TOP_K)
        searched = time.perf_counter()
        vector = engine.embedder.embed([question])
        embedded = time.perf_counter()
        searcher.snapshot.index.search(vector, depth)
        done = time.perf_counter()
        if i >= warmup:
            times["search_ms"].append(searched - started)
            times["embed_ms"].append(embedded - searched)
            times["vector_ms"].append(done - embedded)
    searcher.close()
    engine.close()
    return {key: round(statistics.median(values) * 1000, 2) for key, values in times.items()}


# -- the service's own figures ------------------------------------------------------------------

Totals = dict[str, tuple[float, float]]
METRICS = {
    "citesearch_http_request_duration_seconds": "request",
    "citesearch_search_seconds": "search",
    "citesearch_embedding_seconds": "model",
    "citesearch_query_batch_size": "batch",
}


def server_totals(base_url: str) -> Totals:
    """The service's own totals from ``/metrics``, as (sum, count): successful ``POST /v1/search``
    requests as the server timed them, the searches in them, the model calls, and the queries per
    model call."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    totals = {name: [0.0, 0.0] for name in METRICS.values()}
    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        name = METRICS.get(family.name)
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


def mean_between(before: Totals, after: Totals, name: str, scale: float = 1000) -> float:
    total = after[name][0] - before[name][0]
    count = after[name][1] - before[name][1]
    return round(total / count * scale, 2) if count else float("nan")


# -- the load client (runs in its own process) --------------------------------------------------


async def _drive(
    base_url: str, questions: list[str], concurrency: int, duration: float, limit: int, server_pid: int
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
                    body = {"query": question, "top_k": TOP_K}
                    async with client.post("/v1/search", json=body) as response:
                        await response.read()
                        ok = response.status == 200
                        key = str(response.status)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    ok, key = False, type(exc).__name__
                if ok:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors[key] = errors.get(key, 0) + 1

        # The CPU window is the load itself: sampled here, not around the client process's start.
        cpu_before = cpu_sample(server_pid)
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        cpu_after = cpu_sample(server_pid)
    return {
        "latencies": latencies,
        "errors": errors,
        "elapsed": elapsed,
        "server_cpu_s": cpu_after[0] - cpu_before[0],
        "machine_busy_cores": busy_cores(cpu_before, cpu_after),
    }


def _client_process(
    base_url: str,
    questions: list[str],
    concurrency: int,
    duration: float,
    limit: int,
    server_pid: int,
    out: Any,
) -> None:
    out.put(asyncio.run(_drive(base_url, questions, concurrency, duration, limit, server_pid)))


def run_level(
    base_url: str, questions: list[str], concurrency: int, duration: float, limit: int, server_pid: int
) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    queue: Any = ctx.Queue()
    args = (base_url, questions, concurrency, duration, limit, server_pid, queue)
    before = server_totals(base_url)
    proc = ctx.Process(target=_client_process, args=args)
    proc.start()
    raw = queue.get(timeout=duration + 300)
    proc.join(timeout=60)
    after = server_totals(base_url)
    latencies = sorted(raw["latencies"])
    errors = sum(raw["errors"].values())
    requests = len(latencies) + errors
    elapsed = raw["elapsed"]
    busy = raw["machine_busy_cores"]
    return {
        "concurrency": concurrency,
        "requests": requests,
        "seconds": round(elapsed, 2),
        "rps": round(requests / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 95) * 1000, 1),
        "p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else float("nan"),
        "server_mean_ms": mean_between(before, after, "request"),
        "search_mean_ms": mean_between(before, after, "search"),
        "model_mean_ms": mean_between(before, after, "model"),
        "queries_per_batch": mean_between(before, after, "batch", scale=1),
        "server_cpu_cores": round(raw["server_cpu_s"] / elapsed, 2) if elapsed else float("nan"),
        "machine_busy_cores": round(busy, 2),
        "server_cpu_ms_per_request": round(raw["server_cpu_s"] * 1000 / requests, 2) if requests else 0.0,
        "machine_cpu_ms_per_request": round(busy * elapsed * 1000 / requests, 2) if requests else 0.0,
        "errors": errors,
        "error_kinds": raw["errors"],
        "server_rss_mb": round(rss_mib(server_pid), 1),
        "server_peak_rss_mb": round(rss_mib(server_pid, "VmHWM"), 1),
    }


# -- orchestration ------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--beir", type=Path, help="a BEIR folder (corpus.jsonl, queries.jsonl) to index")
    parser.add_argument("--docs", type=int, default=1000, help="documents taken from --beir (default 1000)")
    parser.add_argument(
        "--seeds", type=Path, default=REPO / "seeds", help="the documents to index (default: seeds/)"
    )
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
    return parser


def questions_of(beir: Path | None) -> list[str]:
    return list(load_beir(beir).queries.values()) if beir else SEED_QUESTIONS


def service_env(
    seeds: Path, index_dir: Path, query_cache: int, overrides: list[str], config: Path = CONFIG
) -> dict[str, str]:
    env = {
        **os.environ,
        "CITESEARCH_CONFIG": str(config),
        "CITESEARCH__SEEDS_DIR": str(seeds),
        "CITESEARCH__INDEX_DIR": str(index_dir),
        "CITESEARCH__SERVICE__RATE_LIMIT": "0",
        "CITESEARCH__SERVICE__QUERY_CACHE_SIZE": str(query_cache),
    }
    for override in overrides:
        key, _, value = override.partition("=")
        env[f"CITESEARCH__{key.upper()}"] = value
    return env


def wait_ready(server: subprocess.Popen[bytes], base_url: str, log: Path) -> dict[str, Any]:
    """The snapshot ``/ready`` reports once the service serves one."""
    import httpx

    deadline = time.monotonic() + 180
    while True:
        if server.poll() is not None:
            raise SystemExit(f"the service exited:\n{log.read_text()[-2000:]}")
        try:
            ready = httpx.get(f"{base_url}/ready", timeout=2)
            if ready.status_code == 200:
                body: dict[str, Any] = ready.json()
                snapshot: dict[str, Any] = body.get("snapshot", body)  # older releases: not nested
                return snapshot
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("the service did not become ready within 180 s")
        time.sleep(0.2)


@contextlib.contextmanager
def running_service(
    env: dict[str, str], log: Path, checkout: Path = REPO, python: str = sys.executable
) -> Iterator[tuple[subprocess.Popen[bytes], str, dict[str, Any]]]:
    """``python -m service`` of ``checkout`` on a free port of 127.0.0.1, its output in ``log``, once
    it is ready: (the process, its base URL, ``/ready``'s snapshot); stopped in any case."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [python, "-m", "service", "--port", str(port)], cwd=checkout, env=env, stdout=out, stderr=out
        )
        try:
            yield server, base_url, wait_ready(server, base_url, log)
        finally:
            server.terminate()
            server.wait(timeout=60)


def serve_and_load(
    args: argparse.Namespace,
    env: dict[str, str],
    questions: list[str],
    log: Path,
    checkout: Path = REPO,
    python: str = sys.executable,
) -> dict[str, Any]:
    """Start the service (``python -m service`` in ``checkout``), warm it up, run every level; the
    service is stopped in any case."""
    import httpx

    levels = [int(c) for c in args.concurrency.split(",")]
    with running_service(env, log, checkout, python) as (server, base_url, snapshot):
        for question in (questions * args.warmup)[: args.warmup]:
            httpx.post(f"{base_url}/v1/search", json={"query": question}, timeout=60)
        rss_start = round(rss_mib(server.pid), 1)
        results = [
            run_level(base_url, questions, level, args.duration, args.requests, server.pid)
            for level in levels
        ]
    return {"snapshot": snapshot, "rss_start_mb": rss_start, "levels": results}


def measure_bare(args: argparse.Namespace, env: dict[str, str]) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.load_bench", "--bare-only", "--bare", str(args.bare)]
    command += ["--warmup", str(args.warmup)] + (["--beir", str(args.beir)] if args.beir else [])
    done = subprocess.run(
        command, cwd=REPO, env=env, check=True, timeout=1800, capture_output=True, text=True
    )
    figures: dict[str, float] = json.loads(done.stdout.splitlines()[-1])
    return figures


def report(args: argparse.Namespace, run: dict[str, Any]) -> None:
    snapshot = run["snapshot"]
    print(
        f"index: {snapshot['documents']} documents, {snapshot['chunks']} chunks "
        f"(built in {run['build_seconds']:.0f} s); {describe_machine()}; default search mode; "
        f"top_k {TOP_K}; query cache {args.query_cache}; overrides: {' '.join(args.set) or 'none'}"
    )
    for label, key in (("before the load", "bare_before"), ("after it", "bare_after"), ("mean", "bare")):
        figures = run[key]
        print(
            f"bare, in-process, median of {args.bare}, {label}: one search {figures['search_ms']} ms "
            f"(model call {figures['embed_ms']} ms, vector search {figures['vector_ms']} ms)"
        )
    print(f"server RSS after warm-up: {run['rss_start_mb']} MiB")
    columns = [
        ("concurrency", "concurrency", 11),
        ("requests", "requests", 8),
        ("req/s", "rps", 7),
        ("p50 ms", "p50_ms", 7),
        ("p95 ms", "p95_ms", 7),
        ("p99 ms", "p99_ms", 7),
        ("server ms", "server_mean_ms", 9),
        ("search ms", "search_mean_ms", 9),
        ("model ms", "model_mean_ms", 8),
        ("q/batch", "queries_per_batch", 7),
        ("server CPU", "server_cpu_cores", 10),
        ("busy", "machine_busy_cores", 5),
        ("CPU ms/req", "server_cpu_ms_per_request", 10),
        ("busy ms/req", "machine_cpu_ms_per_request", 11),
        ("errors", "errors", 6),
        ("RSS MiB", "server_rss_mb", 8),
        ("peak MiB", "server_peak_rss_mb", 8),
    ]
    print(" ".join(f"{title:>{width}}" for title, _, width in columns))
    for level in run["levels"]:
        print(" ".join(f"{level[key]!s:>{width}}" for _, key, width in columns))
    print(
        "server ms: mean request time the service measured (its /metrics); search ms: the mean search "
        "inside it (a wait for the batch included); model ms: the mean model call (one per batch); "
        "q/batch: queries per model call; server CPU: cores the server process used; busy: cores the "
        "machine used (load client included); CPU ms/req and busy ms/req: the same per request"
    )
    by_level = {level["concurrency"]: level for level in run["levels"]}
    if 1 in by_level:
        ratio = by_level[1]["p50_ms"] / run["bare"]["search_ms"]
        print(f"p50 at concurrency 1 / mean bare search: {ratio:.2f}x")
        if 16 in by_level and by_level[1]["rps"]:
            print(f"req/s at concurrency 16 / at 1: {by_level[16]['rps'] / by_level[1]['rps']:.2f}x")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.bare_only:  # the child process measure_bare starts
        print(json.dumps(bare_search(questions_of(args.beir), args.bare, args.warmup)))
        return 0
    warn_unless_locked()
    with tempfile.TemporaryDirectory(prefix="citesearch-load-") as tmp:
        root = Path(tmp)
        seeds = args.seeds.resolve()
        if args.beir:
            seeds = root / "seeds"
            write_corpus(first_documents(load_beir(args.beir), args.docs), seeds)
        index_dir = args.index_dir.resolve() if args.index_dir else root / "index"
        env = service_env(seeds, index_dir, args.query_cache, args.set)
        started = time.perf_counter()
        if not (index_dir / "current").exists():
            command = [sys.executable, "-m", "indexer", "build", "--no-progress"]
            subprocess.run(command, cwd=REPO, env=env, check=True, timeout=3600)
        build_seconds = time.perf_counter() - started
        # Timed before the service starts and again after it stops: this shared machine's speed drifts
        # by 10-20% over minutes, and the ratios use the mean of the two.
        bare_before = measure_bare(args, env)
        run = serve_and_load(args, env, questions_of(args.beir), root / "service.log")
        bare_after = measure_bare(args, env)
    run.update(
        build_seconds=round(build_seconds, 1),
        bare_before=bare_before,
        bare_after=bare_after,
        bare={key: round((bare_before[key] + bare_after[key]) / 2, 2) for key in bare_before},
        machine=machine(),
    )
    report(args, run)
    if args.json:
        write_json(args.json, run)
    return 1 if any(level["errors"] for level in run["levels"]) else 0


if __name__ == "__main__":
    sys.exit(main())
