"""Scale benchmark of the vector index types at 100k and 1M chunks (a script that prints figures).

    flock /tmp/heavy.lock python -m bench.scale_bench                        # 100k and 1M, every type
    flock /tmp/heavy.lock python -m bench.scale_bench --sizes 100000 --types flat hnsw

Vectors: if an evaluation index exists (``python -m indexer eval`` leaves one under
``~/.cache/citesearch/eval/*/index``), its real all-MiniLM-L6-v2 chunk vectors (SciFact: 11,813) are
the centres of a mixture: each synthetic vector is a real one plus noise drawn with the real vectors'
own covariance (their principal directions and variances), scaled so that it keeps a cosine of about
0.85 with its centre, then normalised. Without one, centres are drawn from a Gaussian with a
power-law spectrum. Queries come from the same mixture (fresh noise). The vectors are written once to
``--workdir`` and reused.

For each index type (the product's own backends, built as ``index.type`` would build them): build
time (2 FAISS threads), index file size, then in a fresh process per load mode (read into memory,
memory-mapped): load time, resident memory added by the load and after searching, and for each
search-time setting (HNSW efSearch, IVF nprobe; each loaded as a snapshot's manifest would have it)
recall@10 against exact search and single-query latency p50/p95 with 1 FAISS thread, at k=10 and at
k=100 (the service's dense candidate depth, ``retrieval.candidates``). Run it under the heavy-job
lock: timing figures are distorted by other jobs.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from bench.common import REPO, describe_machine, rss_mib, warn_unless_locked, write_json
from indexer.config import INDEX_TYPES, HnswSettings, IndexSettings, IvfSettings
from indexer.embedding import Vectors
from indexer.snapshot.manifest import IndexInfo
from indexer.snapshot.vectors import VectorIndex
from indexer.snapshot.vectors.choice import plan_index

DIM = 384
COSINE_TO_CENTRE = 0.85
BLOCK = 50_000


# -- data ---------------------------------------------------------------------------------------


def real_vectors() -> npt.NDArray[np.float32] | None:
    paths = sorted(glob.glob(str(Path.home() / ".cache/citesearch/eval/*/index/current/vectors.npy")))
    if not paths:
        return None
    vectors: npt.NDArray[np.float32] = np.load(paths[0]).astype(np.float32)
    return vectors if vectors.shape[1] == DIM and len(vectors) >= 1000 else None


def mixture(
    source: str, real: npt.NDArray[np.float32] | None = None
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float64], str]:
    """Centres, a noise basis (rows: principal directions times standard deviations), a description.
    ``real``: the real vectors to draw around (default: an evaluation index's, if there is one)."""
    rng = np.random.default_rng(0)
    if real is None:
        real = real_vectors() if source in ("auto", "real") else None
    if source == "real" and real is None:
        raise SystemExit("no evaluation index under ~/.cache/citesearch/eval: run python -m indexer eval")
    if real is not None:
        centred = real - real.mean(axis=0)
        _, sing, vt = np.linalg.svd(centred.astype(np.float64), full_matrices=False)
        basis = (sing[:, None] / np.sqrt(len(real))) * vt
        return real, basis, f"real SciFact chunk vectors ({len(real)}) as mixture centres"
    spectrum = np.arange(1, DIM + 1) ** -0.8
    basis = np.sqrt(spectrum / spectrum.sum())[:, None] * np.linalg.qr(rng.standard_normal((DIM, DIM)))[0]
    centres = rng.standard_normal((10_000, DIM)) @ basis + 0.3 * rng.standard_normal(DIM) / np.sqrt(DIM)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    return centres.astype(np.float32), basis, "synthetic Gaussian mixture (10000 power-law centres)"


def draw(
    count: int, centres: npt.NDArray[np.float32], basis: npt.NDArray[np.float64], seed: int
) -> npt.NDArray[np.float32]:
    rng = np.random.default_rng(seed)
    scale = np.sqrt((1 / COSINE_TO_CENTRE**2 - 1) / float((basis**2).sum()))
    picks = rng.integers(0, len(centres), count)
    noise = rng.standard_normal((count, len(basis))) @ basis
    out = centres[picks] + scale * noise
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    drawn: npt.NDArray[np.float32] = out.astype(np.float32)
    return drawn


def dataset(workdir: Path, size: int, queries: int, source: str) -> tuple[Path, Path, str]:
    base = workdir / f"{source}-{size}.npy"
    query_path = workdir / f"{source}-{size}-queries.npy"
    meta = workdir / f"{source}-{size}.txt"
    if not (base.exists() and query_path.exists() and meta.exists()):
        centres, basis, description = mixture(source)
        tmp = str(base) + ".tmp.npy"
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(size, DIM))
        for start in range(0, size, BLOCK):
            out[start : start + BLOCK] = draw(min(BLOCK, size - start), centres, basis, seed=1 + start)
        out.flush()
        del out
        os.replace(tmp, base)
        np.save(query_path, draw(queries, centres, basis, seed=10**9))
        meta.write_text(description)
    return base, query_path, meta.read_text()


