"""Where the MCP tools are served: Streamable HTTP at ``/mcp`` inside the Litestar app (so the
app-wide auth and limits apply), or stdio with ``python -m service mcp``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import anyio
from litestar import Litestar, asgi
from litestar.handlers import ASGIRouteHandler
from litestar.types import Receive, Scope, Send

from indexer.errors import NoSnapshotError
from indexer.search import Embedder, SearchEngine, Searcher
from service.admission.auth import NOBODY
from service.errors import UnavailableError
from service.integrations.mcp.server import ACCESS, build_server
from service.runtime.collections import Collections
from service.settings import AppSettings

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager


def _transport_security(settings: AppSettings) -> Any:
    """DNS-rebinding protection: accept the loopback names and the public URL's host."""
    from mcp.server.transport_security import TransportSecuritySettings

    public = urlsplit(settings.public_url)
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*", public.netloc, f"{public.hostname}:*"]
    origins = [
        "http://127.0.0.1:*",
        "http://localhost:*",
        "http://[::1]:*",
        f"{public.scheme}://{public.netloc}",
    ]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


class McpEndpoint:
    """``/mcp`` inside the Litestar app: a mounted ASGI handler plus a lifespan that runs the SDK's
    session manager (stateless: any worker can answer any request; JSON responses, no SSE)."""

    def __init__(
        self, settings: AppSettings, lease_of: Callable[[Litestar], AbstractContextManager[Searcher]]
    ) -> None:
        self.settings = settings
        self._lease_of = lease_of
        self._manager: StreamableHTTPSessionManager | None = None

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Litestar) -> AsyncIterator[None]:
        server = build_server(
            self.settings,
            lambda: self._lease_of(app),
            app.state.get("work"),
            lambda: app.state.get("collections"),
        )
        server.streamable_http_app(
            stateless_http=True,
            json_response=True,
            max_request_body_size=self.settings.service.max_body_bytes,
            transport_security=_transport_security(self.settings),
        )
        manager = server.session_manager
        async with manager.run():
            self._manager = manager
            try:
                yield
            finally:
                self._manager = None

    def route_handler(self) -> ASGIRouteHandler:
        endpoint = self

        @asgi("/mcp", is_mount=True, copy_scope=True)
        async def mcp(scope: Scope, receive: Receive, send: Send) -> None:
            """The MCP endpoint (Streamable HTTP)."""
            manager = endpoint._manager
            if manager is None:
                raise UnavailableError("the MCP endpoint is starting")
            ACCESS.set(scope.get("state", {}).get("access", NOBODY))  # this request's task only
            if scope.get("method") == "GET":  # an event stream: closed once idle
                await _with_idle_timeout(
                    manager, scope, receive, send, endpoint.settings.service.stream_idle_seconds
                )
            else:
                await manager.handle_request(scope, receive, send)  # type: ignore[arg-type]

        return mcp


async def _with_idle_timeout(
    manager: StreamableHTTPSessionManager, scope: Scope, receive: Receive, send: Send, idle: float
) -> None:
    """Answer ``GET /mcp`` (a server-sent event stream) but end it after ``idle`` seconds with nothing
    sent: an open stream holds a connection, and connections are capped."""
    last = anyio.current_time()
    state = {"started": False, "ended": False}

    async def sending(message: Any) -> None:
        nonlocal last
        last = anyio.current_time()
        state["started"] = state["started"] or message["type"] == "http.response.start"
        state["ended"] = message["type"] == "http.response.body" and not message.get("more_body", False)
        await send(message)

    async with anyio.create_task_group() as group:

        async def watchdog() -> None:
            while (wait := last + idle - anyio.current_time()) > 0:
                await anyio.sleep(wait)
            group.cancel_scope.cancel()

        group.start_soon(watchdog)
        await manager.handle_request(scope, receive, sending)  # type: ignore[arg-type]
        group.cancel_scope.cancel()
    if state["started"] and not state["ended"]:
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def run_stdio(settings: AppSettings, embedder: Embedder | None = None) -> None:
    """Serve the tools over stdin/stdout until the client hangs up (``python -m service mcp``): every
    collection (whoever runs the process reads the index itself, so nothing is out of reach), each
    one's newly published snapshots swapped in every ``service.reload_poll_seconds`` as over HTTP.
    :class:`~indexer.errors.NoSnapshotError` when no collection has a snapshot to serve."""
    engine = SearchEngine(settings, embedder)
    collections = Collections(settings, engine)
    try:
        collections.reload()
        reason = collections.not_ready()
        if reason is not None:
            raise NoSnapshotError(reason)
        server = build_server(settings, collections.default_holder.lease, shelf=lambda: collections)
        anyio.run(_serve_stdio, server, collections, settings.service.reload_poll_seconds)
    finally:
        collections.close()
        engine.close()


async def _serve_stdio(server: MCPServer, collections: Collections, poll: float) -> None:
    async with anyio.create_task_group() as tasks:
        if poll > 0:
            tasks.start_soon(collections.watch, poll)
        await server.run_stdio_async()
        tasks.cancel_scope.cancel()
