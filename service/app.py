"""The Litestar application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ControllerRouterHandler

from indexer.config import Settings
from indexer.embedder import Embedder, load_embedder
from indexer.vectors import configure_search
from service import __version__
from service.auth import BEARER_SCHEME, KeyChecker, require_key
from service.batching import QueryBatcher
from service.controllers.admin import AdminController
from service.controllers.chatbots import CHATBOT_HANDLERS
from service.controllers.documents import DocumentsController
from service.controllers.health import health, ready
from service.controllers.metrics import metrics
from service.controllers.search import SearchController
from service.errors import UnavailableError, handle_exception
from service.limits import cors_config, rate_limit_config
from service.mcp_server import McpEndpoint
from service.metrics import Metrics, TimedEmbedder
from service.observability import RequestObserver, annotate
from service.query_cache import QueryVectorCache
from service.resources import Resources
from service.snapshots import SnapshotHolder

log = logging.getLogger(__name__)

OPERATIONS: list[ControllerRouterHandler] = [health, ready, AdminController]


def _provide_snapshots(state: State) -> SnapshotHolder:
    holder: SnapshotHolder | None = state.get("snapshots")
    if holder is None:
        raise UnavailableError("the service is starting")
    return holder


async def _provide_resources(state: State) -> AsyncIterator[Resources]:
    """The snapshot served when the request started; kept open until the request is done, even if a
    new snapshot is swapped in meanwhile. Async although it never waits: Litestar runs the setup and
    cleanup of a sync generator dependency on a worker thread, two thread hops per request."""
    with _provide_snapshots(state).lease() as resources:
        annotate(snapshot_id=resources.snapshot_id)
        yield resources


def create_app(settings: Settings, *, embedder: Embedder | None = None) -> Litestar:
    """Build the app; the model and the current snapshot are loaded when the app starts, and newly
    published snapshots are swapped in while it runs (``service.reload_poll_seconds``).

    ``embedder`` lets a caller (tests, benchmarks) share an already loaded model."""
    registry = Metrics()
    observability = settings.observability

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        model = embedder or load_embedder(settings.model)
        service = settings.service
        configure_search(service.faiss_threads, service.faiss_blas_threshold)
        cache = QueryVectorCache(service.query_cache_size, on_lookup=registry.cache_lookup)
        registry.cache_size.set_function(lambda: len(cache))
        batcher = QueryBatcher(
            max_batch=service.max_batch,
            window_ms=service.batch_window_ms,
            cache=cache,
            on_batch=registry.batch_done,
        )
        timed = TimedEmbedder(model, registry.embedding)
        holder = SnapshotHolder(settings, timed, registry, batcher=batcher)
        holder.reload()  # a missing or refused snapshot leaves the service up but not ready
        app.state.snapshots = holder
        watcher = None
        if settings.service.reload_poll_seconds > 0:
            watcher = asyncio.create_task(holder.watch(settings.service.reload_poll_seconds))
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            app.state.snapshots = None
            holder.close()
            batcher.close()

    mcp = McpEndpoint(settings, lambda app: _provide_snapshots(app.state).lease())
    chatbots = [*CHATBOT_HANDLERS, mcp.route_handler()]
    rate_limit = rate_limit_config(settings.service)
    public = ("/schema",) if observability.metrics_require_key else ("/schema", "/metrics")
    operations = [*OPERATIONS, metrics] if observability.metrics else OPERATIONS
    app = Litestar(
        route_handlers=[SearchController, DocumentsController, *operations, *chatbots],
        dependencies={
            "resources": Provide(_provide_resources),
            "snapshots": Provide(_provide_snapshots, sync_to_thread=False),
        },
        lifespan=[lifespan, mcp.lifespan],
        exception_handlers={Exception: handle_exception},
        guards=[require_key],
        middleware=[rate_limit.middleware] if rate_limit else [],
        cors_config=cors_config(settings.service),
        request_max_body_size=settings.service.max_body_bytes,
        logging_config=None,  # logging is configured once, by the process (python -m service)
        openapi_config=OpenAPIConfig(
            title="citesearch",
            version=__version__,
            description="Semantic search over your documents with exact citations.",
            path="/schema",
            render_plugins=[JsonRenderPlugin(), SwaggerRenderPlugin()],
            components=Components(
                security_schemes={BEARER_SCHEME: SecurityScheme(type="http", scheme="bearer")}
            ),
        ),
        state=State(
            {
                "snapshots": None,
                "started_at": time.time(),
                "auth": KeyChecker(settings.auth, public_prefixes=public),
                "metrics": registry,
            }
        ),
        debug=False,
    )
    # Outermost, around routing and error handling, so every response (404s included) is counted,
    # logged and carries its X-Request-ID.
    app.asgi_handler = RequestObserver(
        app.asgi_handler,
        registry if observability.metrics else None,
        log_requests=observability.access_log,
        log_queries=observability.log_queries,
    )
    return app
