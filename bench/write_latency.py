"""What a write over HTTP costs: ``python -m service`` (the configured model) serving a collection of
``--documents`` generated documents (~150 words each, built first with ``python -m indexer build``'s
builder); then, over real HTTP on 127.0.0.1:

- one upload at a time (a ~300-word text file, ``PUT ...?wait=true``): from sending it to the answer
  that it is searchable, p50 and p95 of ``--writes``;
- one delete at a time (``DELETE ...?wait=true``): until it is gone from every door;
- ``--burst`` uploads sent at once (each answered 202): until the last is searchable, and how many
  snapshots published them (the writer coalesces what is queued);
- the median latency of ``POST /v1/search`` idle, and while another client uploads without pause.

Run from the repository root, under the heavy-job lock:

    flock /tmp/heavy.lock python -m bench.write_latency --documents 1000
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from msgspec.structs import replace

from bench.collections_bench import QUERIES, WORDS
from bench.common import CONFIG, describe_machine, warn_unless_locked
from bench.load_bench import percentile, running_service, service_env
from indexer.build import Builder
from indexer.embedding import load_embedder
from service.settings import load_app_settings

KEY = "bench-write-admin-key-0001"
HEADERS = {"Authorization": f"Bearer {KEY}"}


def text(rng: random.Random, sentences: int) -> bytes:
    words = [" ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + "." for _ in range(sentences)]
    return " ".join(words).encode()


def build(root: Path, documents: int) -> None:
    settings = load_app_settings(CONFIG, environ={})
    seeds = root / "seeds"
    seeds.mkdir(parents=True)
    rng = random.Random(0)
    for n in range(documents):
        (seeds / f"doc{n:05d}.txt").write_bytes(text(rng, 12))
    Builder(
        replace(settings, seeds_dir=seeds, index_dir=root / "index"), lambda: load_embedder(settings.model)
    ).build()


def timed(started: float) -> float:
    """Milliseconds since ``started`` (``time.perf_counter()``)."""
    return (time.perf_counter() - started) * 1000


def one_at_a_time(base: str, count: int, rng: random.Random) -> tuple[list[float], list[float]]:
    puts, deletes = [], []
    with httpx.Client(base_url=base, headers=HEADERS, timeout=120) as client:
        for n in range(count):
            started = time.perf_counter()
            answer = client.put(
                f"/v1/collections/default/documents/new/{n}.txt",
                content=text(rng, 24),
                params={"wait": "true"},
            )
            assert answer.status_code == 201, answer.text
            puts.append(timed(started))
        for n in range(count):
            started = time.perf_counter()
            answer = client.delete(f"/v1/collections/default/documents/new/{n}.txt", params={"wait": "true"})
            assert answer.status_code == 200, answer.text
            deletes.append(timed(started))
    return sorted(puts), sorted(deletes)


def burst(base: str, count: int, rng: random.Random) -> tuple[float, int]:
    bodies = [text(rng, 24) for _ in range(count)]
    started = time.perf_counter()

    def send(n: int) -> str:
        answer = httpx.put(
            f"{base}/v1/collections/default/documents/burst/{n}.txt",
            content=bodies[n],
            headers=HEADERS,
            timeout=120,
        )
        assert answer.status_code == 202, answer.text
        return str(answer.headers["location"])

    with ThreadPoolExecutor(max_workers=min(count, 16)) as pool:
        locations = list(pool.map(send, range(count)))
    snapshots = set()
    with httpx.Client(base_url=base, headers=HEADERS, timeout=60) as client:
        for location in locations:
            while (job := client.get(location).json())["status"] not in ("indexed", "failed"):
                time.sleep(0.02)
            snapshots.add(job["snapshot_id"])
    return timed(started), len(snapshots)


def search_p50(base: str, rounds: int) -> float:
    times = []
    with httpx.Client(base_url=base, headers=HEADERS, timeout=60) as client:
        for n in range(rounds):
            started = time.perf_counter()
            assert client.post("/v1/search", json={"query": QUERIES[n % len(QUERIES)]}).status_code == 200
            times.append(timed(started))
    return statistics.median(times)


def during_ingestion(base: str, rounds: int, rng: random.Random) -> tuple[float, int]:
    stop = threading.Event()
    written = [0]

    def ingest() -> None:
        with httpx.Client(base_url=base, headers=HEADERS, timeout=120) as client:
            while not stop.is_set():
                client.put(
                    f"/v1/collections/default/documents/steady/{written[0]}.txt", content=text(rng, 24)
                )
                written[0] += 1
                time.sleep(0.05)

    thread = threading.Thread(target=ingest)
    thread.start()
    try:
        return search_p50(base, rounds), written[0]
    finally:
        stop.set()
        thread.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--writes", type=int, default=20)
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--searches", type=int, default=200)
    args = parser.parse_args(argv)
    warn_unless_locked()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build(root, args.documents)
        env = service_env(
            root / "seeds",
            root / "index",
            1024,
            [f'auth__admin_keys=["{KEY}"]', "service__reload_poll_seconds=0"],
        )
        with running_service(env, root / "service.log") as (_, base, _snapshot):
            search_p50(base, 20)  # warm-up
            puts, deletes = one_at_a_time(base, args.writes, rng)
            burst_ms, snapshots = burst(base, args.burst, rng)
            idle = search_p50(base, args.searches)
            busy, written = during_ingestion(base, args.searches, rng)
    p50, p95 = percentile(puts, 50), percentile(puts, 95)
    print(f"write_latency: {args.documents} documents, {describe_machine()}")
    print(f"upload -> searchable (PUT ?wait=true, one at a time): p50 {p50:.0f} ms, p95 {p95:.0f} ms")
    p50, p95 = percentile(deletes, 50), percentile(deletes, 95)
    print(f"delete -> gone (DELETE ?wait=true, one at a time): p50 {p50:.0f} ms, p95 {p95:.0f} ms")
    print(f"{args.burst} uploads at once -> all searchable: {burst_ms:.0f} ms, in {snapshots} snapshot(s)")
    print(f"search p50: idle {idle:.1f} ms; during ingestion {busy:.1f} ms ({written} uploads meanwhile)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
