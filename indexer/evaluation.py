"""Measure retrieval quality on a BEIR-format collection with the project's own indexer and retriever.

The corpus is written as one ``<_id>.txt`` file per document (title, blank line, text) into a work
folder, indexed by the normal :class:`~indexer.builder.Builder` (so unchanged documents and their
vectors are reused between runs), and every judged query goes through :class:`~indexer.retriever.
Retriever` — the code the service runs. A document's score is its best chunk's score. Metrics come
from ``ranx``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote

import msgspec
import numpy as np

from indexer.builder import Builder, BuildReport
from indexer.config import Settings
from indexer.embedder import Embedder, Vectors, load_embedder
from indexer.errors import IndexerError, SnapshotError
from indexer.manifest import read_manifest
from indexer.retriever import MODES, Retriever
from indexer.snapshot import current_dir, open_current
from indexer.vectors import configure_search

log = logging.getLogger(__name__)

METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10")
DEPTH = 100
"""Documents ranked per query (enough for Recall@100)."""
CACHE_ENV = "CITESEARCH_EVAL_CACHE"


class EvaluationError(IndexerError):
    """The collection cannot be read or evaluated."""


@dataclass(frozen=True)
class Collection:
    """A BEIR collection restricted to the judged queries of one split."""

    name: str
    corpus: dict[str, tuple[str, str]]
    """``_id`` -> (title, text), in file order."""
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    """query id -> {document id: relevance}; only queries with a relevant document."""


def load_beir(directory: Path, split: str = "train") -> Collection:
    """Read ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv`` from ``directory``."""
    directory = directory.resolve()
    paths = {name: directory / name for name in ("corpus.jsonl", "queries.jsonl")}
    paths["qrels"] = directory / "qrels" / f"{split}.tsv"
    for path in paths.values():
        if not path.is_file():
            raise EvaluationError(f"{path} not found: not a BEIR collection (or no split {split!r})")
    corpus: dict[str, tuple[str, str]] = {}
    for record in _jsonl(paths["corpus.jsonl"]):
        corpus[str(record["_id"])] = (str(record.get("title") or ""), str(record.get("text") or ""))
    qrels: dict[str, dict[str, int]] = {}
    with paths["qrels"].open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            parts = line.rstrip("\n").split("\t")
            if (number == 1 and parts[0] == "query-id") or not line.strip():
                continue
            if len(parts) < 3:
                raise EvaluationError(f"{paths['qrels']}:{number}: expected query-id, corpus-id, score")
            query_id, doc_id, relevance = parts[0], parts[1], int(parts[2])
            if relevance > 0 and doc_id in corpus:
                qrels.setdefault(query_id, {})[doc_id] = relevance
    queries = {
        str(r["_id"]): str(r["text"]) for r in _jsonl(paths["queries.jsonl"]) if str(r["_id"]) in qrels
    }
    qrels = {q: docs for q, docs in qrels.items() if q in queries}
    if not qrels:
        raise EvaluationError(f"{paths['qrels']}: no judged query has a relevant document in the corpus")
    return Collection(directory.name, corpus, queries, qrels)


def _jsonl(path: Path) -> Iterable[dict[str, object]]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise EvaluationError(f"{path}:{number}: not JSON: {exc}") from exc


def slice_collection(collection: Collection, queries: int, distractors: int) -> Collection:
    """A small, deterministic piece of ``collection``: its first ``queries`` judged queries, every
    document judged for them, and the first ``distractors`` other documents of the corpus."""
    kept = list(collection.queries)[:queries]
    qrels = {q: collection.qrels[q] for q in kept}
    judged = {d for docs in qrels.values() for d in docs}
    others = [d for d in collection.corpus if d not in judged][:distractors]
    wanted = judged | set(others)
    corpus = {d: v for d, v in collection.corpus.items() if d in wanted}
    return Collection(
        f"{collection.name}-slice{queries}x{distractors}",
        corpus,
        {q: collection.queries[q] for q in kept},
        qrels,
    )


# -- the work folder ------------------------------------------------------------------------------


def document_file(doc_id: str) -> str:
    """The file name of a corpus document: its ``_id`` made safe for a path, plus ``.txt``."""
    name = quote(doc_id, safe="")
    return ("%2E" + name[1:] if name.startswith(".") else name) + ".txt"


def document_id(file_name: str) -> str:
    return unquote(file_name.removesuffix(".txt"))


def document_text(title: str, text: str) -> str:
    """Title first, then the text, as BEIR indexes them."""
    return f"{title}\n\n{text}" if title else text


def default_workdir(collection: Collection, settings: Settings) -> Path:
    """``~/.cache/citesearch/eval/<name>-<hash>``: one folder per model, model variant and chunking
    settings, so an index whose vectors fit the configuration is found again."""
    fields: dict[str, object] = {
        "model": settings.model.name.lower(),
        "chunking": msgspec.to_builtins(settings.chunking),
        "index": settings.index.type,
    }
    if settings.model.variant != "torch":  # torch keeps the folder it had before variants existed
        fields["variant"] = settings.model.variant
    key = json.dumps(fields, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    base = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "citesearch" / "eval")
    return base / f"{collection.name}-{digest}"


def write_corpus(collection: Collection, seeds: Path) -> int:
    """Mirror the corpus into ``seeds`` (one file per document); returns how many files changed."""
    seeds.mkdir(parents=True, exist_ok=True)
    wanted: dict[str, bytes] = {
        document_file(doc_id): document_text(title, text).encode("utf-8")
        for doc_id, (title, text) in collection.corpus.items()
    }
    changed = 0
    for existing in seeds.iterdir():
        if existing.is_file() and existing.name not in wanted:
            existing.unlink()
            changed += 1
    for name, data in wanted.items():
        path = seeds / name
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
            changed += 1
    return changed


def eval_settings(settings: Settings, workdir: Path) -> Settings:
    """``settings`` with seeds and index inside ``workdir``; one published snapshot is enough."""
    return msgspec.structs.replace(
        settings,
        seeds_dir=workdir / "corpus",
        index_dir=workdir / "index",
        index=msgspec.structs.replace(settings.index, keep_snapshots=1),
    )


# -- running queries ------------------------------------------------------------------------------


class QueryVectors:
    """An :class:`Embedder` that answers from vectors computed in one batch beforehand (falling back
    to the model), so evaluating several modes and settings embeds each query once."""

    def __init__(self, embedder: Embedder, texts: Sequence[str], batch_size: int = 64) -> None:
        self._embedder = embedder
        self.name = embedder.name
        self.dimension = embedder.dimension
        self.max_seq_length = embedder.max_seq_length
        unique = list(dict.fromkeys(texts))
        vectors = embedder.embed(unique, batch_size=batch_size)
        self._cache = {text: vectors[i : i + 1] for i, text in enumerate(unique)}

    def count_tokens(self, text: str) -> int:
        return self._embedder.count_tokens(text)

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> Vectors:
        if len(texts) == 1 and texts[0] in self._cache:
            return self._cache[texts[0]]
        return self._embedder.embed(texts, batch_size=batch_size)


Run = dict[str, dict[str, float]]


@dataclass
class ModeResult:
    mode: str
    metrics: dict[str, float]
    seconds: float
    latencies_ms: list[float] = field(repr=False, default_factory=list)
    run: Run = field(repr=False, default_factory=dict)

    def latency(self, percentile: float) -> float:
        return float(np.percentile(self.latencies_ms, percentile)) if self.latencies_ms else 0.0


def rank_documents(
    retriever: Retriever, collection: Collection, mode: str, depth: int = DEPTH
) -> tuple[Run, list[float]]:
    """Each judged query's ``depth`` best documents (a document scored by its best chunk), and
    the time each query took in milliseconds."""
    run: Run = {}
    latencies: list[float] = []
    for query_id, text in collection.queries.items():
        started = time.perf_counter()
        hits = retriever.search(text, depth, mode, max_per_doc=1)
        latencies.append((time.perf_counter() - started) * 1000)
        run[query_id] = {document_id(h.chunk.doc_id): h.score for h in hits}
    return run, latencies


def score(collection: Collection, run: Run, metrics: Sequence[str] = METRICS) -> dict[str, float]:
    """The metrics of ``run`` against the collection's judgements, averaged over judged queries
    (a query with no result counts as zero), computed by ranx."""
    import ranx  # type: ignore[import-untyped]

    # make_comparable: a judged query missing from the run (nothing found) scores zero.
    found = {q: docs for q, docs in run.items() if docs and q in collection.qrels}
    values = ranx.evaluate(ranx.Qrels(collection.qrels), ranx.Run(found), list(metrics), make_comparable=True)
    if isinstance(values, float):
        values = {metrics[0]: values}
    return {m: float(values[m]) for m in metrics}


@dataclass
class EvalReport:
    dataset: str
    split: str
    queries: int
    documents: int
    chunks: int
    workdir: Path
    build: BuildReport
    results: list[ModeResult]
    settings: Settings
    seconds: float = 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "dataset": self.dataset,
            "split": self.split,
            "queries": self.queries,
            "documents": self.documents,
            "chunks": self.chunks,
            "workdir": str(self.workdir),
            "build": {
                "snapshot": self.build.snapshot_id,
                "published": self.build.published,
                "embedded_chunks": self.build.embedded_chunks,
                "reused_documents": self.build.reused_documents,
                "seconds": round(self.build.seconds, 2),
            },
            "settings": {
                "model": self.settings.model.name,
                "variant": self.settings.model.variant,
                "chunking": msgspec.to_builtins(self.settings.chunking),
                "lexical": msgspec.to_builtins(self.settings.lexical),
                "retrieval": msgspec.to_builtins(self.settings.retrieval),
            },
            "results": {
                r.mode: {
                    **{m: round(v, 4) for m, v in r.metrics.items()},
                    "seconds": round(r.seconds, 2),
                    "latency_ms": {f"p{p}": round(r.latency(p), 2) for p in (50, 95, 99)},
                }
                for r in self.results
            },
            "seconds": round(self.seconds, 2),
        }

    def table(self) -> str:
        header = f"{'mode':<8} " + " ".join(f"{m:>10}" for m in METRICS) + f" {'seconds':>8}"
        lines = [header, "-" * len(header)]
        for r in self.results:
            lines.append(
                f"{r.mode:<8} " + " ".join(f"{r.metrics[m]:>10.4f}" for m in METRICS) + f" {r.seconds:>8.1f}"
            )
        return "\n".join(lines)


def evaluate(
    collection: Collection,
    settings: Settings,
    *,
    modes: Sequence[str] = MODES,
    split: str = "train",
    workdir: Path | None = None,
    embedder_factory: Callable[[], Embedder] | None = None,
    cache_queries: bool = True,
    progress: bool = False,
) -> EvalReport:
    """Index ``collection`` with ``settings`` (reusing what an earlier run left in ``workdir``),
    then rank every judged query in each mode and score the rankings."""
    started = time.perf_counter()
    for mode in modes:
        if mode not in MODES:
            raise EvaluationError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    workdir = (workdir or default_workdir(collection, settings)).resolve()
    run_settings = eval_settings(settings, workdir)
    written = write_corpus(collection, run_settings.seeds_dir)
    log.info("work folder %s: %d corpus files written or removed", workdir, written)
    model: list[Embedder] = []

    def factory() -> Embedder:
        if not model:
            make = embedder_factory or (lambda: load_embedder(settings.model))
            model.append(make())
        return model[0]

    dense = any(m != "lexical" for m in modes)
    try:
        stored = read_manifest(current_dir(run_settings.index_dir)).model
    except SnapshotError:
        stored = None
    # Vectors from another model file (an older export recipe or toolchain) are not reused even
    # when nothing changed (a build would keep them): score what this model file gives.
    force = dense and stored is not None and bool(stored.artifact_sha256) and stored.other_file(factory())
    if force:
        log.info("the work folder's index was embedded by another model file: rebuilding it")
    build = Builder(run_settings, factory, progress=progress).build(force=force)
    snapshot = open_current(run_settings.index_dir, verify=False)
    try:
        embedder: Embedder = factory()
        if cache_queries and dense:
            embedder = QueryVectors(embedder, list(collection.queries.values()))
        retriever = Retriever(snapshot, embedder, run_settings.retrieval)
        # Search as the service does (its FAISS threads and BLAS threshold), so latencies are its
        # own: FAISS's default team of OpenMP threads competes with the model's for the CPUs.
        service = run_settings.service
        configure_search(service.faiss_threads, service.faiss_blas_threshold)
        results = []
        for mode in modes:
            mode_started = time.perf_counter()
            run, latencies = rank_documents(retriever, collection, mode)
            metrics = score(collection, run)
            results.append(ModeResult(mode, metrics, time.perf_counter() - mode_started, latencies, run))
        return EvalReport(
            dataset=collection.name,
            split=split,
            queries=len(collection.queries),
            documents=snapshot.manifest.counts.documents,
            chunks=snapshot.manifest.counts.chunks,
            workdir=workdir,
            build=build,
            results=results,
            settings=run_settings,
            seconds=time.perf_counter() - started,
        )
    finally:
        snapshot.close()
