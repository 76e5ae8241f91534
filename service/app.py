"""The Litestar application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from litestar import Litestar, Request
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.types import ControllerRouterHandler

from indexer.build.writer import writer_model
from indexer.search import Embedder, SearchEngine, Searcher
from service.admission.auth import KeyChecker, access_of, require_key
from service.admission.cors import cors_config
from service.admission.head_size import HeadLimit
from service.admission.hosts import HostCheck, allowed_hosts
from service.admission.proxies import ProxyHeaders, parse_networks
from service.admission.rate_limit import RateLimitMiddleware, rate_limiter
from service.api.admin import AdminController
from service.api.documents import DocumentsController
from service.api.health import health, not_ready, ready
from service.api.index import describe_index
from service.api.metrics import metrics
from service.api.openapi import openapi_config, swagger_assets
from service.api.pages import PagesController
from service.api.search import SearchController
from service.api.writes import CollectionWritesController
from service.errors import NotFoundError, UnavailableError, exception_handlers
from service.integrations import CHATBOT_HANDLERS
from service.integrations.mcp import McpEndpoint
from service.integrations.openai import files_lifespan
from service.querying import caller_of
from service.runtime.collections import Collections
from service.runtime.folders import FolderWatching
from service.runtime.hot_swap import SnapshotHolder
from service.runtime.metrics import Metrics
from service.runtime.observability import RequestObserver, annotate
from service.runtime.page_images import PageImages
from service.runtime.registry import CollectionRegistry, created_collections
from service.runtime.work import SearchPool
from service.runtime.writes import Writes
from service.settings import AppSettings
from service.web import page_routes

log = logging.getLogger(__name__)


def _provide_snapshots(state: State) -> SnapshotHolder:
    holder: SnapshotHolder | None = state.get("snapshots")
    if holder is None:
        raise UnavailableError("the service is starting")
    return holder


async def _provide_searcher(state: State, request: Request[Any, Any, Any]) -> AsyncIterator[Searcher]:
    """The default collection's snapshot served when the request started; kept open until the request
    is done, even if a new snapshot is swapped in meanwhile (404 for a key that may not search the
    default collection, as for a collection that does not exist). Async although it never waits:
    Litestar runs the setup and cleanup of a sync generator dependency on a worker thread, two thread
    hops per request."""
    settings: AppSettings = state.settings
    if not access_of(request).may(settings.default_collection):
        raise NotFoundError(f"no collection {settings.default_collection!r}")
    with _provide_snapshots(state).lease() as searcher:
        annotate(snapshot_id=searcher.snapshot_id)
        yield searcher


def _provide_page_images(state: State) -> PageImages:
    images: PageImages = state.page_images
    return images


def _provide_collections(state: State) -> Collections:
    collections: Collections | None = state.get("collections")
    if collections is None:
        raise UnavailableError("the service is starting")
    return collections


def _provide_writes(state: State) -> Writes:
    writes: Writes | None = state.get("writes")
    if writes is None:
        raise UnavailableError("the service is starting")
    return writes


def _provide_settings(state: State) -> AppSettings:
    settings: AppSettings = state.settings
    return settings


def _lifespan(
    settings: AppSettings, embedder: Embedder | None, registry: Metrics, work: SearchPool
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """Load the model once and serve each collection's current snapshot (if there is one yet) while the
    app runs; newly published snapshots are swapped in every ``service.reload_poll_seconds``."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        engine = SearchEngine(settings, embedder, options=settings.service, observer=registry)
        registry.count_cache(lambda: len(engine.cache))
        created = CollectionRegistry(settings.index_dir)
        collections = Collections(settings, engine, registry, created=created_collections(settings, created))
        registry.report_readiness(lambda: not_ready(collections.not_ready, work))
        collections.reload()  # a missing or refused snapshot leaves the service up, that collection 503
        # Writes embed with their own one-thread copy of the model on the writer's lower-priority thread
        # (sharing the searches' model put half their work on its normal-priority threads:
        # docs/performance.md); a model handed in (tests, benchmarks) is shared as it is.
        writer_embedder = writer_model(settings.model) if embedder is None else (lambda: embedder)
        writes = Writes(settings, collections, writer_embedder, created, registry)
        await writes.start()  # writes acknowledged before a crash are published again
        folders = FolderWatching(settings, writes)
        await folders.start()  # collections with watch: true
        app.state.collections = collections
        app.state.snapshots = collections.default_holder
        app.state.writes = writes
        poll = settings.service.reload_poll_seconds
        watcher = asyncio.create_task(collections.watch(poll)) if poll > 0 else None
        registry_watcher = asyncio.create_task(writes.watch(poll)) if poll > 0 else None
        try:
            yield
        finally:
            app.state.writes = None
            await folders.close()
            if registry_watcher is not None:
                registry_watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await registry_watcher
            await writes.close()
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            app.state.snapshots = None
            app.state.collections = None
            collections.close()
            engine.close()

    return lifespan


