"""Benchmark (not a test): the embedding model variants side by side on the same texts.

    flock /tmp/bench.lock .venv/bin/python bench/embed_bench.py --dataset ../shared/bench/scifact
    flock /tmp/bench.lock .venv/bin/python bench/embed_bench.py --dataset ../shared/bench/scifact \\
        --variant onnx-int8 --build-docs 1000

For each variant (torch, onnx-fp32, onnx-int8 by default): load time, the latency of one short query
embedded alone (SciFact's questions, one at a time, after a warm-up), and the throughput on passages of
about 200 model tokens (SciFact abstracts cut there) for several batch sizes, and the cost per query
when queries are embedded together (what the service's micro-batching can gain on the model), and
whether a query's vector depends on what it is batched with (it did with onnxruntime's per-batch
int8 quantisation; the per-token int8 recipe and float32 give cosine 0.999999).
``--build-docs N`` also indexes the first N documents with the real Builder in a temporary folder and
compares its embedding throughput with a bare ``embed`` of the very same chunks (reading, chunking,
FAISS, BM25 and writing included in the build). Run it under the shared lock: timings taken beside
other work mean nothing.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import msgspec
import numpy as np

from indexer.build.builder import Builder
from indexer.config import Settings, load_settings
from indexer.embedding import VARIANTS, Embedder, load_embedder
from indexer.evaluation import document_file, document_text, load_beir
from indexer.snapshot import open_current

REPO = Path(__file__).resolve().parents[1]


def passages(corpus: dict[str, tuple[str, str]], embedder: Embedder, count: int, tokens: int) -> list[str]:
    """``count`` passages of about ``tokens`` model tokens: documents' words up to that length."""
    out: list[str] = []
    for title, text in corpus.values():
        words = document_text(title, text).split()
        if len(out) >= count:
            break
        lo, hi = 1, len(words)
        if embedder.count_tokens(" ".join(words)) < tokens:
            continue
        while lo < hi:  # the fewest words that reach ``tokens`` model tokens
            mid = (lo + hi) // 2
            if embedder.count_tokens(" ".join(words[:mid])) >= tokens:
                hi = mid
            else:
                lo = mid + 1
        out.append(" ".join(words[:lo]))
    return out


def per_query_ms(embedder: Embedder, queries: list[str], size: int = 1) -> list[float]:
    """Milliseconds per query, one figure per call, when ``size`` queries are embedded in each call
    (after a warm-up): ``size`` 1 is a lone query's latency; larger sizes show what the service's
    micro-batching can save on the model (nothing, if the model is compute-bound)."""
    for start in range(0, min(20, len(queries)), size):
        embedder.embed(queries[start : start + size], batch_size=size)
    times = []
    for start in range(0, len(queries) - size + 1, size):
        began = time.perf_counter()
        embedder.embed(queries[start : start + size], batch_size=size)
        times.append((time.perf_counter() - began) * 1000 / size)
    return times


def batch_stability(embedder: Embedder, queries: list[str], texts: list[str]) -> tuple[float, float]:
    """(min, mean) cosine between each of up to 64 queries embedded alone and the same query embedded
    in one batch with the others and up to 64 passages: 1.0 when a vector does not depend on what it
    is batched with (the micro-batcher batches concurrent queries; the builder batches passages)."""
    queries = queries[:64]
    alone = np.vstack([embedder.embed([q]) for q in queries])
    together = embedder.embed(queries + texts[:64], batch_size=len(queries) + 64)[: len(queries)]
    cosines = (alone * together).sum(axis=1)
    return float(cosines.min()), float(cosines.mean())


def throughput(embedder: Embedder, texts: list[str], batch: int) -> float:
    embedder.embed(texts[:batch], batch_size=batch)
    started = time.perf_counter()
    embedder.embed(texts, batch_size=batch)
    return len(texts) / (time.perf_counter() - started)


