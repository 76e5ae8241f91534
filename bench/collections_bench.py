"""What collections cost: the service's resident memory (RSS) serving 1 and 20 small collections
(one model shared by all), and the median latency of ``POST /v1/search`` over 1 and over 5 collections
(the query is embedded once; each collection is searched and the hits ranked as one list).

Each collection is built from generated documents (``--documents`` each, ~150 words) with the
configured model. Memory is measured in a fresh process per count, after a warm-up search of every
collection; latency in-process through the app (no network), the same queries in both cases, after a
warm-up that fills the query cache (what repeated questions cost; the first sight of a query adds one
embedding either way). Run from the repository root, under the heavy-job lock:

    flock /tmp/heavy.lock python -m bench.collections_bench
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

from bench.common import CONFIG, describe_machine, rss_mib, warn_unless_locked
from indexer.build import Builder
from indexer.config import CollectionSettings
from indexer.embedding import Embedder, load_embedder
from service.settings import AppSettings, load_app_settings

WORDS = [
    "river",
    "mountain",
    "forest",
    "library",
    "engine",
    "protein",
    "market",
    "orbit",
    "harbor",
    "garden",
    "theory",
    "signal",
    "archive",
    "glacier",
    "vaccine",
    "circuit",
    "festival",
    "lantern",
    "copper",
    "desert",
    "harvest",
    "algebra",
    "violin",
    "canyon",
    "museum",
    "satellite",
    "compass",
    "meadow",
    "thunder",
    "pottery",
    "chemistry",
    "voyage",
    "bridge",
    "island",
    "tower",
    "bakery",
    "telescope",
]
QUERIES = tuple(f"{a} {b} near the {c}" for a, b, c in zip(WORDS, WORDS[3:], WORDS[7:], strict=False))[:20]


def _settings(root: Path, count: int) -> AppSettings:
    base = load_app_settings(CONFIG, environ={})
    collections = {
        ("default" if i == 0 else f"c{i:02d}"): CollectionSettings(seeds_dir=root / "seeds" / f"c{i:02d}")
        for i in range(count)
    }
    service = msgspec.structs.replace(
        base.service, reload_poll_seconds=0, allowed_hosts=("*",)
    )  # the test client
    return msgspec.structs.replace(
        base, index_dir=root / "index", collections=collections, service=service, default_collection="default"
    )


def _write(folder: Path, documents: int, seed: int) -> None:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(documents):
        sentences = [" ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + "." for _ in range(12)]
        (folder / f"doc{n:03d}.txt").write_text(" ".join(sentences), encoding="utf-8")


def build(root: Path, count: int, documents: int) -> None:
    """``count`` collections of ``documents`` generated documents each, indexed under ``root``."""
    settings = _settings(root, count)
    embedder: list[Embedder] = []

    def model() -> Embedder:
        if not embedder:
            embedder.append(load_embedder(settings.model))
        return embedder[0]

    for i, name in enumerate(settings.collection_names):
        collection = settings.collection(name)
        _write(collection.seeds_dir, documents, seed=i)
        Builder(collection, model).build()


def child(root: Path, count: int) -> None:
    """Serve ``count`` collections in this process; print its RSS (MiB) after a search of each."""
    from litestar.testing import TestClient

    from service.app import create_app

    settings = _settings(root, count)
    with TestClient(app=create_app(settings)) as client:
        for name in settings.collection_names:
            response = client.post("/v1/search", json={"query": QUERIES[0], "collections": [name]})
            assert response.status_code == 200, response.text
        print(f"{rss_mib():.1f}")


def _p50(client: object, names: list[str], queries: list[str]) -> float:
    from litestar.testing import TestClient

    assert isinstance(client, TestClient)
    took: list[float] = []
    for query in queries:
        started = time.perf_counter()
        response = client.post("/v1/search", json={"query": query, "top_k": 10, "collections": names})
        took.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    return statistics.median(took)


def latency(root: Path, rounds: int) -> dict[tuple[int, str], float]:
    """Median milliseconds of a search over the first 1 and the first 5 collections: with the query's
    vector in the cache (a repeated question) and with a question never asked before (embedded once
    for all the collections searched)."""
    from litestar.testing import TestClient

    from service.app import create_app

    settings = _settings(root, 20)
    names = list(settings.collection_names)
    repeated = list(QUERIES) * rounds
    medians: dict[tuple[int, str], float] = {}
    with TestClient(app=create_app(settings)) as client:
        _p50(client, names[:5], list(QUERIES))  # warm-up: fills the cache, touches every index
        for width in (1, 5):
            medians[(width, "repeated")] = _p50(client, names[:width], repeated)
            fresh = [f"{query} {width}-{n}" for n, query in enumerate(repeated)]
            medians[(width, "new")] = _p50(client, names[:width], fresh)
    return medians


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.collections_bench", description=__doc__)
    parser.add_argument("--documents", type=int, default=20, help="documents per collection (default 20)")
    parser.add_argument("--rounds", type=int, default=5, help="passes over the queries per case (default 5)")
    parser.add_argument("--child", nargs=2, metavar=("ROOT", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), int(args.child[1]))
        return 0
    warn_unless_locked()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        build(root, 20, args.documents)
        print(f"built 20 collections of {args.documents} documents in {time.perf_counter() - started:.0f}s")
        for count in (1, 20):
            run = subprocess.run(
                [sys.executable, "-m", "bench.collections_bench", "--child", str(root), str(count)],
                capture_output=True,
                text=True,
                check=False,
            )
            if run.returncode:
                raise SystemExit(f"serving {count} collections failed:\n{run.stderr[-3000:]}")
            print(f"RSS serving {count:>2} collection{'s' if count > 1 else ' '}: {run.stdout.strip()} MiB")
        for (width, kind), median in latency(root, args.rounds).items():
            plural = "s" if width > 1 else " "
            print(f"p50 search over {width} collection{plural}, {kind:>8} questions: {median:.2f} ms")
    print(describe_machine())
    return 0


if __name__ == "__main__":
    sys.exit(main())
