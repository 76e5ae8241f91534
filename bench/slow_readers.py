"""What clients that never read their answers cost the service: its resident memory while they wait.

    flock /tmp/heavy.lock python -m bench.slow_readers                   # 10 clients, 1 then 20 requests each
    flock /tmp/heavy.lock python -m bench.slow_readers --clients 100 --pipeline 1,50

It writes a corpus of long synthetic documents (every passage a full chunk) in a temporary folder,
builds it (``python -m indexer build``), starts ``python -m service`` on a free port, measures the size
of the largest answer (``/v1/search`` at ``top_k`` = ``service.max_top_k``) with a client that reads it,
then opens ``--clients`` connections with a small receive buffer that each send ``--pipeline`` such
requests back to back (HTTP/1.1 pipelining) and never read. For ``--hold`` seconds it samples the
server's resident memory (VmRSS, ``/proc``) and times ``/health`` from a client that does read; then
it closes the connections and samples again. Bounded in time and connections; nothing leaves 127.0.0.1.

The figure to read: ``growth`` (peak RSS while the clients wait, less RSS before) against ``asked``
(answers requested and never read, times their size). The server answers a connection's next request
only once the previous answer is written, so each such client holds at most one answer (plus kernel
socket buffers, outside the process).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import REPO, machine, rss_mib, warn_unless_locked, write_json
from bench.load_bench import running_service, service_env

WORDS = (
    "lighthouse",
    "harbour",
    "storm",
    "keeper",
    "lantern",
    "vessel",
    "coast",
    "tide",
    "reef",
    "beacon",
    "fog",
    "signal",
    "mariner",
    "chart",
    "compass",
    "anchor",
    "current",
    "gale",
    "rock",
    "shore",
    "cliff",
    "wave",
    "ledger",
    "voyage",
    "cargo",
    "pier",
    "island",
    "channel",
)
QUERY = "the lighthouse keeper's log of the storm at the harbour"
RECEIVE_BUFFER = 4096


def write_corpus(folder: Path, documents: int, words: int, seed: int = 7) -> None:
    """``documents`` text files of ``words`` words each, drawn from :data:`WORDS` (deterministic)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    for number in range(documents):
        sentences = [" ".join(rng.choices(WORDS, k=12)).capitalize() + "." for _ in range(words // 12)]
        (folder / f"log-{number:04d}.txt").write_text("\n".join(sentences) + "\n", encoding="utf-8")


def request_bytes(host: str, top_k: int) -> bytes:
    body = json.dumps({"query": QUERY, "top_k": top_k}).encode()
    head = (
        f"POST /v1/search HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


def open_non_readers(port: int, count: int, pipeline: int, request: bytes) -> list[socket.socket]:
    """``count`` connections, each sending ``pipeline`` requests and reading nothing."""
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        sock.connect(("127.0.0.1", port))
        sock.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            sock.send(request * pipeline)  # as much as the kernel takes; the rest is never sent
        sockets.append(sock)
    return sockets


def hold(pid: int, base_url: str, seconds: float) -> dict[str, float]:
    """Sample the server's RSS and a reading client's ``/health`` time for ``seconds``."""
    peak = 0.0
    health: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        peak = max(peak, rss_mib(pid))
        started = time.perf_counter()
        httpx.get(f"{base_url}/health", timeout=30).raise_for_status()
        health.append((time.perf_counter() - started) * 1000)
        time.sleep(0.25)
    return {"peak_rss_mib": round(peak, 1), "health_max_ms": round(max(health), 1)}


def measure(args: argparse.Namespace, env: dict[str, str], log: Path, pipeline: int) -> dict[str, Any]:
    """One level: a fresh service, ``args.clients`` connections sending ``pipeline`` requests each."""
    with running_service(env, log) as (server, base_url, _):
        port = int(base_url.rsplit(":", 1)[1])
        top_k = int(httpx.get(f"{base_url}/v1/index", timeout=30).json()["search"]["max_top_k"])
        top_k = min(top_k, args.top_k)
        request = request_bytes(f"127.0.0.1:{port}", top_k)
        answer = 0
        for _ in range(args.warmup):  # the same answers, read: allocator pools warmed up
            reply = httpx.post(f"{base_url}/v1/search", json={"query": QUERY, "top_k": top_k}, timeout=60)
            reply.raise_for_status()
            answer = len(reply.content)
        time.sleep(1.0)
        before = rss_mib(server.pid)
        sockets = open_non_readers(port, args.clients, pipeline, request)
        try:
            held = hold(server.pid, base_url, args.hold)
        finally:
            for sock in sockets:
                sock.close()
        time.sleep(1.0)
        after = rss_mib(server.pid)
    return {
        "top_k": top_k,
        "answer_bytes": answer,
        "clients": args.clients,
        "pipeline": pipeline,
        "asked_mib": round(answer * args.clients * pipeline / 2**20, 1),
        "rss_before_mib": round(before, 1),
        **held,
        "growth_mib": round(held["peak_rss_mib"] - before, 1),
        "rss_after_close_mib": round(after, 1),
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.slow_readers", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--clients", type=int, default=10, help="connections that never read (default 10)")
    parser.add_argument(
        "--pipeline", default="1,20", help="requests each client sends, comma-separated levels (default 1,20)"
    )
    parser.add_argument("--top-k", type=int, default=100, help="top_k asked (capped at service.max_top_k)")
    parser.add_argument("--hold", type=float, default=10.0, help="seconds the clients wait (default 10)")
    parser.add_argument("--warmup", type=int, default=10, help="answers read before measuring (default 10)")
    parser.add_argument("--documents", type=int, default=30, help="synthetic documents (default 30)")
    parser.add_argument("--words", type=int, default=3000, help="words per document (default 3,000)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    levels = [int(level) for level in args.pipeline.split(",")]
    if args.clients > 1000 or max(levels) > 1000:
        raise SystemExit("at most 1,000 clients and 1,000 requests each")
    warn_unless_locked()
    with tempfile.TemporaryDirectory(prefix="citesearch-slow-readers-") as tmp:
        root = Path(tmp)
        write_corpus(root / "seeds", args.documents, args.words)
        env = service_env(root / "seeds", root / "index", 0, [])
        command = [sys.executable, "-m", "indexer", "build", "--no-progress"]
        subprocess.run(command, cwd=REPO, env=env, check=True, timeout=1800, stdout=subprocess.DEVNULL)
        runs = [measure(args, env, root / f"service-{level}.log", level) for level in levels]
    keys = [key for key in runs[0] if key not in ("top_k", "clients")]
    print(f"top_k {runs[0]['top_k']}, {args.clients} clients that never read, each level on a fresh service")
    print(" ".join(f"{key:>19}" for key in keys))
    for run in runs:
        print(" ".join(f"{run[key]!s:>19}" for key in keys))
    if args.json:
        write_json(args.json, {"levels": runs, "machine": machine()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
