"""Benchmark (not a test): the embedding model variants side by side on the same texts.

    flock /tmp/heavy.lock .venv/bin/python -m bench.embed_bench --dataset ../shared/bench/scifact
    flock /tmp/heavy.lock .venv/bin/python -m bench.embed_bench --dataset ../shared/bench/scifact \\
        --variant onnx-int8 --build-docs 1000

For each variant (torch, onnx-fp32, onnx-int8 by default): load time; the latency of one short query
embedded alone (SciFact's questions, one at a time, after a warm-up); the throughput on passages of
about 200 model tokens (SciFact abstracts cut there) for several batch sizes; the cost per query
when queries are embedded together (what the service's micro-batching can gain on the model);
whether a query's vector depends on what it is batched with (cosine of a query alone against the
same query in a batch with others); and how close its vectors are to torch's, the reference: the
cosine of each passage's and each query's vector to torch's vector of the same text (mean, minimum
and 1st percentile; torch's own vectors are computed too when torch is not among the variants).
``--build-docs N`` also indexes the first N documents with the real Builder in a temporary folder and
compares its embedding throughput with a bare ``embed`` of the very same chunks (reading, chunking,
FAISS, BM25 and writing included in the build). Run it under the heavy-job lock: timings taken beside
other work mean nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from bench.common import CONFIG, describe_machine, first_documents, warn_unless_locked, write_json
from indexer.build import Builder
from indexer.config import VARIANTS, ModelSettings, Settings, load_settings
from indexer.embedding import Embedder, Vectors, load_embedder
from indexer.evaluation import Collection, document_text, load_beir, write_corpus
from indexer.snapshot import open_current

REFERENCE = "torch"
"""The variant whose vectors the others are compared with."""


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


def batch_stability(embedder: Embedder, queries: list[str], texts: list[str]) -> dict[str, float]:
    """Cosine between each of up to 64 queries embedded alone and the same query embedded in one
    batch with the others and up to 64 passages: 1.0 when a vector does not depend on what it is
    batched with (the micro-batcher batches concurrent queries; the builder batches passages)."""
    queries = queries[:64]
    alone = np.vstack([embedder.embed([q]) for q in queries])
    together = embedder.embed(queries + texts[:64], batch_size=len(queries) + 64)[: len(queries)]
    cosines = (alone * together).sum(axis=1)
    return {"min": round(float(cosines.min()), 6), "mean": round(float(cosines.mean()), 6)}


def cosine_stats(vectors: Vectors, reference: Vectors) -> dict[str, float]:
    """Row-wise cosine of two sets of normalised vectors of the same texts: mean, min, 1st percentile."""
    cosines = (vectors.astype(np.float64) * reference.astype(np.float64)).sum(axis=1)
    return {
        "mean": round(float(cosines.mean()), 6),
        "min": round(float(cosines.min()), 6),
        "p1": round(float(np.percentile(cosines, 1)), 6),
    }


def throughput(embedder: Embedder, texts: list[str], batch: int) -> float:
    embedder.embed(texts[:batch], batch_size=batch)
    started = time.perf_counter()
    embedder.embed(texts, batch_size=batch)
    return len(texts) / (time.perf_counter() - started)


def build_vs_encode(settings: Settings, embedder: Embedder, collection: Collection) -> dict[str, float]:
    """A build of ``collection`` with the real Builder against a bare ``embed`` of the same chunks."""
    with tempfile.TemporaryDirectory(prefix="citesearch-embed-bench-") as tmp:
        root = Path(tmp)
        write_corpus(collection, root / "seeds")
        run = msgspec.structs.replace(settings, seeds_dir=root / "seeds", index_dir=root / "index")
        report = Builder(run, lambda: embedder).build(force=True)
        snapshot = open_current(run.index_dir, verify=False)
        texts = [c.text for c in snapshot.store.chunks(range(snapshot.manifest.index.vectors))]
        snapshot.close()
    started = time.perf_counter()
    embedder.embed(texts, batch_size=settings.model.batch_size)
    encode = time.perf_counter() - started
    return {
        "documents": len(collection.corpus),
        "chunks": report.chunks,
        "build_seconds": report.seconds,
        "encode_seconds": encode,
        "build_chunks_per_second": report.chunks / report.seconds,
        "encode_chunks_per_second": len(texts) / encode,
        "ratio": encode / report.seconds,
    }


class Texts:
    """The queries and passages every variant embeds, and torch's vectors of them (the reference)."""

    def __init__(self, queries: list[str], passages: list[str]) -> None:
        self.queries = queries
        self.passages = passages
        self.reference: tuple[Vectors, Vectors] | None = None

    def vectors(self, embedder: Embedder) -> tuple[Vectors, Vectors]:
        return embedder.embed(self.queries, batch_size=32), embedder.embed(self.passages, batch_size=32)

    def to_reference(self, embedder: Embedder) -> dict[str, dict[str, float]]:
        assert self.reference is not None
        queries, passages = self.vectors(embedder)
        return {
            "queries": cosine_stats(queries, self.reference[0]),
            "passages": cosine_stats(passages, self.reference[1]),
        }


