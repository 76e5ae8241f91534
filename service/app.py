"""The Litestar application factory."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin

from indexer.config import Settings
from indexer.embedder import Embedder
from service import __version__
from service.controllers.documents import DocumentsController
from service.controllers.health import health
from service.controllers.search import SearchController
from service.errors import UnavailableError, handle_exception
from service.resources import Resources

log = logging.getLogger(__name__)


def _provide_resources(state: State) -> Resources:
    resources: Resources | None = state.get("resources")
    if resources is None:
        raise UnavailableError("the index is not loaded yet")
    return resources


def create_app(settings: Settings, *, embedder: Embedder | None = None) -> Litestar:
    """Build the app; the snapshot and the model are loaded once, when the app starts.

    ``embedder`` lets a caller (tests, benchmarks) share an already loaded model."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        resources = Resources.load(settings, embedder)
        app.state.resources = resources
        try:
            yield
        finally:
            app.state.resources = None
            resources.close()

    return Litestar(
        route_handlers=[SearchController, DocumentsController, health],
        dependencies={"resources": Provide(_provide_resources, sync_to_thread=False)},
        lifespan=[lifespan],
        exception_handlers={Exception: handle_exception},
        request_max_body_size=settings.service.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="citesearch",
            version=__version__,
            description="Semantic search over your documents with exact citations.",
            path="/schema",
            render_plugins=[JsonRenderPlugin(), SwaggerRenderPlugin()],
        ),
        state=State({"resources": None}),
        debug=False,
    )
