"""What a write costs seen from the client: ``python -m service`` (the configured model) serving one
collection, driven over real HTTP on 127.0.0.1:

- one upload at a time of a 10-page PDF (different text each time, ``PUT`` answered 202): the
  seconds from the 202 to the first ``POST /v1/search`` that finds it (searches every 20 ms), p50/p95;
- one delete at a time (``DELETE``, answered 202): from the 202 to the first search that no longer
  finds it;
- ``--burst`` text uploads sent at once (each answered 202): until the last is indexed, and how many
  snapshots published them (the writer coalesces what is queued);
- search latency (``POST /v1/search``, hybrid, top 5, distinct queries, the query cache off) from a
  client searching at a fixed rate (``--search-rate``): idle, then while another client uploads one
  PDF after another (each sent once the previous is indexed);
- the service's resident memory at the end and its peak, and the index's size on disk.

The collection is either ``--documents`` generated text documents (~150 words each, built first with
``python -m indexer build``'s builder in a temporary folder) or, with ``--chunks``, the base of
:mod:`bench.write_bench` (that many chunks written through the real writer, vectors drawn around
``--centres``; written once under ``--workdir`` and reused, earlier runs' uploads and segments
removed first). Run from the repository root, under the heavy-job lock:

    flock /tmp/heavy.lock python -m bench.write_latency --documents 1000
    flock /tmp/heavy.lock python -m bench.write_latency --chunks 1000000 --centres <vectors.npy>
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from msgspec.structs import replace

from bench import write_bench
from bench.collections_bench import WORDS
from bench.common import CONFIG, describe_machine, rss_mib, until, warn_unless_locked
from bench.load_bench import percentile, running_service, service_env
from indexer.build import Builder
from indexer.embedding import load_embedder
from service.runtime.intake import JOURNAL_NAME, UPLOADS_DIR
from service.settings import load_app_settings

KEY = "bench-write-admin-key-0001"
HEADERS = {"Authorization": f"Bearer {KEY}"}
DOCUMENTS = "/v1/collections/default/documents"
UPLOADS = "bench"  # the source folder's sub-folder this benchmark writes into
POLL = 0.02
TIMEOUT = 300.0


@dataclass(frozen=True)
class Collection:
    seeds: Path
    index: Path
    words: list[str]  # what its text is made of: the searches' vocabulary
    description: str


def text(rng: random.Random, sentences: int) -> bytes:
    words = [" ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + "." for _ in range(sentences)]
    return " ".join(words).encode()


def generated(root: Path, documents: int) -> Collection:
    """``documents`` text documents built into ``root`` with the product's builder."""
    settings = load_app_settings(CONFIG, environ={})
    seeds = root / "seeds"
    seeds.mkdir(parents=True)
    rng = random.Random(0)
    for n in range(documents):
        (seeds / f"doc{n:05d}.txt").write_bytes(text(rng, 12))
    Builder(
        replace(settings, seeds_dir=seeds, index_dir=root / "index"), lambda: load_embedder(settings.model)
    ).build()
    return Collection(seeds, root / "index", WORDS, f"{documents} documents")


def large(args: argparse.Namespace) -> Collection:
    """:mod:`bench.write_bench`'s base of ``--chunks`` chunks (written unless kept), back to the base
    alone: no uploads, segments, state or journal of an earlier run."""
    workdir = write_bench.base_dir(args.workdir, args.chunks, "auto", args.centres)
    write_bench.ensure_base(workdir, args.chunks, "auto", args.centres)
    write_bench.reset(workdir, ("uploads", UPLOADS, UPLOADS_DIR))
    (workdir / "index" / JOURNAL_NAME).unlink(missing_ok=True)
    words = write_bench.vocabulary()[:2000]  # the base's Zipf head, as write_bench's searches
    return Collection(workdir / "seeds", workdir / "index", words, f"{args.chunks} chunks")


def timed(started: float) -> float:
    """Milliseconds since ``started`` (``time.perf_counter()``)."""
    return (time.perf_counter() - started) * 1000


def doc_id(number: int) -> str:
    return f"{UPLOADS}/report-{number}.pdf"


