"""The query engine: one model, one micro-batcher and one query-vector cache shared by every snapshot
it opens; each opened snapshot is a :class:`Searcher` with one call, :meth:`Searcher.search`.

The service holds one engine and swaps searchers as snapshots are published; ``indexer eval`` opens
one. Everything a search needs (embedding in batches, the cache, FAISS, BM25, fusion, hydration)
happens behind :meth:`Searcher.search`.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from indexer.config import MODES, EngineOptions, Settings
from indexer.embedding import Embedder, EmbedderWrapper, Vectors, load_embedder
from indexer.search.batching import QueryBatcher
from indexer.search.calibration import CALIBRATION
from indexer.search.deadline import Deadline, check
from indexer.search.filters import Comparison, Compound, FieldSpec, Filter, parse_filters, schema_of
from indexer.search.hydration import Hit
from indexer.search.query_cache import QueryVectorCache
from indexer.search.retriever import DenseStart, Retriever
from indexer.search.selection import FilterIndex
from indexer.snapshot.compatibility import check_queryable
from indexer.snapshot.manifest import Manifest
from indexer.snapshot.reader import Snapshot
from indexer.snapshot.state import Target
from indexer.snapshot.vectors import configure_search
from indexer.snapshot.view import open_target, open_view

log = logging.getLogger(__name__)


class SearchObserver(Protocol):
    """Told what the engine does (the service's metrics implement it)."""

    def embedding_done(self, seconds: float) -> None: ...

    def search_done(self, mode: str, seconds: float) -> None: ...

    def batch_done(self, size: int) -> None: ...

    def cache_lookup(self, hits: int, misses: int) -> None: ...


class _TimedEmbedder(EmbedderWrapper):
    def __init__(self, inner: Embedder, observer: SearchObserver | None) -> None:
        super().__init__(inner)
        self._observer = observer

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> Vectors:
        started = time.perf_counter()
        try:
            return self.inner.embed(texts, batch_size=batch_size)
        finally:
            if self._observer is not None:
                self._observer.embedding_done(time.perf_counter() - started)


class SearchEngine:
    """Thread-safe. ``embedder``: an already loaded model to share (tests, benchmarks); else the
    configured one is loaded."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        *,
        options: EngineOptions | None = None,
        observer: SearchObserver | None = None,
    ) -> None:
        options = options or EngineOptions()
        self.settings = settings
        self.options = options
        self.observer = observer
        self.embedder: Embedder = _TimedEmbedder(embedder or load_embedder(settings.model), observer)
        self._faiss_ready = threading.local()
        self.prepare_thread()
        self.cache = QueryVectorCache(
            options.query_cache_size, on_lookup=observer.cache_lookup if observer else None
        )
        self.batcher = QueryBatcher(
            max_batch=options.max_batch,
            window_ms=options.batch_window_ms,
            cache=self.cache,
            on_batch=observer.batch_done if observer else None,
        )

    def prepare_thread(self) -> None:
        """Apply the FAISS settings on the calling thread: OpenMP's thread count is a per-thread
        setting, and searches run on the web server's worker threads (left at FAISS's default, one
        search took ~2x longer on 2 cores)."""
        if not getattr(self._faiss_ready, "done", False):
            configure_search(self.options.faiss_threads, self.options.faiss_blas_threshold)
            self._faiss_ready.done = True

    def open(self, directory: Path, *, verify: bool = True) -> Searcher:
        """Open the snapshot in ``directory`` (every file's sha256 checked unless ``verify`` is off)
        and refuse one this model's queries cannot search (:class:`~indexer.errors.SnapshotError`)."""
        snapshot = Snapshot.open(directory, verify=verify, mmap_min_mb=self.settings.index.mmap_min_mb)
        return self._searcher(snapshot, None)

    def open_view(
        self, target: Path | Target | None = None, *, previous: Searcher | None = None, verify: bool = True
    ) -> Searcher:
        """Open a collection as it is served: its base snapshot and live delta segments
        (:mod:`indexer.snapshot.view`). ``target``: a collection folder or a state read from one
        (default: the engine's ``index_dir``). ``previous``: the searcher served until now, whose
        open parts (and their filter columns) are reused: only new segments are opened and
        verified."""
        old = previous.snapshot if previous is not None else None
        mmap = self.settings.index.mmap_min_mb
        if isinstance(target, Target):
            snapshot = open_target(target, previous=old, verify=verify, mmap_min_mb=mmap)
        else:
            folder = self.settings.index_dir if target is None else target
            snapshot = open_view(folder, previous=old, verify=verify, mmap_min_mb=mmap)
        return self._searcher(snapshot, previous)

    def _searcher(self, snapshot: Snapshot, previous: Searcher | None) -> Searcher:
        try:
            model = snapshot.manifest.model
            warning = check_queryable(snapshot.snapshot_id, model, self.settings.model, self.embedder)
        except Exception:
            snapshot.close()
            raise
        if warning:
            log.warning("%s", warning)
        if Path(model.name).name.lower() != CALIBRATION.model.lower():
            log.warning(
                "scores are calibrated for %s (%s); snapshot %s was built with %s: its scores still rank "
                "passages but their values, and retrieval.min_score, mean less",
                CALIBRATION.model,
                CALIBRATION.version,
                snapshot.snapshot_id,
                model.name,
            )
        return Searcher(self, snapshot, previous)

    def open_current(self, *, verify: bool = True) -> Searcher:
        """The collection in the engine's ``index_dir`` as it is served (base and delta segments)."""
        return self.open_view(verify=verify)

    def close(self) -> None:
        """Take no new queries (those waiting are still answered)."""
        self.batcher.close()


class Searcher:
    """Searches one snapshot with its engine's model, batcher and cache; thread-safe."""

    def __init__(self, engine: SearchEngine, snapshot: Snapshot, previous: Searcher | None = None) -> None:
        self.engine = engine
        self.snapshot = snapshot
        self._retriever = Retriever(snapshot, engine.settings.retrieval)
        self.fields: dict[str, FieldSpec] = schema_of(snapshot.manifest)
        """The fields filters may name in this snapshot, with their types."""
        self._filters: FilterIndex = FilterIndex(
            snapshot, self.fields, previous._filters if previous is not None else None
        )
        built = snapshot.manifest.model
        # What a query vector depends on (the cache's key, with the text): the snapshot's model and
        # variant, and the variant that embeds queries.
        self._space = (built.name, built.variant, engine.settings.model.variant)

    @property
    def snapshot_id(self) -> str:
        return self.snapshot.snapshot_id

    @property
    def manifest(self) -> Manifest:
        return self.snapshot.manifest

    @property
    def embedder(self) -> Embedder:
        return self.engine.embedder

    def parse_filters(self, spec: Any, *, param: str = "filters") -> Filter:
        """``spec`` (OpenAI's filter grammar) as a filter tree checked against this snapshot's fields
        (:class:`~indexer.errors.InvalidFilterError` names what is wrong; ``param`` says where the
        filter came from)."""
        return parse_filters(spec, self.fields, param=param)

    def count(self, filters: Filter | Mapping[str, Any]) -> int:
        """How many passages of this snapshot ``filters`` allows."""
        if not isinstance(filters, Comparison | Compound):
            filters = self.parse_filters(filters)
        return self._filters.select(filters).count

    def search(
        self,
        query: str,
        top_k: int,
        mode: str | None = None,
        *,
        max_per_doc: int | None = None,
        filters: Filter | Mapping[str, Any] | None = None,
        min_score: float | None = None,
        deadline: Deadline | None = None,
        highlight: bool = True,
    ) -> list[Hit]:
        """The ``top_k`` best passages for ``query``, best first; blocking (call it off an event loop).
        Each hit's ``score`` is its calibrated relevance in [0, 1], ``dense`` and ``lexical`` its parts.

        ``mode``: dense, lexical or hybrid (default: ``retrieval.mode``). ``max_per_doc``: at most that
        many passages of one document. ``filters``: a filter tree (:meth:`parse_filters`) or its JSON
        form; only the passages it allows are searched, so up to ``top_k`` of them are returned.
        ``min_score``: only hits scoring at least this. ``deadline``: checked between steps; past it (or
        cancelled) the search stops with :class:`~indexer.errors.SearchTimeoutError`. ``highlight``
        off: the hits come without highlights (a caller that keeps only some of them, e.g. merging
        several snapshots' hits, gives the survivors theirs with :meth:`highlight`)."""
        check(deadline)
        self.engine.prepare_thread()
        started = time.perf_counter()
        mode = mode or self.engine.settings.retrieval.mode
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        if max_per_doc is not None and max_per_doc < 1:
            raise ValueError("max_per_doc must be at least 1")
        if filters is not None and not isinstance(filters, Comparison | Compound):
            filters = self.parse_filters(filters)
        selection = self._filters.select(filters, deadline) if filters is not None else None
        check(deadline)
        start = None
        if mode != "lexical" and top_k >= 1 and self.snapshot.index.ntotal > 0:
            # A filtered search takes only its vector from the batch; its dense list needs the filter.
            depth = self._retriever.depth(top_k) if selection is None else 0
            start = self.engine.batcher.dense_start(self, self._space, query, depth)
        hits = self._retriever.search(
            query,
            top_k,
            mode,
            max_per_doc=max_per_doc,
            selection=selection,
            start=start,
            min_score=min_score,
            deadline=deadline,
        )
        if highlight:
            hits = self.highlight(query, hits)
        if self.engine.observer is not None:
            self.engine.observer.search_done(mode, time.perf_counter() - started)
        return hits

    def highlight(self, query: str, hits: Sequence[Hit]) -> list[Hit]:
        """``hits`` (of this snapshot) with where ``query``'s terms occur in each passage."""
        spans = self.snapshot.lexical.highlights(query, [hit.chunk.text for hit in hits])
        return [
            dataclasses.replace(hit, highlights=tuple(found)) for hit, found in zip(hits, spans, strict=True)
        ]

    def dense_starts(self, vectors: Vectors, depths: Sequence[int]) -> list[DenseStart]:
        """For the batcher: many queries' first dense lists in one vector index search."""
        return self._retriever.dense_starts(vectors, depths)

    def close(self) -> None:
        self.snapshot.close()
