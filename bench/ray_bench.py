"""Build throughput on one machine: ``python -m indexer build`` in this process versus ``--ray local``
with 1, 2, ... embedding actors, on the same slice of a BEIR corpus (SciFact), and whether the Ray
build gives the same index.

Each build is a fresh ``python -m indexer build --force`` process (model load, and for Ray its start,
included), into its own index folder; the figure is chunks per second of the whole command, and of
the build alone as the command reports it. Then every Ray index is compared with the local one (same
chunk ids, offsets and texts; largest vector difference). Run from the repository root, under the
heavy-job lock:

    flock /tmp/heavy.lock python -m bench.ray_bench --dataset /work/shared/bench/scifact --documents 1000
"""

from __future__ import annotations

import argparse
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import (
    CONFIG,
    REPO,
    describe_machine,
    first_documents,
    machine,
    warn_unless_locked,
    write_json,
)
from indexer.evaluation import load_beir, write_corpus
from indexer.snapshot import open_current

BUILD_SECONDS = re.compile(r"in ([0-9.]+)s")


def _cpus_per_actor(actors: int, cpus: int) -> float:
    """What each of ``actors`` embedding actors may reserve so that reading and chunking (0.25 CPU
    each) still fit on ``cpus``."""
    return min(1.0, math.floor((cpus - 0.5) / actors * 100) / 100)


def run_build(seeds: Path, index: Path, ray: int | None, cpus: int) -> dict[str, Any]:
    """One ``build --force`` (``ray``: on a local Ray with this many embedding actors); its timings."""
    env = {
        **os.environ,
        "CITESEARCH_CONFIG": str(CONFIG),
        "CITESEARCH__SEEDS_DIR": str(seeds),
        "CITESEARCH__INDEX_DIR": str(index),
    }
    command = [sys.executable, "-m", "indexer", "build", "--force", "--no-progress"]
    if ray is not None:
        command += ["--ray", "local", "--ray-actors", str(ray)]
        env["CITESEARCH__RAY__CPUS_PER_ACTOR"] = str(_cpus_per_actor(ray, cpus))
        env["CITESEARCH__RAY__LOCAL_CPUS"] = str(cpus)
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    found = BUILD_SECONDS.search(result.stdout)
    snapshot = open_current(index)
    try:
        chunks = snapshot.manifest.counts.chunks
    finally:
        snapshot.close()
    build = float(found.group(1)) if found else wall
    return {
        "mode": "local" if ray is None else f"ray local, {ray} actor{'s' if ray > 1 else ''}",
        "chunks": chunks,
        "wall_seconds": round(wall, 2),
        "build_seconds": round(build, 2),
        "chunks_per_second": round(chunks / wall, 1),
        "build_chunks_per_second": round(chunks / build, 1),
    }


def compare(local: Path, other: Path) -> dict[str, Any]:
    """Whether ``other``'s index holds the same chunks as ``local``'s, and how far its vectors are."""
    a, b = open_current(local), open_current(other)
    try:
        rows_a = {c.chunk_id: c for d in sorted(a.manifest.documents) for c in a.store.chunks_of(d)}
        rows_b = {c.chunk_id: c for d in sorted(b.manifest.documents) for c in b.store.chunks_of(d)}
        same = rows_a.keys() == rows_b.keys() and all(
            (x.char_start, x.char_end, x.text) == (rows_b[k].char_start, rows_b[k].char_end, rows_b[k].text)
            for k, x in rows_a.items()
        )
        va, vb = a.vectors(), b.vectors()
        ids = sorted(rows_a.keys() & rows_b.keys())
        diff = max(
            (float(np.max(np.abs(va[rows_a[k].row] - vb[rows_b[k].row]))) for k in ids),
            default=0.0,
        )
        return {"same_chunks": same, "max_vector_difference": diff}
    finally:
        a.close()
        b.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ray_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=Path("/work/shared/bench/scifact"))
    parser.add_argument("--documents", type=int, default=1000, help="first N documents of the corpus")
    parser.add_argument("--actors", type=int, nargs="+", default=[1, 2], help="embedding actor counts")
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 1, help="CPUs the local Ray may use")
    parser.add_argument(
        "--workdir", type=Path, help="where seeds and indexes go (default: a temporary folder)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    warn_unless_locked()
    collection = first_documents(load_beir(args.dataset), args.documents)
    with tempfile.TemporaryDirectory(prefix="ray-bench-") as tmp:
        work = args.workdir or Path(tmp)
        seeds = work / "seeds"
        write_corpus(collection, seeds)
        print(
            f"{len(collection.corpus)} documents of {args.dataset.name}; Ray on {args.cpus} CPUs", flush=True
        )
        print(f"machine: {describe_machine()}", flush=True)
        rows = [run_build(seeds, work / "index-local", None, args.cpus)]
        print(_line(rows[-1]), flush=True)
        for actors in args.actors:
            index = work / f"index-ray-{actors}"
            rows.append(run_build(seeds, index, actors, args.cpus))
            rows[-1].update(compare(work / "index-local", index))
            print(_line(rows[-1]), flush=True)
    local = rows[0]["chunks_per_second"]
    for row in rows[1:]:
        row["relative_to_local"] = round(row["chunks_per_second"] / local, 2)
    if args.json:
        write_json(
            args.json, {"documents": args.documents, "cpus": args.cpus, "machine": machine(), "runs": rows}
        )
    return 0


def _line(row: dict[str, Any]) -> str:
    text = (
        f"{row['mode']:<22} {row['chunks']:>6} chunks  command {row['wall_seconds']:>6.1f}s "
        f"({row['chunks_per_second']:>6.1f} chunks/s)  build {row['build_seconds']:>6.1f}s "
        f"({row['build_chunks_per_second']:>6.1f} chunks/s)"
    )
    if "same_chunks" in row:
        text += f"  same chunks: {row['same_chunks']}, max |dv| {row['max_vector_difference']:.1e}"
    return text


if __name__ == "__main__":
    sys.exit(main())
