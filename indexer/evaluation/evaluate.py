"""Measure retrieval quality on a BEIR-format collection with the project's own indexer and engine.

The corpus is written as one ``<_id>.txt`` file per document (title, blank line, text) into a work
folder, indexed by the normal :class:`~indexer.build.Builder` (so unchanged documents and their
vectors are reused between runs), and every judged query goes through the query engine
(:mod:`indexer.search`), the code the service runs. A document's score is its best chunk's score.
Metrics come from ``ranx``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import numpy as np

from indexer.build import Builder, BuildReport
from indexer.config import MODES, Settings
from indexer.embedding import Embedder, EmbedderWrapper, Vectors, load_embedder
from indexer.errors import SnapshotError
from indexer.evaluation.beir import Collection, EvaluationError, document_id, write_corpus
from indexer.evaluation.metrics import METRICS, Run, require_ranx, score
from indexer.search import EngineOptions, SearchEngine, Searcher
from indexer.snapshot.compatibility import made_by_other_file
from indexer.snapshot.layout import current_dir
from indexer.snapshot.manifest import read_manifest

log = logging.getLogger(__name__)

DEPTH = 100
"""Documents ranked per query (enough for Recall@100)."""
CACHE_ENV = "CITESEARCH_EVAL_CACHE"
EVAL_ENGINE = EngineOptions(max_batch=1, query_cache_size=0)
"""One query at a time, as a lone client's; query vectors come from :class:`QueryVectors`."""


def default_workdir(collection: Collection, settings: Settings) -> Path:
    """``~/.cache/citesearch/eval/<name>-<hash>``: one folder per model, model variant and chunking
    settings, so an index whose vectors fit the configuration is found again."""
    fields = {
        "model": settings.model.name.lower(),
        "chunking": msgspec.to_builtins(settings.chunking),
        "index": settings.index.type,
        "variant": settings.model.variant,
    }
    key = json.dumps(fields, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    base = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "citesearch" / "eval")
    return base / f"{collection.name}-{digest}"


def eval_settings(settings: Settings, workdir: Path) -> Settings:
    """``settings`` with seeds and index inside ``workdir``; one published snapshot is enough."""
    return msgspec.structs.replace(
        settings,
        seeds_dir=workdir / "corpus",
        index_dir=workdir / "index",
        index=msgspec.structs.replace(settings.index, keep_snapshots=1),
    )


class QueryVectors(EmbedderWrapper):
    """An :class:`Embedder` that answers from vectors computed in one batch beforehand (falling back
    to the model), so evaluating several modes and settings embeds each query once."""

    def __init__(self, embedder: Embedder, texts: Sequence[str], batch_size: int = 64) -> None:
        super().__init__(embedder)
        unique = list(dict.fromkeys(texts))
        vectors = embedder.embed(unique, batch_size=batch_size)
        self._cache = {text: vectors[i : i + 1] for i, text in enumerate(unique)}

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> Vectors:
        if len(texts) == 1 and texts[0] in self._cache:
            return self._cache[texts[0]]
        return self.inner.embed(texts, batch_size=batch_size)


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
    searcher: Searcher, collection: Collection, mode: str, depth: int = DEPTH
) -> tuple[Run, list[float]]:
    """Each judged query's ``depth`` best documents in the service's order (a document ranked by its
    best chunk), and the time each query took in milliseconds."""
    run: Run = {}
    latencies: list[float] = []
    for query_id, text in collection.queries.items():
        started = time.perf_counter()
        hits = searcher.search(text, depth, mode, max_per_doc=1)
        latencies.append((time.perf_counter() - started) * 1000)
        # Scored by rank, not by h.score: ranx orders documents by their scores, and with the
        # weighted or rrf fusion the calibrated score need not fall with the service's rank.
        run[query_id] = {document_id(h.chunk.doc_id): float(len(hits) - h.rank + 1) for h in hits}
    return run, latencies


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
            "results": {r.mode: self._result(r) for r in self.results},
            "seconds": round(self.seconds, 2),
        }

    @staticmethod
    def _result(result: ModeResult) -> dict[str, object]:
        return {
            **{m: round(v, 4) for m, v in result.metrics.items()},
            "seconds": round(result.seconds, 2),
            "latency_ms": {f"p{p}": round(result.latency(p), 2) for p in (50, 95, 99)},
        }

    def table(self) -> str:
        header = f"{'mode':<8} " + " ".join(f"{m:>10}" for m in METRICS) + f" {'seconds':>8}"
        lines = [header, "-" * len(header)]
        for r in self.results:
            lines.append(
                f"{r.mode:<8} " + " ".join(f"{r.metrics[m]:>10.4f}" for m in METRICS) + f" {r.seconds:>8.1f}"
            )
        return "\n".join(lines)


def _stale_vectors(settings: Settings, model: Callable[[], Embedder]) -> bool:
    """Whether the work folder's index was embedded by another model file (an older export recipe
    or toolchain) than the one loaded: it is rebuilt even when nothing changed (a build would keep
    it), so the figures are this model file's."""
    try:
        stored = read_manifest(current_dir(settings.index_dir)).model
    except SnapshotError:
        return False
    return bool(stored.artifact_sha256) and made_by_other_file(stored, model())


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
    require_ranx()
    for mode in modes:
        if mode not in MODES:
            raise EvaluationError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    workdir = (workdir or default_workdir(collection, settings)).resolve()
    run_settings = eval_settings(settings, workdir)
    written = write_corpus(collection, run_settings.seeds_dir)
    log.info("work folder %s: %d corpus files written or removed", workdir, written)
    loaded: list[Embedder] = []

    def model() -> Embedder:
        if not loaded:
            loaded.append((embedder_factory or (lambda: load_embedder(settings.model)))())
        return loaded[0]

    dense = any(m != "lexical" for m in modes)
    force = dense and _stale_vectors(run_settings, model)
    if force:
        log.info("the work folder's index was embedded by another model file: rebuilding it")
    build = Builder(run_settings, model, progress=progress).build(force=force)
    embedder = model()
    if cache_queries and dense:
        embedder = QueryVectors(embedder, list(collection.queries.values()))
    searcher = SearchEngine(run_settings, embedder, options=EVAL_ENGINE).open_current(verify=False)
    try:
        results = [_run_mode(searcher, collection, mode) for mode in modes]
        manifest = searcher.manifest
        return EvalReport(
            dataset=collection.name,
            split=split,
            queries=len(collection.queries),
            documents=manifest.counts.documents,
            chunks=manifest.counts.chunks,
            workdir=workdir,
            build=build,
            results=results,
            settings=run_settings,
            seconds=time.perf_counter() - started,
        )
    finally:
        searcher.close()


def _run_mode(searcher: Searcher, collection: Collection, mode: str) -> ModeResult:
    started = time.perf_counter()
    run, latencies = rank_documents(searcher, collection, mode)
    return ModeResult(mode, score(collection, run), time.perf_counter() - started, latencies, run)
