"""What a replica costs in memory: ``python -m service --workers N`` on a published index, each
worker's resident memory (RSS), its proportional share (PSS: pages shared with the other workers
counted once across them) and its private memory, after a warm-up of searches; and the snapshot's
files per chunk, for the arithmetic at a million chunks.

Run twice to see what memory-mapping shares: with the index files read into each process (the
default below ``index.mmap_min_mb``, 256 MB) and memory-mapped (``--mmap``: ``index.mmap_min_mb``
0). Run from the repository root, under the heavy-job lock, on an index built from SciFact (for
one: ``python -m indexer eval`` leaves it under ``~/.cache/citesearch/eval/*/index``):

    flock /tmp/heavy.lock python -m bench.replica_memory --workers 2 \
        --index ~/.cache/citesearch/eval/scifact-<hash>/index
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import CONFIG, REPO, describe_machine, free_port, machine, warn_unless_locked, write_json
from indexer.snapshot import current_dir, read_manifest

QUERIES = (
    "vitamin D deficiency and bone density",
    "gene expression in cancer cells",
    "antibiotic resistance in bacteria",
    "effects of exercise on the heart",
    "neurons in the visual cortex",
)
MIB = 2**20


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def memory(pid: int) -> dict[str, float]:
    """RSS, PSS and private memory of ``pid`` in MiB (``/proc/<pid>/smaps_rollup``)."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0]) / 1024
    private = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
    return {
        "rss_mib": round(fields["Rss"], 1),
        "pss_mib": round(fields["Pss"], 1),
        "private_mib": round(private, 1),
    }


def files_per_chunk(index: Path) -> dict[str, Any]:
    """The current snapshot's files, in bytes per chunk."""
    directory = current_dir(index)
    chunks = read_manifest(directory).counts.chunks
    sizes: dict[str, int] = {}
    for path in directory.rglob("*"):
        if path.is_file():
            top = path.relative_to(directory).parts[0]
            sizes[top] = sizes.get(top, 0) + path.stat().st_size
    return {"chunks": chunks, "bytes_per_chunk": {k: round(v / chunks) for k, v in sorted(sizes.items())}}


def measure(index: Path, workers: int, *, mmap: bool, queries: int) -> dict[str, Any]:
    port = free_port()
    env = {
        **os.environ,
        "CITESEARCH_CONFIG": str(CONFIG),
        "CITESEARCH__INDEX_DIR": str(index),
        "CITESEARCH__OBSERVABILITY__ACCESS_LOG": "false",
        "CITESEARCH__INDEX__MMAP_MIN_MB": "0" if mmap else "256",
    }
    command = [sys.executable, "-m", "service", "--workers", str(workers), "--port", str(port)]
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if len(_children(proc.pid)) == workers and all(
                    httpx.get(f"{base}/ready", timeout=2).status_code == 200 for _ in range(4 * workers)
                ):
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{' '.join(command)} did not become ready")
            time.sleep(0.5)
        for i in range(queries):  # new connections: the kernel spreads them over the workers
            response = httpx.post(f"{base}/v1/search", json={"query": QUERIES[i % len(QUERIES)]}, timeout=60)
            response.raise_for_status()
        per_worker = [memory(pid) for pid in _children(proc.pid)]
        supervisor = memory(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return {
        "mmap": mmap,
        "workers": per_worker,
        "supervisor": supervisor,
        "total_pss_mib": round(sum(w["pss_mib"] for w in per_worker) + supervisor["pss_mib"], 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.replica_memory", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--index", type=Path, required=True, help="an index folder (its current snapshot)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--queries", type=int, default=200, help="searches before measuring")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    warn_unless_locked()
    print(f"machine: {describe_machine()}", flush=True)
    files = files_per_chunk(args.index)
    print(f"snapshot: {files['chunks']} chunks; bytes per chunk: {files['bytes_per_chunk']}", flush=True)
    runs = []
    for mmap in (False, True):
        run = measure(args.index, args.workers, mmap=mmap, queries=args.queries)
        runs.append(run)
        mode = "memory-mapped" if mmap else "read into memory"
        for i, worker in enumerate(run["workers"]):
            print(
                f"{mode:<17} worker {i}: RSS {worker['rss_mib']:7.1f} MiB  PSS {worker['pss_mib']:7.1f} MiB  "
                f"private {worker['private_mib']:7.1f} MiB",
                flush=True,
            )
        print(
            f"{mode:<17} supervisor: RSS {run['supervisor']['rss_mib']:.1f} MiB; "
            f"all: PSS {run['total_pss_mib']} MiB"
        )
    per_chunk = sum(files["bytes_per_chunk"].values())
    print(
        f"files: {per_chunk} bytes per chunk = "
        f"{per_chunk * 1_000_000 / MIB / 1024:.2f} GiB per million chunks"
    )
    if args.json:
        write_json(args.json, {"files": files, "runs": runs, "machine": machine()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
