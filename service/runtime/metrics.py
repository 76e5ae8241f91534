"""Prometheus metrics, kept in a registry of the app's own (several apps can live in one process).

Requests (count and latency per method, route template and status), time spent embedding queries
and searching, query batch sizes, the query embedding cache (hits, misses, size), the served snapshot
(id, age, documents, chunks), snapshot loads and refusals, and the search pool (threads busy,
saturation, searches abandoned past their time budget or by their client). :class:`Metrics` is the engine's
:class:`~indexer.search.SearchObserver` and the hot swap's observer.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from indexer.snapshot import Manifest

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._created: float | None = None
        self._http()
        self._queries()
        self._snapshots()
        self._collections()
        self._search_pool()
        self._writes()

    def _http(self) -> None:
        registry, labels = self.registry, ("method", "route", "status")
        self.requests = Counter(
            "citesearch_http_requests", "HTTP requests answered.", labels, registry=registry
        )
        self.latency = Histogram(
            "citesearch_http_request_duration_seconds",
            "Time from receiving a request to sending its last byte.",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.in_progress = Gauge(
            "citesearch_http_requests_in_progress", "HTTP requests being handled.", registry=registry
        )

    def _queries(self) -> None:
        registry = self.registry
        self.embedding = Histogram(
            "citesearch_embedding_seconds",
            "Time to embed queries with the model (one call).",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.search = Histogram(
            "citesearch_search_seconds",
            "Time to retrieve one query's results (embedding, dense and lexical search, fusion, hydration).",
            ("mode",),
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.batch_size = Histogram(
            "citesearch_query_batch_size",
            "Queries embedded and vector-searched together (one observation per batch).",
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.cache_hits = Counter(
            "citesearch_query_cache_hits", "Query embeddings found in the cache.", registry=registry
        )
        self.cache_misses = Counter(
            "citesearch_query_cache_misses",
            "Query embeddings not in the cache (computed by the model).",
            registry=registry,
        )
        self.cache_size = Gauge(
            "citesearch_query_cache_entries", "Query embeddings in the cache.", registry=registry
        )

    def _snapshots(self) -> None:
        registry = self.registry
        self.snapshot_info = Gauge(
            "citesearch_snapshot_info",
            "The served snapshot (always 1; its id and model are labels).",
            ("snapshot_id", "model"),
            registry=registry,
        )
        self.snapshot_created = Gauge(
            "citesearch_snapshot_created_timestamp_seconds",
            "When the served snapshot was built (Unix time).",
            registry=registry,
        )
        self.snapshot_age = Gauge(
            "citesearch_snapshot_age_seconds",
            "Seconds since the served snapshot was built.",
            registry=registry,
        )
        self.snapshot_age.set_function(self._age)
        self.documents = Gauge("citesearch_documents", "Documents in the served snapshot.", registry=registry)
        self.chunks = Gauge("citesearch_chunks", "Chunks in the served snapshot.", registry=registry)
        self.loads = Counter(
            "citesearch_snapshot_loads",
            "Snapshots loaded and served (the first one included).",
            registry=registry,
        )
        self.refusals = Counter(
            "citesearch_snapshot_refusals",
            "Published snapshots refused (corrupt, incomplete, built with another model).",
            registry=registry,
        )
        self.last_refusal = Gauge(
            "citesearch_snapshot_last_refusal_timestamp_seconds",
            "When a snapshot was last refused (Unix time; 0: never).",
            registry=registry,
        )
        self.ready = Gauge(
            "citesearch_ready",
            "1 when searches are answered (GET /ready is 200), else 0 (no snapshot, or the served one "
            "damaged on disk).",
            registry=registry,
        )

    def _collections(self) -> None:
        registry, labels = self.registry, ("collection",)
        self.collection_ready = Gauge(
            "citesearch_collection_ready",
            "1 when the collection's searches are answered, else 0 (no snapshot, or damaged on disk).",
            labels,
            registry=registry,
        )
        self.collection_documents = Gauge(
            "citesearch_collection_documents",
            "Documents in the collection's served snapshot.",
            labels,
            registry=registry,
        )
        self.collection_chunks = Gauge(
            "citesearch_collection_chunks",
            "Chunks in the collection's served snapshot.",
            labels,
            registry=registry,
        )
        self.collection_loads = Counter(
            "citesearch_collection_snapshot_loads",
            "Snapshots of the collection loaded and served.",
            labels,
            registry=registry,
        )
        self.collection_refusals = Counter(
            "citesearch_collection_snapshot_refusals",
            "Published snapshots of the collection refused.",
            labels,
            registry=registry,
        )

    def for_collection(
        self, name: str, not_ready: Callable[[], str | None], *, default: bool
    ) -> CollectionMetrics:
        """The observer of collection ``name``'s hot swap: its labelled gauges and, for the default
        collection, the unlabelled ones (``citesearch_documents``, ``citesearch_snapshot_info``, ...)."""
        self.collection_ready.labels(name).set_function(lambda: 0.0 if not_ready() else 1.0)
        return CollectionMetrics(self, name, default=default)

    def _search_pool(self) -> None:
        registry = self.registry
        self.abandoned = Counter(
            "citesearch_searches_abandoned",
            "Searches stopped before their answer: past service.request_timeout_seconds (answered 503) "
            "or because their client went away.",
            ("reason",),
            registry=registry,
        )
        self.threads_busy = Gauge(
            "citesearch_search_threads_busy",
            "Search threads at work, per pool.",
            ("pool",),
            registry=registry,
        )
        self.saturated = Gauge(
            "citesearch_search_saturated",
            "1 while every ordinary search thread has been busy for longer than "
            "service.request_timeout_seconds (searches are refused; /ready answers 503), else 0.",
            registry=registry,
        )

    def _writes(self) -> None:
        registry, labels = self.registry, ("collection",)
        self.writes = Counter(
            "citesearch_writes",
            "Writes acknowledged over HTTP (documents put and deleted).",
            ("collection", "action"),
            registry=registry,
        )
        self.writes_queued = Gauge(
            "citesearch_writes_queued", "Documents written and not yet published.", labels, registry=registry
        )
        self.publish_seconds = Histogram(
            "citesearch_publish_seconds",
            "Time to publish one batch of writes (read, embed, write the snapshot, swap it in).",
            labels,
            buckets=(*LATENCY_BUCKETS, 30.0, 60.0, 300.0),
            registry=registry,
        )
        self.writes_failed = Counter(
            "citesearch_writes_failed",
            "Documents written that could not be indexed.",
            labels,
            registry=registry,
        )

    def write_queued(self, collection: str, action: str, queued: int) -> None:
        self.writes.labels(collection, action).inc()
        self.writes_queued.labels(collection).set(queued)

    def batch_published(self, collection: str, seconds: float, failed: int, queued: int) -> None:
        self.publish_seconds.labels(collection).observe(seconds)
        self.writes_failed.labels(collection).inc(failed)
        self.writes_queued.labels(collection).set(queued)

    def watch_pool(self, busy: Callable[[str], int], saturated: Callable[[], bool]) -> None:
        """Report the search pool's busy threads (``busy("ordinary" | "expensive")``) and saturation at
        each scrape."""
        for pool in ("ordinary", "expensive"):
            self.threads_busy.labels(pool).set_function(lambda pool=pool: busy(pool))  # type: ignore[misc]
        self.saturated.set_function(lambda: float(saturated()))

    def search_abandoned(self, reason: str) -> None:
        self.abandoned.labels(reason).inc()

    def _age(self) -> float:
        return time.time() - self._created if self._created is not None else math.nan

    def report_readiness(self, not_ready: Callable[[], str | None]) -> None:
        """``citesearch_ready`` from ``not_ready()`` at each scrape (what ``/ready`` answers): 1 when
        searches are answered, 0 when ``/ready`` is a 503."""
        self.ready.set_function(lambda: 0.0 if not_ready() else 1.0)

    def count_cache(self, size: Callable[[], int]) -> None:
        """Report the query cache's size as ``size()`` says at each scrape."""
        self.cache_size.set_function(size)

    # -- the hot swap's observer --------------------------------------------------------------

    def snapshot_loaded(self, manifest: Manifest) -> None:
        created = dt.datetime.fromisoformat(manifest.created_at)
        if created.tzinfo is None:
            created = created.replace(tzinfo=dt.UTC)
        self._created = created.timestamp()
        self.snapshot_created.set(self._created)
        self.snapshot_info.clear()
        self.snapshot_info.labels(manifest.snapshot_id, manifest.model.name).set(1)
        self.documents.set(manifest.counts.documents)
        self.chunks.set(manifest.counts.chunks)
        self.loads.inc()

    def snapshot_refused(self, at: float) -> None:
        self.refusals.inc()
        self.last_refusal.set(at)

    # -- the engine's observer ----------------------------------------------------------------

    def embedding_done(self, seconds: float) -> None:
        self.embedding.observe(seconds)

    def search_done(self, mode: str, seconds: float) -> None:
        self.search.labels(mode).observe(seconds)

    def batch_done(self, size: int) -> None:
        self.batch_size.observe(size)

    def cache_lookup(self, hits: int, misses: int) -> None:
        if hits:
            self.cache_hits.inc(hits)
        if misses:
            self.cache_misses.inc(misses)

    # -- requests -----------------------------------------------------------------------------

    def request_done(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route, str(status)).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class CollectionMetrics:
    """One collection's :class:`~service.runtime.hot_swap.SnapshotObserver`."""

    def __init__(self, metrics: Metrics, name: str, *, default: bool) -> None:
        self.metrics = metrics
        self.name = name
        self.default = default

    def snapshot_loaded(self, manifest: Manifest) -> None:
        metrics = self.metrics
        metrics.collection_documents.labels(self.name).set(manifest.counts.documents)
        metrics.collection_chunks.labels(self.name).set(manifest.counts.chunks)
        metrics.collection_loads.labels(self.name).inc()
        if self.default:
            metrics.snapshot_loaded(manifest)

    def snapshot_refused(self, at: float) -> None:
        self.metrics.collection_refusals.labels(self.name).inc()
        if self.default:
            self.metrics.snapshot_refused(at)