def measure(
    embedder: Embedder, texts: Texts, batches: Sequence[int], query_batches: Sequence[int]
) -> dict[str, Any]:
    """Every figure of one loaded variant."""
    queries = texts.queries
    alone = per_query_ms(embedder, queries)
    p50 = statistics.median(alone)
    per_query = {
        size: p50 if size == 1 else statistics.median(per_query_ms(embedder, queries, size))
        for size in query_batches
    }
    return {
        "query_ms_p50": round(p50, 2),
        "query_ms_p95": round(float(np.percentile(alone, 95)), 2),
        "passages_per_second": {str(b): round(throughput(embedder, texts.passages, b), 1) for b in batches},
        "query_ms_per_query_in_batch": {str(b): round(ms, 2) for b, ms in per_query.items()},
        "cosine_alone_vs_batched": batch_stability(embedder, queries, texts.passages),
        "cosine_to_torch": texts.to_reference(embedder),
    }


def print_variant(variant: str, result: dict[str, Any]) -> None:
    rates = "  ".join(f"b{b} {r:5.1f}" for b, r in result["passages_per_second"].items())
    print(
        f"{variant:<10} load {result['load_seconds']:5.1f}s  query p50 {result['query_ms_p50']:6.2f} ms "
        f"p95 {result['query_ms_p95']:6.2f} ms  ~200-token passages/s: {rates}"
    )
    batched = "  ".join(f"b{b} {ms:.2f}" for b, ms in result["query_ms_per_query_in_batch"].items())
    print(f"{'':<10} ms per query embedded in a batch of queries: {batched}")
    stable = result["cosine_alone_vs_batched"]
    print(
        f"{'':<10} a query's vector alone vs batched with others and passages: cosine min "
        f"{stable['min']:.6f} mean {stable['mean']:.6f}"
    )
    for kind, figures in result["cosine_to_torch"].items():
        print(
            f"{'':<10} cosine to torch's vectors, {kind}: mean {figures['mean']:.6f} "
            f"min {figures['min']:.6f} p1 {figures['p1']:.6f}"
        )
    if "build" in result:
        build = result["build"]
        print(
            f"{'':<10} build of {build['documents']:.0f} docs ({build['chunks']:.0f} chunks): "
            f"{build['build_seconds']:.1f}s = {build['build_chunks_per_second']:.1f} chunks/s; bare "
            f"encode of the same chunks {build['encode_seconds']:.1f}s = "
            f"{build['encode_chunks_per_second']:.1f} chunks/s; build/encode throughput {build['ratio']:.2f}"
        )
    sys.stdout.flush()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.embed_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dataset", type=Path, required=True, help="BEIR-format collection (SciFact)")
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument(
        "--variant", action="append", choices=VARIANTS, help="repeat for several (default: all)"
    )
    parser.add_argument("--threads", type=int, help="onnxruntime threads (default: model.threads)")
    parser.add_argument("--queries", type=int, default=200, help="queries timed one at a time")
    parser.add_argument("--passages", type=int, default=256, help="~200-token passages for throughput")
    parser.add_argument("--passage-tokens", type=int, default=200, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, action="append", help="batch sizes (default: 8 16 32 64)")
    parser.add_argument(
        "--query-batch", type=int, action="append", help="query batch sizes timed (default: 1 4 16 32)"
    )
    parser.add_argument("--build-docs", type=int, default=0, help="also time a build of this many documents")
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    warn_unless_locked()
    settings = load_settings(args.config, environ={})
    collection = load_beir(args.dataset, "train")
    queries = list(collection.queries.values())[: args.queries]
    batches = args.batch or [8, 16, 32, 64]
    # A batch size needs at least that many queries to be timed.
    query_batches = [b for b in args.query_batch or [1, 4, 16, 32] if b <= len(queries)]
    variants: list[str] = args.variant or list(VARIANTS)
    print(f"machine: {describe_machine()}")

    def model(variant: str) -> ModelSettings:
        chosen = msgspec.structs.replace(settings.model, variant=variant)
        return chosen if args.threads is None else msgspec.structs.replace(chosen, threads=args.threads)

    # The reference first: every other variant's vectors are compared with it.
    order = sorted(variants, key=lambda v: v != REFERENCE)
    if REFERENCE not in variants:
        order.insert(0, REFERENCE)
    texts: Texts | None = None
    results: dict[str, dict[str, Any]] = {}
    for variant in order:
        started = time.perf_counter()
        embedder = load_embedder(model(variant))
        load = time.perf_counter() - started
        if texts is None:
            texts = Texts(queries, passages(collection.corpus, embedder, args.passages, args.passage_tokens))
        if variant == REFERENCE:
            texts.reference = texts.vectors(embedder)
        if variant in variants:
            result = {"load_seconds": round(load, 2), **measure(embedder, texts, batches, query_batches)}
            if args.build_docs:
                run = msgspec.structs.replace(settings, model=model(variant))
                built = build_vs_encode(run, embedder, first_documents(collection, args.build_docs))
                result["build"] = {k: round(v, 3) for k, v in built.items()}
            print_variant(variant, result)
            results[variant] = result
        del embedder
    assert texts is not None
    print(f"({len(queries)} queries; {len(texts.passages)} passages of ~{args.passage_tokens} model tokens)")
    if args.json:
        write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
