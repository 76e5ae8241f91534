"""MCP (Model Context Protocol) tools over the retrieval core, with the official MCP Python SDK.

Two tools, in the shapes chat assistants' connectors expect: ``search(query)`` → ``results`` with
``id``, ``title``, ``url`` and a snippet (``text``); ``fetch(id)`` → ``id``, ``title``, ``text``, ``url``,
``metadata``. Every ``url`` is absolute (``integrations.public_base_url``) and opens our own
``GET /v1/documents/{doc_id}?start=&end=`` view of the cited passage.

Served over Streamable HTTP at ``/mcp`` inside the Litestar app (so the app-wide auth and limits
apply), or over stdio with ``python -m service mcp``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import anyio.to_thread
from litestar import Litestar, asgi
from litestar.handlers import ASGIRouteHandler
from litestar.types import Receive, Scope, Send
from typing_extensions import TypedDict

from indexer.config import Settings
from indexer.store import ChunkRecord, DocumentRecord
from service import __version__
from service.links import document_url
from service.resources import Resources

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

SEARCH_RESULTS = 10
SNIPPET_CHARS = 300
INSTRUCTIONS = (
    "Search a private document collection. Call `search` with a natural-language question; each result "
    "has an `id` to pass to `fetch` for the whole document. Cite results by their `url`."
)

Lease = Callable[[], AbstractContextManager[Resources]]
"""Gives the resources to use for one tool call (the served snapshot, kept open meanwhile)."""


class SearchResult(TypedDict):
    id: str
    """A passage id (``doc_id#position``); ``fetch`` accepts it."""
    title: str
    url: str
    text: str
    """A snippet of the passage."""


class SearchResults(TypedDict):
    results: list[SearchResult]


class FetchedDocument(TypedDict):
    id: str
    title: str
    text: str
    """The whole document."""
    url: str
    metadata: dict[str, str | int | None]


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """``text`` on one line, cut at a word boundary to at most ``limit`` characters (plus an ellipsis)."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0] or flat[:limit]
    return cut + "…"


def _find(resources: Resources, item_id: str) -> tuple[DocumentRecord, ChunkRecord | None] | None:
    """The document (and passage) named by a passage id ``doc_id#position`` or a document id."""
    store = resources.snapshot.store
    doc_id, hash_, position = item_id.rpartition("#")
    if hash_ and position.isdigit():
        document = store.document(doc_id)
        if document is not None:
            chunk = next((c for c in store.chunks_of(doc_id) if c.position == int(position)), None)
            if chunk is not None:
                return document, chunk
    document = store.document(item_id)
    return (document, None) if document is not None else None


def build_server(settings: Settings, lease: Lease) -> MCPServer:
    """The MCP server with the ``search`` and ``fetch`` tools, answering from ``lease()``."""
    from mcp.server.mcpserver import MCPServer
    from mcp.types import ToolAnnotations

    base = settings.integrations.public_base_url
    server: MCPServer = MCPServer(
        "citesearch", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING"
    )
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    @server.tool(annotations=read_only)
    async def search(query: str) -> SearchResults:
        """Search the documents for passages that answer `query` (natural language). Returns the best
        passages first, each with an `id` (pass it to `fetch`), a `title`, a `url` to cite, and a
        snippet in `text`."""
        query = query.strip()
        if not query:
            raise ValueError("query must not be empty")
        limit = settings.service.max_query_chars
        if len(query) > limit:
            raise ValueError(f"query is {len(query)} characters long; the limit is {limit}")
        with lease() as resources:
            hits = await anyio.to_thread.run_sync(resources.search, query, SEARCH_RESULTS, None)
        return SearchResults(
            results=[
                SearchResult(
                    id=hit.chunk.chunk_id,
                    title=hit.document.title,
                    url=document_url(
                        hit.document.doc_id, base=base, start=hit.chunk.char_start, end=hit.chunk.char_end
                    ),
                    text=snippet(hit.chunk.text),
                )
                for hit in hits
            ]
        )

    @server.tool(annotations=read_only)
    async def fetch(id: str) -> FetchedDocument:
        """Fetch the whole document behind a search result `id` (or a document id): its full text, a
        `url` to cite, and metadata (source, date, the passage's character and line range)."""
        with lease() as resources:
            found = await anyio.to_thread.run_sync(_find, resources, id)
        if found is None:
            raise ValueError(f"no passage or document with id {id!r}")
        document, chunk = found
        metadata: dict[str, str | int | None] = {
            "doc_id": document.doc_id,
            "source": document.source,
            "date": document.date,
            "sha256": document.sha256,
        }
        start = end = None
        if chunk is not None:
            start, end = chunk.char_start, chunk.char_end
            metadata |= {
                "chunk_id": chunk.chunk_id,
                "char_start": start,
                "char_end": end,
                "line_start": chunk.line_start,
                "line_end": chunk.line_end,
            }
        return FetchedDocument(
            id=id,
            title=document.title,
            text=document.text,
            url=document_url(document.doc_id, base=base, start=start, end=end),
            metadata=metadata,
        )

    return server


def _transport_security(settings: Settings) -> Any:
    """DNS-rebinding protection: accept the loopback names and the public URL's host."""
    from mcp.server.transport_security import TransportSecuritySettings

    public = urlsplit(settings.integrations.public_base_url)
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

    def __init__(self, settings: Settings, lease_of: Callable[[Litestar], AbstractContextManager[Resources]]):
        self.settings = settings
        self._lease_of = lease_of
        self._manager: StreamableHTTPSessionManager | None = None

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Litestar) -> AsyncIterator[None]:
        server = build_server(self.settings, lambda: self._lease_of(app))
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
                from service.errors import UnavailableError

                raise UnavailableError("the MCP endpoint is starting")
            await manager.handle_request(scope, receive, send)  # type: ignore[arg-type]

        return mcp


def run_stdio(settings: Settings) -> None:
    """Serve the tools over stdin/stdout until the client hangs up (``python -m service mcp``)."""
    resources = Resources.load(settings)
    try:
        server = build_server(settings, lambda: contextlib.nullcontext(resources))
        anyio.run(server.run_stdio_async)
    finally:
        resources.close()