def put_pdf(client: httpx.Client, number: int) -> str:
    """Upload the ``number``th 10-page PDF; its job's URL once answered 202."""
    answer = client.put(
        f"{DOCUMENTS}/{doc_id(number)}",
        content=write_bench.make_pdf(number, WORDS),
        headers={"Content-Type": "application/pdf"},
    )
    assert answer.status_code == 202, answer.text
    return str(answer.headers["location"])


def found(client: httpx.Client, number: int) -> bool:
    """Whether a search for the PDF's own word finds it."""
    answer = client.post("/v1/search", json={"query": f"pdfword{number}", "mode": "lexical"})
    assert answer.status_code == 200, answer.text
    return any(hit["citation"]["doc_id"] == doc_id(number) for hit in answer.json()["results"])


def gone(client: httpx.Client, number: int) -> bool:
    return not found(client, number)


def settled(client: httpx.Client, location: str) -> dict[str, Any]:
    """The job at ``location`` once indexed or failed."""
    while (job := client.get(location).json())["status"] not in ("indexed", "failed"):
        time.sleep(POLL)
    return dict(job)


def one_at_a_time(base: str, count: int) -> tuple[list[float], list[float]]:
    """Seconds from each upload's 202 to searchable, and from each delete's 202 to invisible."""
    puts, deletes = [], []
    with httpx.Client(base_url=base, headers=HEADERS, timeout=120) as client:
        for n in range(count):
            put_pdf(client, n)
            puts.append(until(partial(found, client, n), f"{doc_id(n)} found", TIMEOUT, POLL))
        for n in range(count):
            answer = client.delete(f"{DOCUMENTS}/{doc_id(n)}")
            assert answer.status_code == 202, answer.text
            deletes.append(until(partial(gone, client, n), f"{doc_id(n)} gone", TIMEOUT, POLL))
    return sorted(puts), sorted(deletes)


def burst(base: str, count: int, rng: random.Random) -> tuple[float, int]:
    bodies = [text(rng, 24) for _ in range(count)]
    started = time.perf_counter()

    def send(n: int) -> str:
        answer = httpx.put(
            f"{base}{DOCUMENTS}/{UPLOADS}/burst/{n}.txt", content=bodies[n], headers=HEADERS, timeout=120
        )
        assert answer.status_code == 202, answer.text
        return str(answer.headers["location"])

    with ThreadPoolExecutor(max_workers=min(count, 16)) as pool:
        locations = list(pool.map(send, range(count)))
    with httpx.Client(base_url=base, headers=HEADERS, timeout=60) as client:
        snapshots = {settled(client, location)["snapshot_id"] for location in locations}
    return timed(started), len(snapshots)


def searches(base: str, count: int, rate: float, words: list[str], seed: int) -> list[float]:
    """Milliseconds of ``count`` searches (4 words of ``words`` each, all distinct) sent at ``rate``
    a second (the next one waits for its slot, or goes at once if the previous was late)."""
    rng = random.Random(seed)
    queries = [" ".join(rng.choice(words) for _ in range(4)) for _ in range(count)]
    times = []
    with httpx.Client(base_url=base, headers=HEADERS, timeout=60) as client:
        start = time.perf_counter()
        for n, query in enumerate(queries):
            time.sleep(max(0.0, start + n / rate - time.perf_counter()))
            started = time.perf_counter()
            assert client.post("/v1/search", json={"query": query}).status_code == 200
            times.append(timed(started))
    return times


def during_ingestion(base: str, search: Callable[[], list[float]]) -> tuple[list[float], list[float]]:
    """``search()``'s latencies while another client uploads PDFs one after another (each once the
    previous is indexed), and each of those uploads' seconds from 202 to indexed."""
    stop = threading.Event()
    indexed: list[float] = []

    def ingest() -> None:
        with httpx.Client(base_url=base, headers=HEADERS, timeout=120) as client:
            number = 100_000
            while not stop.is_set():
                location = put_pdf(client, number)
                started = time.perf_counter()
                assert settled(client, location)["status"] == "indexed"
                indexed.append(time.perf_counter() - started)
                number += 1

    thread = threading.Thread(target=ingest)
    thread.start()
    try:
        time.sleep(1.0)  # the first PDF is being read and embedded
        latencies = search()
    finally:
        stop.set()
        thread.join()
    return latencies, sorted(indexed)