def ground_truth(base: Path, queries: Path, k: int) -> npt.NDArray[np.int64]:
    import faiss

    truth = queries.with_suffix(f".truth{k}.npy")
    if truth.exists():
        cached: npt.NDArray[np.int64] = np.load(truth)
        return cached
    vectors = np.load(base, mmap_mode="r")
    index = faiss.IndexFlatIP(DIM)
    for start in range(0, len(vectors), BLOCK):
        index.add(np.ascontiguousarray(vectors[start : start + BLOCK]))
    ids: npt.NDArray[np.int64] = index.search(np.load(queries), k)[1]
    np.save(truth, ids)
    return ids


# -- measuring one loaded index (in a fresh process) ----------------------------------------------


def time_queries(
    index: VectorIndex, queries: Vectors, truth: npt.NDArray[np.int64], k: int
) -> dict[str, float]:
    """Recall@10 against exact search and single-query latency of ``index`` at depth ``k``."""
    for q in queries[:20]:  # warm-up (pages in a mapped file, caches)
        index.search(q[None, :], k)
    times = []
    found = np.empty((len(queries), 10), dtype=np.int64)
    for i, q in enumerate(queries):
        t0 = time.perf_counter()
        _, ids = index.search(q[None, :], k)
        times.append(time.perf_counter() - t0)
        found[i] = ids[0, :10]
    recall = float(np.mean([len(set(found[i]) & set(truth[i])) / 10 for i in range(len(queries))]))
    return {
        "recall10": round(recall, 4),
        "p50_ms": round(1000 * float(np.percentile(times, 50)), 3),
        "p95_ms": round(1000 * float(np.percentile(times, 95)), 3),
    }


def measure(args: argparse.Namespace) -> None:
    """Child process: load one index file (mmap or not), then time single queries for each variant
    of its search-time parameters (each loaded as a manifest with those parameters opens it)."""
    import faiss

    from indexer.snapshot.vectors import load_index

    faiss.omp_set_num_threads(1)
    variants = [msgspec.json.decode(v, type=IndexInfo) for v in json.loads(Path(args.variants).read_text())]
    queries: Vectors = np.load(args.query_file)
    truth: npt.NDArray[np.int64] = np.load(args.truth)
    before = rss_mib()
    started = time.perf_counter()
    index = load_index(variants[0], Path(args.index), mmap=args.mmap)
    load_seconds = time.perf_counter() - started
    loaded = rss_mib()
    results = []
    after_search = loaded
    for number, info in enumerate(variants):
        if number:
            del index
            index = load_index(info, Path(args.index), mmap=args.mmap)
        row: dict[str, Any] = {"params": label(info)}
        for k in (10, 100):
            row[f"k{k}"] = time_queries(index, queries, truth, k)
        results.append(row)
        if not number:
            after_search = rss_mib()
    print(
        json.dumps(
            {
                "load_s": round(load_seconds, 3),
                "rss_load_mb": round(loaded - before, 1),
                "rss_after_search_mb": round(after_search - before, 1),
                "variants": results,
            }
        )
    )


def label(info: IndexInfo) -> str:
    if info.hnsw is not None:
        return f"M={info.hnsw.m} efC={info.hnsw.ef_construction} efSearch={info.hnsw.ef_search}"
    if info.ivf is not None:
        text = f"nlist={info.ivf.nlist} nprobe={info.ivf.nprobe}"
        if info.pq is not None:
            text += f" PQ{info.pq.m}x{info.pq.nbits} refine={info.pq.refine}"
        return text
    return "exact"


# -- driver -------------------------------------------------------------------------------------


def settings_for(kind: str, args: argparse.Namespace, ef: int = 64, nprobe: int = 32) -> IndexSettings:
    return IndexSettings(
        type=kind,  # type: ignore[arg-type]
        hnsw=HnswSettings(m=args.hnsw_m, ef_construction=args.ef_construction, ef_search=ef),
        ivf=IvfSettings(nprobe=nprobe, pq_m=args.pq_m, pq_refine=args.pq_refine),
    )