def build_vs_encode(
    settings: Settings, embedder: Embedder, corpus: dict[str, tuple[str, str]], docs: int
) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="citesearch-embed-bench-") as tmp:
        root = Path(tmp)
        seeds = root / "seeds"
        seeds.mkdir()
        for doc_id, (title, text) in list(corpus.items())[:docs]:
            (seeds / document_file(doc_id)).write_text(document_text(title, text), encoding="utf-8")
        run = msgspec.structs.replace(settings, seeds_dir=seeds, index_dir=root / "index")
        report = Builder(run, lambda: embedder).build(force=True)
        snapshot = open_current(run.index_dir, verify=False)
        texts = [c.text for c in snapshot.store.chunks(range(snapshot.manifest.index.vectors))]
        snapshot.close()
    started = time.perf_counter()
    embedder.embed(texts, batch_size=settings.model.batch_size)
    encode = time.perf_counter() - started
    return {
        "documents": docs,
        "chunks": report.chunks,
        "build_seconds": report.seconds,
        "encode_seconds": encode,
        "build_chunks_per_second": report.chunks / report.seconds,
        "encode_chunks_per_second": len(texts) / encode,
        "ratio": encode / report.seconds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", type=Path, required=True, help="BEIR-format collection (SciFact)")
    parser.add_argument("--config", type=Path, default=REPO / "config.yaml")
    parser.add_argument(
        "--variant", action="append", choices=VARIANTS, help="repeat for several (default: all)"
    )
    parser.add_argument("--threads", type=int, help="onnxruntime threads (default: model.threads)")
    parser.add_argument("--queries", type=int, default=200, help="queries timed one at a time")
    parser.add_argument("--passages", type=int, default=256, help="~200-token passages for throughput")
    parser.add_argument("--batch", type=int, action="append", help="batch sizes (default: 8 16 32 64)")
    parser.add_argument(
        "--query-batch", type=int, action="append", help="query batch sizes timed (default: 1 4 16 32)"
    )
    parser.add_argument("--build-docs", type=int, default=0, help="also time a build of this many documents")
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    args = parser.parse_args()

    settings = load_settings(args.config, environ={})
    collection = load_beir(args.dataset, "train")
    queries = list(collection.queries.values())[: args.queries]
    batches = args.batch or [8, 16, 32, 64]
    # A batch size needs at least that many queries to be timed.
    query_batches = [b for b in args.query_batch or [1, 4, 16, 32] if b <= len(queries)]
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}")
    results: dict[str, dict[str, object]] = {}
    texts: list[str] = []
    for variant in args.variant or list(VARIANTS):
        model = msgspec.structs.replace(settings.model, variant=variant)
        if args.threads is not None:
            model = msgspec.structs.replace(model, threads=args.threads)
        started = time.perf_counter()
        embedder = load_embedder(model)
        load = time.perf_counter() - started
        if not texts:
            texts = passages(collection.corpus, embedder, args.passages, 200)
        alone = per_query_ms(embedder, queries)
        p50, p95 = statistics.median(alone), float(np.percentile(alone, 95))
        rates = {batch: throughput(embedder, texts, batch) for batch in batches}
        per_query = {
            size: p50 if size == 1 else statistics.median(per_query_ms(embedder, queries, size))
            for size in query_batches
        }
        stable_min, stable_mean = batch_stability(embedder, queries, texts)
        result: dict[str, object] = {
            "load_seconds": round(load, 2),
            "query_ms_p50": round(p50, 2),
            "query_ms_p95": round(p95, 2),
            "passages_per_second": {str(b): round(r, 1) for b, r in rates.items()},
            "query_ms_per_query_in_batch": {str(b): round(ms, 2) for b, ms in per_query.items()},
            "cosine_alone_vs_batched": {"min": round(stable_min, 6), "mean": round(stable_mean, 6)},
        }
        line = (
            f"{variant:<10} load {load:5.1f}s  query p50 {p50:6.2f} ms p95 {p95:6.2f} ms  "
            f"~200-token passages/s: " + "  ".join(f"b{b} {r:5.1f}" for b, r in rates.items())
        )
        print(line)
        batched = "  ".join(f"b{b} {ms:.2f}" for b, ms in per_query.items())
        print(f"{'':<10} ms per query embedded in a batch of queries: {batched}")
        print(
            f"{'':<10} a query's vector alone vs batched with others and passages: cosine min "
            f"{stable_min:.6f} mean {stable_mean:.6f}",
            flush=True,
        )
        if args.build_docs:
            run = msgspec.structs.replace(settings, model=model)
            figures = build_vs_encode(run, embedder, collection.corpus, args.build_docs)
            result["build"] = {k: round(v, 3) for k, v in figures.items()}
            print(
                f"{'':<10} build of {args.build_docs} docs ({figures['chunks']:.0f} chunks): "
                f"{figures['build_seconds']:.1f}s = {figures['build_chunks_per_second']:.1f} chunks/s; bare "
                f"encode of the same chunks {figures['encode_seconds']:.1f}s = "
                f"{figures['encode_chunks_per_second']:.1f} chunks/s; build/encode throughput "
                f"{figures['ratio']:.2f}",
                flush=True,
            )
        results[variant] = result
        del embedder
    print(f"({len(queries)} queries; {len(texts)} passages of ~200 model tokens)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