def measure(args: argparse.Namespace, collection: Collection, log: Path) -> dict[str, Any]:
    env = service_env(
        collection.seeds,
        collection.index,
        0,
        [f'auth__admin_keys=["{KEY}"]', "service__reload_poll_seconds=0"],
    )
    rng = random.Random(1)
    started = time.perf_counter()
    with running_service(env, log) as (server, base, _snapshot):
        ready = time.perf_counter() - started
        searches(base, 20, 1000, collection.words, 0)  # warm-up
        puts, deletes = one_at_a_time(base, args.writes)
        burst_ms, snapshots = burst(base, args.burst, rng)
        idle = searches(base, args.searches, args.search_rate, collection.words, 1)
        search = partial(searches, base, args.searches, args.search_rate, collection.words, 2)
        busy, indexed = during_ingestion(base, search)
        rss, peak = rss_mib(server.pid), rss_mib(server.pid, "VmHWM")
    return {
        "ready": ready, "puts": puts, "deletes": deletes, "burst_ms": burst_ms, "snapshots": snapshots,
        "idle": idle, "busy": busy, "indexed": indexed, "rss": rss, "peak": peak,
        "disk": write_bench.disk_mib(collection.index) / 1024,
    }  # fmt: skip


def report(args: argparse.Namespace, collection: Collection, m: dict[str, Any]) -> None:
    print(f"write_latency: {collection.description}, {describe_machine()}")
    print(f"service start to ready: {m['ready']:.1f} s")
    p50, p95 = percentile(m["puts"], 50), percentile(m["puts"], 95)
    print(
        f"upload -> searchable (10-page PDF, from its 202, {args.writes}): p50 {p50:.2f} s, p95 {p95:.2f} s"
    )
    p50, top = percentile(m["deletes"], 50), m["deletes"][-1]
    print(f"delete -> invisible (from its 202, {args.writes}): p50 {p50:.2f} s, max {top:.2f} s")
    burst_ms, snapshots = m["burst_ms"], m["snapshots"]
    print(f"{args.burst} uploads at once -> all indexed: {burst_ms:.0f} ms, in {snapshots} snapshot(s)")
    idle, busy = statistics.median(m["idle"]), statistics.median(m["busy"])
    indexed = m["indexed"]
    print(
        f"search p50 at {args.search_rate:g}/s: idle {idle:.1f} ms; during ingestion {busy:.1f} ms "
        f"({busy / idle:.2f}x; {len(indexed)} PDFs indexed meanwhile, "
        f"202 -> indexed p50 {percentile(indexed, 50):.2f} s)"
    )
    print(f"search p95: idle {percentile(sorted(m['idle']), 95):.1f} ms; during ingestion "
          f"{percentile(sorted(m['busy']), 95):.1f} ms")  # fmt: skip
    print(f"service rss: {m['rss'] / 1024:.2f} GiB at the end, peak {m['peak'] / 1024:.2f} GiB")
    print(f"index on disk: {m['disk']:.2f} GiB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--documents", type=int, default=1000, help="generated documents (no --chunks)")
    parser.add_argument("--chunks", type=int, help="serve bench.write_bench's base of this many chunks")
    parser.add_argument("--centres", type=Path, help="with --chunks: real chunk vectors to draw around")
    parser.add_argument("--workdir", type=Path, default=Path.home() / ".cache/citesearch/write_bench")
    parser.add_argument("--writes", type=int, default=20, help="uploads, then deletes, one at a time")
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--searches", type=int, default=200, help="searches timed in each phase")
    parser.add_argument("--search-rate", type=float, default=5.0, help="searches a second")
    args = parser.parse_args(argv)
    warn_unless_locked()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        collection = large(args) if args.chunks else generated(root, args.documents)
        try:
            figures = measure(args, collection, root / "service.log")
        finally:
            if args.chunks:  # the base stays as write_bench keeps it
                write_bench.reset(collection.seeds.parent, (UPLOADS, UPLOADS_DIR))
                (collection.index / JOURNAL_NAME).unlink(missing_ok=True)
    report(args, collection, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