def run_size(args: argparse.Namespace, size: int) -> list[dict[str, Any]]:
    import faiss

    from indexer.snapshot.vectors import build_index

    base, queries, description = dataset(args.workdir, size, args.queries, args.source)
    print(f"\n== {size:,} vectors x {DIM}: {description}; {args.queries} queries", flush=True)
    truth_path = queries.with_suffix(".truth10.npy")
    faiss.omp_set_num_threads(2)
    ground_truth(base, queries, 10)
    rows = []
    for kind in args.types:
        plans = [plan_index(settings_for(kind, args, ef=ef), size, DIM) for ef in args.ef_search]
        if kind in ("ivf", "ivfpq"):
            plans = [plan_index(settings_for(kind, args, nprobe=p), size, DIM) for p in args.nprobe]
        elif kind == "flat":
            plans = plans[:1]
        if plans[0].type != kind:
            print(f"{kind}: the plan falls back to {plans[0].type} at this size; skipped")
            continue
        path = args.workdir / f"{args.source}-{size}-{kind}-{label(plans[0]).split(' ')[0]}.faiss"
        vectors = np.load(base, mmap_mode="r")
        faiss.omp_set_num_threads(2)
        started = time.perf_counter()
        index = build_index(plans[0], vectors)
        build_seconds = time.perf_counter() - started
        index.save(path)
        del index
        variants_path = args.workdir / "variants.json"
        variants_path.write_text(json.dumps([msgspec.json.encode(p).decode() for p in plans]))
        row: dict[str, Any] = {
            "size": size,
            "type": kind,
            "build_s": round(build_seconds, 1),
            "file_mb": round(path.stat().st_size / 2**20, 1),
        }
        for mmap in (False, True):
            command = [
                sys.executable,
                "-m",
                "bench.scale_bench",
                "--measure",
                "--index",
                str(path),
                "--variants",
                str(variants_path),
                "--query-file",
                str(queries),
                "--truth",
                str(truth_path),
            ] + (["--mmap"] if mmap else [])
            out = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True).stdout
            row["mmap" if mmap else "ram"] = json.loads(out.strip().splitlines()[-1])
        rows.append(row)
        print_row(row, flush=True)
        if not args.keep_files:
            path.unlink()
    return rows


def print_row(row: dict[str, Any], flush: bool = False) -> None:
    ram, mapped = row["ram"], row["mmap"]
    print(
        f"{row['type']:6} build {row['build_s']:7.1f} s  file {row['file_mb']:7.1f} MB  "
        f"load {ram['load_s']:.2f} s (mmap {mapped['load_s']:.3f} s)  "
        f"RSS +{ram['rss_load_mb']:.0f} MB (mmap +{mapped['rss_load_mb']:.0f} MB at load, "
        f"+{mapped['rss_after_search_mb']:.0f} MB after the queries)",
        flush=flush,
    )
    for variant, mapped_variant in zip(ram["variants"], mapped["variants"], strict=True):
        k10, k100 = variant["k10"], variant["k100"]
        print(
            f"    {variant['params']:42} recall@10 {k10['recall10']:.3f}  "
            f"p50 {k10['p50_ms']:7.2f} ms  p95 {k10['p95_ms']:7.2f} ms  | k=100: recall@10 "
            f"{k100['recall10']:.3f} p50 {k100['p50_ms']:7.2f} ms p95 {k100['p95_ms']:7.2f} ms  "
            f"| mmap k=10 p50 {mapped_variant['k10']['p50_ms']:.2f} ms",
            flush=flush,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--types", nargs="+", default=list(INDEX_TYPES), choices=INDEX_TYPES)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--source", choices=["auto", "real", "synthetic"], default="auto")
    parser.add_argument("--ef-search", type=int, nargs="+", default=[16, 32, 64, 128])
    parser.add_argument("--nprobe", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--hnsw-m", type=int, default=HnswSettings().m)
    parser.add_argument("--ef-construction", type=int, default=HnswSettings().ef_construction)
    parser.add_argument("--pq-m", type=int, default=IvfSettings().pq_m)
    parser.add_argument("--pq-refine", type=int, default=IvfSettings().pq_refine)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/citesearch-scale"))
    parser.add_argument("--keep-files", action="store_true", help="keep the index files in --workdir")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    # internal: one measurement in a fresh process
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--index", help=argparse.SUPPRESS)
    parser.add_argument("--variants", help=argparse.SUPPRESS)
    parser.add_argument("--truth", help=argparse.SUPPRESS)
    parser.add_argument("--query-file", help=argparse.SUPPRESS)
    parser.add_argument("--mmap", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        measure(args)
        return 0
    warn_unless_locked()
    args.workdir.mkdir(parents=True, exist_ok=True)
    import faiss

    print(f"faiss {faiss.__version__}; {describe_machine()}; queries: 1 FAISS thread; builds: 2")
    rows = []
    for size in args.sizes:
        rows.extend(run_size(args, size))
    if args.json:
        write_json(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
