"""Starvation benchmark: a normal search's latency while 16 clients send the worst requests the limits allow.

    python -m bench.hostile_load --beir ../shared/bench/scifact --docs 3000
    python -m bench.hostile_load --beir ../shared/bench/scifact --index-dir /some/folder   # reuse an index

It builds an index of a SciFact slice in a temporary folder (``python -m indexer build``; or reuses
``--index-dir``), starts ``python -m service`` on a free port of 127.0.0.1 (query cache off, so each
search costs a model call), and times one client sending normal searches (``top_k`` 5, one at a time):
first with the service idle, then while a separate process keeps ``--attackers`` worst-case requests in
flight (default 16), each new, so no cache helps:

- Dify ``metadata_condition`` naming ``chunk_id`` 40 times with ``contains`` on 1,024 values (the
  attack that took 26.6 s of CPU before filters had limits);
- Dify with 16 ``contains`` conditions of 256 values each over ``chunk_id`` (the most text comparisons
  and values a request may hold);
- ``/v1/context`` with ``top_k`` 100 and ``max_tokens`` 1,000,000;
- ``/v1/search`` with ``top_k`` 100, ``max_per_doc`` 1 and a ``nin`` filter of 1,024 values (deepening
  to ``retrieval.max_depth``).

Reports the normal search's p50 and p95, idle and under attack, their ratio (target: at most 3), what
the attackers got (status counts), and the CPU the server used. Bounded by ``--duration`` and
``--probes``; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import statistics
import string
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import REPO, describe_machine, first_documents, warn_unless_locked, write_json
from bench.load_bench import percentile, process_cpu_seconds, questions_of, running_service, service_env
from indexer.evaluation import load_beir, write_corpus

KINDS = ("dify_names", "dify_text16", "context", "search_deep")


def _needles(count: int, rng: random.Random) -> list[str]:
    return ["".join(rng.choices(string.ascii_lowercase + "#-", k=6)) for _ in range(count)]


def attack_request(kind: str, question: str, rng: random.Random) -> tuple[str, dict[str, Any]]:
    """One worst-case request of ``kind`` (path, body), with values drawn anew."""
    if kind == "dify_names":
        condition = {
            "name": ["chunk_id"] * 40,
            "comparison_operator": "contains",
            "value": _needles(1024, rng),
        }
        return "/retrieval", _dify(question, [condition])
    if kind == "dify_text16":
        conditions = [
            {"name": ["chunk_id"], "comparison_operator": "contains", "value": _needles(256, rng)}
            for _ in range(16)
        ]
        return "/retrieval", _dify(question, conditions, "or")
    if kind == "context":
        return "/v1/context", {"query": question, "top_k": 100, "max_tokens": 1_000_000}
    ids = [f"{rng.randrange(10**9)}.md" for _ in range(1024)]
    return "/v1/search", {
        "query": question,
        "top_k": 100,
        "max_per_doc": 1,
        "filters": {"type": "nin", "key": "doc_id", "value": ids},
    }


def _dify(question: str, conditions: list[dict[str, Any]], logical: str = "and") -> dict[str, Any]:
    return {
        "knowledge_id": "citesearch",
        "query": question,
        "retrieval_setting": {"top_k": 5, "score_threshold": 0},
        "metadata_condition": {"logical_operator": logical, "conditions": conditions},
    }


async def _attack(base_url: str, questions: list[str], attackers: int, seconds: float, out: Any) -> None:
    import httpx

    statuses: Counter[str] = Counter()
    stop = time.monotonic() + seconds

    async def one(client: httpx.AsyncClient, worker: int) -> None:
        rng = random.Random(worker)
        n = worker
        while time.monotonic() < stop:
            kind = KINDS[n % len(KINDS)]
            path, body = attack_request(kind, questions[n % len(questions)], rng)
            n += attackers
            try:
                answer = await client.post(f"{base_url}{path}", json=body, timeout=120)
                statuses[f"{kind} {answer.status_code}"] += 1
            except httpx.HTTPError as exc:
                statuses[f"{kind} {type(exc).__name__}"] += 1

    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=attackers)) as client:
        await asyncio.gather(*(one(client, w) for w in range(attackers)))
    out.put(dict(statuses))


def _attack_process(base_url: str, questions: list[str], attackers: int, seconds: float, out: Any) -> None:
    asyncio.run(_attack(base_url, questions, attackers, seconds, out))


def probe(base_url: str, questions: list[str], count: int, until: float | None = None) -> list[float]:
    """Normal searches one at a time: their latencies in ms (``count`` of them, or until ``until``)."""
    import httpx

    latencies = []
    with httpx.Client(timeout=120) as client:
        for i in range(count):
            if until is not None and time.monotonic() > until:
                break
            started = time.perf_counter()
            answer = client.post(f"{base_url}/v1/search", json={"query": questions[i % len(questions)]})
            latencies.append((time.perf_counter() - started) * 1000)
            if answer.status_code != 200:
                raise SystemExit(f"a normal search got {answer.status_code}: {answer.text[:300]}")
    return latencies


def alone(base_url: str, questions: list[str], pid: int, repeat: int = 3) -> dict[str, dict[str, Any]]:
    """Each worst-case kind sent alone ``repeat`` times: the server's CPU ms per request and the statuses."""
    import httpx

    rng = random.Random(99)
    costs: dict[str, dict[str, Any]] = {}
    with httpx.Client(timeout=120) as client:
        for kind in KINDS:
            statuses: Counter[int] = Counter()
            before = process_cpu_seconds(pid)
            for i in range(repeat):
                path, body = attack_request(kind, questions[i], rng)
                statuses[client.post(f"{base_url}{path}", json=body).status_code] += 1
            cpu_ms = (process_cpu_seconds(pid) - before) * 1000 / repeat
            costs[kind] = {"cpu_ms": round(cpu_ms, 1), "statuses": dict(statuses)}
    return costs


def summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "count": len(ordered),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(percentile(ordered, 95), 1),
    }


def run(args: argparse.Namespace, env: dict[str, str], questions: list[str], log: Path) -> dict[str, Any]:
    """Start the service, time normal searches idle and under attack; the service is stopped in any case."""
    with running_service(env, log) as (server, base_url, snapshot):
        probe(base_url, questions[100:], 20)  # warm-up
        idle = probe(base_url, questions, args.probes)
        costs = alone(base_url, questions, server.pid)
        queue: Any = multiprocessing.get_context("spawn").Queue()
        attackers = multiprocessing.get_context("spawn").Process(
            target=_attack_process, args=(base_url, questions, args.attackers, args.duration, queue)
        )
        cpu_before = process_cpu_seconds(server.pid)
        attackers.start()
        time.sleep(2)  # let every attacker have a request in flight
        attacked = probe(base_url, questions[args.probes :], args.probes, time.monotonic() + args.duration)
        statuses = queue.get(timeout=args.duration + 300)
        attackers.join(timeout=60)
        cpu = process_cpu_seconds(server.pid) - cpu_before
    return {
        "snapshot": snapshot,
        "idle": summary(idle),
        "attacked": summary(attacked),
        "alone": costs,
        "attackers": dict(sorted(statuses.items())),
        "server_cpu_seconds": round(cpu, 1),
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.hostile_load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--beir", type=Path, required=True, help="a BEIR folder (corpus.jsonl, queries.jsonl)"
    )
    parser.add_argument("--docs", type=int, default=3000, help="documents taken from --beir (default 3000)")
    parser.add_argument(
        "--attackers", type=int, default=16, help="worst-case requests in flight (default 16)"
    )
    parser.add_argument("--duration", type=float, default=40, help="seconds of attack at most (default 40)")
    parser.add_argument(
        "--probes", type=int, default=60, help="normal searches per phase at most (default 60)"
    )
    parser.add_argument("--index-dir", type=Path, help="keep the index here and reuse it when already built")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION__KEY=VALUE",
        help="a config override (repeatable)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    warn_unless_locked()
    with tempfile.TemporaryDirectory(prefix="citesearch-hostile-") as tmp:
        root = Path(tmp)
        seeds = root / "seeds"
        write_corpus(first_documents(load_beir(args.beir), args.docs), seeds)
        index_dir = args.index_dir.resolve() if args.index_dir else root / "index"
        env = service_env(seeds, index_dir, 0, args.set)
        if not (index_dir / "current").exists():
            command = [sys.executable, "-m", "indexer", "build", "--no-progress"]
            subprocess.run(command, cwd=REPO, env=env, check=True, timeout=3600)
        result = run(args, env, questions_of(args.beir), root / "service.log")
    idle, attacked = result["idle"], result["attacked"]
    ratio = attacked["p50_ms"] / idle["p50_ms"]
    result["ratio_p50"] = round(ratio, 2)
    snapshot = result["snapshot"]
    print(
        f"{describe_machine()}; index: {snapshot.get('documents')} documents, {snapshot.get('chunks')} chunks"
    )
    print(f"normal search, idle:         p50 {idle['p50_ms']} ms, p95 {idle['p95_ms']} ms ({idle['count']})")
    print(
        f"normal search, {args.attackers} attackers: p50 {attacked['p50_ms']} ms, "
        f"p95 {attacked['p95_ms']} ms ({attacked['count']}); p50 ratio {ratio:.2f} (target <= 3)"
    )
    for kind, cost in result["alone"].items():
        print(f"  {kind} alone: {cost['cpu_ms']} ms of server CPU per request, statuses {cost['statuses']}")
    print(f"server CPU during the attack: {result['server_cpu_seconds']} s")
    for outcome, count in result["attackers"].items():
        print(f"  attackers' {outcome}: {count}")
    if args.json:
        write_json(args.json, result)
    return 0 if ratio <= 3 else 1


if __name__ == "__main__":
    sys.exit(main())
