"""How soon ``python -m indexer watch`` makes a change of the seeds folder searchable (a script that
prints figures).

A collection of ``--documents`` generated documents (~150 words each) is built with the configured
model (``python -m indexer build``), then ``python -m indexer watch`` runs on it as a user runs it.
One at a time, ``--drops`` new documents are written into the folder, each timed from the moment its
file is closed to the moment the published snapshot lists it; then each is deleted, timed until the
snapshot no longer lists it. Last, ``--burst`` documents are written as fast as possible (a copy of a
folder of files) and timed until the snapshot holds them all, counting the updates that published
them. Every figure includes ``watch.settle_seconds`` (``--settle``), the time a file must stay the
same before it is read. Run from the repository root, under the heavy-job lock:

    flock /tmp/heavy.lock python -m bench.watch_bench
    flock /tmp/heavy.lock python -m bench.watch_bench --documents 1000 --burst 500 --settle 0.5
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from bench.collections_bench import WORDS
from bench.common import CONFIG, REPO, describe_machine, until, warn_unless_locked
from indexer.errors import SnapshotError
from indexer.snapshot.view import read_live_manifest

POLL_SECONDS = 0.01
TIMEOUT = 600.0


def _text(rng: random.Random) -> str:
    return " ".join(" ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + "." for _ in range(12))


def _documents(index: Path) -> set[str]:
    try:
        return set(read_live_manifest(index).documents)
    except SnapshotError:
        return set()


def _listed(index: Path, doc_id: str, *, listed: bool = True) -> bool:
    return (doc_id in _documents(index)) == listed


def _until(check: Callable[[], bool], what: str) -> float:
    """Seconds until ``check()`` holds (polled every 10 ms)."""
    return until(check, what, TIMEOUT, POLL_SECONDS)


def _percentiles(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return f"p50 {statistics.median(values):.2f} s, p95 {p95:.2f} s, max {values[-1]:.2f} s"


def _updates(log: Path) -> int:
    return sum(" added, " in line for line in log.read_text(encoding="utf-8").splitlines())


def _start_watch(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "indexer", "watch"], cwd=REPO, env=env, stderr=log.open("wb")
    )
    _until(lambda: "up to date" in log.read_text(encoding="utf-8") or proc.poll() is not None, "the watch")
    if proc.poll() is not None:
        raise SystemExit(f"python -m indexer watch exited:\n{log.read_text(encoding='utf-8')}")
    return proc


def _one_at_a_time(
    seeds: Path, index: Path, drops: int, rng: random.Random
) -> tuple[list[float], list[float]]:
    added, deleted = [], []
    for n in range(drops):
        path = seeds / f"drop-{n:03d}.txt"
        path.write_text(_text(rng), encoding="utf-8")
        added.append(_until(partial(_listed, index, path.name), path.name))
    for n in range(drops):
        path = seeds / f"drop-{n:03d}.txt"
        path.unlink()
        deleted.append(_until(partial(_listed, index, path.name, listed=False), f"{path.name} deleted"))
    return added, deleted


def _burst(seeds: Path, index: Path, count: int, rng: random.Random, log: Path) -> tuple[float, int]:
    before = _updates(log)
    folder = seeds / "burst"
    folder.mkdir()
    started = time.perf_counter()
    for n in range(count):
        (folder / f"b{n:04d}.txt").write_text(_text(rng), encoding="utf-8")
    names = {f"burst/b{n:04d}.txt" for n in range(count)}
    _until(lambda: names <= _documents(index), "the burst")
    seconds = time.perf_counter() - started
    time.sleep(1)  # an update's log line comes just after its snapshot is published
    return seconds, _updates(log) - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=200, help="documents in the collection (200)")
    parser.add_argument(
        "--drops", type=int, default=10, help="documents added then deleted one at a time (10)"
    )
    parser.add_argument("--burst", type=int, default=200, help="documents written at once (200)")
    parser.add_argument("--settle", type=float, default=1.0, help="watch.settle_seconds (1)")
    args = parser.parse_args()
    warn_unless_locked()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="watch-bench-") as tmp:
        root = Path(tmp)
        seeds, index, log = root / "seeds", root / "index", root / "watch.log"
        seeds.mkdir()
        for n in range(args.documents):
            (seeds / f"doc{n:04d}.txt").write_text(_text(rng), encoding="utf-8")
        env = {
            **os.environ,
            "CITESEARCH_CONFIG": str(CONFIG),
            "CITESEARCH__SEEDS_DIR": str(seeds),
            "CITESEARCH__INDEX_DIR": str(index),
            "CITESEARCH__WATCH__SETTLE_SECONDS": str(args.settle),
        }
        subprocess.run(
            [sys.executable, "-m", "indexer", "build", "--no-progress"], cwd=REPO, env=env, check=True
        )
        proc = _start_watch(env, log)
        try:
            added, deleted = _one_at_a_time(seeds, index, args.drops, rng)
            seconds, updates = _burst(seeds, index, args.burst, rng, log)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    print(f"# {describe_machine()}")
    print(f"collection of {args.documents} documents, watch.settle_seconds {args.settle:g}")
    print(f"one document added, until searchable: {_percentiles(added)} ({args.drops} documents)")
    print(f"one document deleted, until gone: {_percentiles(deleted)}")
    print(f"{args.burst} documents written at once: all searchable in {seconds:.2f} s, {updates} updates")


if __name__ == "__main__":
    main()
