"""Load benchmark: the real service on 127.0.0.1, driven from a separate process at fixed concurrencies.

    python bench/load_bench.py                                   # the repository's seeds
    python bench/load_bench.py --beir ../shared/bench/scifact --docs 1000   # a SciFact slice

It builds an index in a temporary folder (``python -m indexer build``), starts ``python -m service``
on a free port, waits for ``/ready``, then for each concurrency (default 1, 8, 32) runs a load client
in its own process that keeps that many searches in flight until ``--duration`` seconds pass or
``--requests`` requests are sent, whichever comes first. It reports requests/s, p50/p95/p99 latency,
errors (any non-200 or transport error) and the server's peak resident memory (VmHWM), as a table
and optionally as JSON. Bounded in time and requests; nothing leaves 127.0.0.1.
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
    with (beir / "queries.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh][:500]


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set size so far (Linux VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


# -- the load client (runs in its own process) ------------------------------------------------


async def _drive(
    base_url: str, questions: list[str], concurrency: int, duration: float, limit: int
) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    errors: dict[str, int] = {}
    sent = 0
    deadline = time.perf_counter() + duration
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:

        async def worker() -> None:
            nonlocal sent
            while sent < limit and time.perf_counter() < deadline:
                question = questions[sent % len(questions)]
                sent += 1
                started = time.perf_counter()
                try:
                    response = await client.post("/v1/search", json={"query": question, "top_k": 5})
                    ok = response.status_code == 200
                    key = str(response.status_code)
                except httpx.HTTPError as exc:
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
    proc = ctx.Process(target=_client_process, args=args)
    proc.start()
    raw = queue.get(timeout=duration + 300)
    proc.join(timeout=60)
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
        "errors": error_count,
        "error_kinds": raw["errors"],
        "server_peak_rss_mb": round(peak_rss_mb(server_pid), 1),
    }


# -- orchestration ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--beir", type=Path, help="a BEIR folder (corpus.jsonl, queries.jsonl) to index")
    parser.add_argument("--docs", type=int, default=1000, help="documents taken from --beir (default 1000)")
    parser.add_argument("--concurrency", default="1,8,32", help="comma-separated levels (default 1,8,32)")
    parser.add_argument("--duration", type=float, default=15, help="seconds per level (default 15)")
    parser.add_argument("--requests", type=int, default=3000, help="at most this many per level")
    parser.add_argument("--warmup", type=int, default=20, help="requests sent before measuring (default 20)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    levels = [int(c) for c in args.concurrency.split(",")]

    with tempfile.TemporaryDirectory(prefix="citesearch-load-") as tmp:
        root = Path(tmp)
        if args.beir:
            questions = write_beir_slice(args.beir, args.docs, root / "seeds")
            seeds = root / "seeds"
        else:
            questions, seeds = SEED_QUESTIONS, REPO / "seeds"
        env = {
            **os.environ,
            "CITESEARCH_CONFIG": str(REPO / "config.yaml"),
            "CITESEARCH__SEEDS_DIR": str(seeds),
            "CITESEARCH__INDEX_DIR": str(root / "index"),
            "CITESEARCH__SERVICE__RATE_LIMIT": "0",
        }
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "indexer", "build", "--no-progress"],
            cwd=REPO,
            env=env,
            check=True,
            timeout=3600,
        )
        build_seconds = time.perf_counter() - started
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
            results = [
                run_level(base_url, questions, level, args.duration, args.requests, server.pid)
                for level in levels
            ]
        finally:
            server.terminate()
            server.wait(timeout=60)
            log.close()

    print(
        f"index: {snapshot['documents']} documents, {snapshot['chunks']} chunks "
        f"(built in {build_seconds:.0f} s); {os.cpu_count()} CPUs; default search mode; top_k 5"
    )
    header = f"{'concurrency':>11} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
    print(header + f"{'errors':>6} {'peak RSS MiB':>12}")
    for r in results:
        print(
            f"{r['concurrency']:>11} {r['requests']:>8} {r['rps']:>7} {r['p50_ms']:>7} {r['p95_ms']:>7} "
            f"{r['p99_ms']:>7} {r['errors']:>6} {r['server_peak_rss_mb']:>12}"
        )
    if args.json:
        args.json.write_text(json.dumps({"snapshot": snapshot, "levels": results}, indent=2))
    return 1 if any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