def _routes(settings: AppSettings, mcp: McpEndpoint) -> list[ControllerRouterHandler]:
    operations: list[ControllerRouterHandler] = [health, ready, AdminController]
    if settings.observability.metrics:
        operations.append(metrics)
    return [
        SearchController,
        DocumentsController,
        PagesController,
        CollectionWritesController,
        describe_index,
        *operations,
        *CHATBOT_HANDLERS,
        mcp.route_handler(),
        swagger_assets(),
        *page_routes(),
    ]


def create_app(settings: AppSettings, *, embedder: Embedder | None = None) -> Litestar:
    """Build the app; the model and the current snapshot are loaded when the app starts, and newly
    published snapshots are swapped in while it runs (``service.reload_poll_seconds``).

    ``embedder`` lets a caller (tests, benchmarks) share an already loaded model."""
    registry = Metrics()
    observability = settings.observability
    mcp = McpEndpoint(settings, lambda app: _provide_snapshots(app.state).lease())
    limiter = rate_limiter(settings.service)
    work = SearchPool(settings.service, on_abandoned=registry.search_abandoned)
    registry.watch_pool(work.busy, lambda: work.saturated() is not None)
    public = (
        ("/schema", "/static") if observability.metrics_require_key else ("/schema", "/static", "/metrics")
    )
    app = Litestar(
        route_handlers=_routes(settings, mcp),
        dependencies={
            "searcher": Provide(_provide_searcher),
            "snapshots": Provide(_provide_snapshots, sync_to_thread=False),
            "collections": Provide(_provide_collections, sync_to_thread=False),
            "settings": Provide(_provide_settings, sync_to_thread=False),
            "writes": Provide(_provide_writes, sync_to_thread=False),
            "caller": Provide(caller_of, sync_to_thread=False),
            "page_images": Provide(_provide_page_images, sync_to_thread=False),
            "access": Provide(access_of, sync_to_thread=False),
        },
        lifespan=[_lifespan(settings, embedder, registry, work), mcp.lifespan, files_lifespan(settings)],
        exception_handlers=exception_handlers(),
        guards=[require_key],
        middleware=[DefineMiddleware(RateLimitMiddleware, limiter=limiter)] if limiter is not None else [],
        cors_config=cors_config(settings.service),
        request_max_body_size=settings.service.max_body_bytes,
        logging_config=None,  # logging is configured once, by the process (python -m service)
        openapi_config=openapi_config(),
        state=State(
            {
                "snapshots": None,
                "collections": None,
                "writes": None,
                "settings": settings,
                "page_images": PageImages(settings.collection(settings.default_collection).seeds_dir),
                "started_at": time.time(),
                "auth": KeyChecker(settings.auth, public_prefixes=public),
                "metrics": registry,
                "limiter": limiter,
                "work": work,
            }
        ),
        debug=False,
    )
    # Around routing and error handling, so every response (404s and 421s included) is counted, logged
    # and carries its X-Request-ID; outermost, the client's address behind trusted proxies.
    observed = RequestObserver(
        HeadLimit(HostCheck(app.asgi_handler, allowed_hosts(settings)), settings.service.max_header_bytes),
        registry if observability.metrics else None,
        log_requests=observability.access_log,
        log_queries=observability.log_queries,
    )
    app.asgi_handler = ProxyHeaders(observed, parse_networks(settings.service.trusted_proxies))
    return app
