"""MCP (Model Context Protocol) tools over the query engine, with the official MCP Python SDK.

Two tools, in the shapes chat assistants' connectors expect: ``search(query)`` → ``results`` with
``id``, ``title``, ``url`` and a snippet (``text``); ``fetch(id)`` → ``id``, ``title``, ``text``, ``url``,
``metadata``. Every ``url`` is absolute (``integrations.public_base_url``) and opens our own
``GET /v1/documents/{doc_id}?start=&end=`` view of the cited passage (``/v1/collections/{name}/...``
for a collection other than the default).

The tools answer over every collection: over HTTP within the calling key's reach (:data:`ACCESS`, set
per request by the endpoint), over stdio all of them (whoever runs it reads the index itself).
``search`` takes an optional ``collections`` list (default: the default collection; ``["*"]``: every
one the key may search), and the ids of passages of another collection than the default name it:
``<collection>::<doc_id>#<position>``; ``fetch`` reads such an id in that collection.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Annotated, Any

import anyio.to_thread
import msgspec
from typing_extensions import TypedDict

from indexer.errors import InvalidFilterError
from indexer.search import Searcher
from indexer.snapshot import ChunkRecord, DocumentRecord
from service import __version__, querying
from service.admission.auth import EVERYTHING, Access
from service.api.links import document_url
from service.api.schemas import Citation
from service.errors import InvalidInputError, NotFoundError, ServiceError
from service.querying import Ask, Caller, Keys
from service.runtime.collections import Collections
from service.runtime.work import SearchPool
from service.settings import AppSettings

if TYPE_CHECKING:
    from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
    from mcp.server.mcpserver import MCPServer

log = logging.getLogger(__name__)

SEARCH_RESULTS = 10
SNIPPET_CHARS = 300
MAX_ID_CHARS = 4_200
"""The longest id ``fetch`` looks up: a document id (a path in the source folder: at most 4,096 bytes
on Linux) with ``#`` and a passage number. Longer ids are refused before any lookup."""
MAX_POSITION_DIGITS = 9
PASSAGE_FIELDS = (
    "char_start",
    "char_end",
    "line_start",
    "line_end",
    "page_start",
    "page_end",
    "page_label_start",
    "page_label_end",
    "section",
)
"""The passage's fields of its :class:`Citation` that ``fetch`` puts in ``metadata`` (not ``boxes``: the
rectangles are for drawing, not for a model to read; ``/v1/search`` and ``/v1/context`` carry them)."""
INSTRUCTIONS = (
    "Search a private document collection. Call `search` with a natural-language question; each result "
    "has an `id` to pass to `fetch` for the whole document. Cite results by their `url`."
)

Lease = Callable[[], AbstractContextManager[Searcher]]
"""Gives the searcher to use for one tool call (the served snapshot, kept open meanwhile)."""
Shelf = Callable[[], Collections | None]
"""The service's collections (None: the default collection only, through the lease)."""
ACCESS: ContextVar[Access] = ContextVar("mcp_access", default=EVERYTHING)
"""The calling key's reach during one MCP request over HTTP (set by the endpoint before the SDK runs
the call; the SDK's tasks inherit it)."""
COLLECTION_SEPARATOR = "::"


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
    metadata: dict[str, Any]


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """``text`` on one line, cut at a word boundary to at most ``limit`` characters (plus an ellipsis)."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0] or flat[:limit]
    return cut + "…"


def _find(searcher: Searcher, item_id: str) -> tuple[DocumentRecord, ChunkRecord | None] | None:
    """The document (and passage) named by a passage id ``doc_id#position`` or a document id."""
    store = searcher.snapshot.store
    doc_id, hash_, position = item_id.rpartition("#")
    if hash_ and position.isascii() and position.isdigit() and len(position) <= MAX_POSITION_DIGITS:
        document = store.document(doc_id)
        if document is not None:
            chunk = next((c for c in store.chunks_of(doc_id) if c.position == int(position)), None)
            if chunk is not None:
                return document, chunk
    document = store.document(item_id)
    return (document, None) if document is not None else None


def _scoped(caller: Caller, shelf: Shelf) -> Caller:
    """``caller`` with the calling key's reach and the service's collections."""
    return Caller(caller.pool, access=ACCESS.get(), collections=shelf())


async def search_tool(
    settings: AppSettings,
    lease: Lease,
    caller: Caller,
    query: str,
    filters: dict[str, Any] | None = None,
    collections: list[str] | None = None,
    shelf: Shelf = lambda: None,
) -> SearchResults:
    base = settings.public_url
    names = tuple(collections) if collections is not None else None
    ask = Ask((query.strip(),), SEARCH_RESULTS, filters=filters, keys=Keys(top_k=None), collections=names)
    scoped = _scoped(caller, shelf)
    if scoped.collections is not None:
        hits = await querying.search(ask, settings, None, scoped)
    else:  # no collections given (a server around one searcher): the default collection
        with lease() as searcher:
            hits = await querying.search(ask, settings, searcher, caller)
    default = settings.default_collection
    results = [
        SearchResult(
            id=hit.chunk.chunk_id
            if hit.collection in ("", default)
            else f"{hit.collection}{COLLECTION_SEPARATOR}{hit.chunk.chunk_id}",
            title=hit.document.title,
            url=Citation.from_hit(hit, base=base, default=default).url,
            text=snippet(hit.chunk.text),
        )
        for hit in hits
    ]
    return SearchResults(results=results)


def _collection_lease(
    settings: AppSettings, lease: Lease, shelf: Shelf, item_id: str
) -> tuple[Lease, str, str]:
    """Where ``fetch`` looks ``item_id`` up: the lease of its collection (named before ``::``, else the
    default), the collection's name and the id within it; 404 for a collection out of the key's reach."""
    collections = shelf()
    name, separator, rest = item_id.partition(COLLECTION_SEPARATOR)
    if collections is None:
        return lease, settings.default_collection, item_id
    if not separator or collections.get(name) is None:
        name, rest = settings.default_collection, item_id
    if not ACCESS.get().may(name):
        raise NotFoundError(f"no passage or document with id {item_id[:200]!r}")
    return collections.holders[name].lease, name, rest


async def fetch_tool(
    settings: AppSettings, lease: Lease, item_id: str, shelf: Shelf = lambda: None
) -> FetchedDocument:
    if len(item_id) > MAX_ID_CHARS:
        raise InvalidInputError(f"id is {len(item_id)} characters long; the limit is {MAX_ID_CHARS}")
    chosen, collection, local_id = _collection_lease(settings, lease, shelf, item_id)
    with chosen() as searcher:
        found = await anyio.to_thread.run_sync(_find, searcher, local_id)
    if found is None:
        raise NotFoundError(f"no passage or document with id {item_id!r}")
    document, chunk = found
    metadata: dict[str, Any] = {
        "doc_id": document.doc_id,
        "source": document.source,
        "date": document.date,
        "sha256": document.sha256,
        "format": document.format,
    }
    base = settings.public_url
    where = None if collection == settings.default_collection else collection
    url = document_url(document.doc_id, base=base, collection=where)
    if chunk is not None:
        citation = Citation.of(
            document, chunk, base=base, collection=collection, default=settings.default_collection
        )
        url = citation.url
        metadata["chunk_id"] = chunk.chunk_id
        metadata |= {name: getattr(citation, name) for name in PASSAGE_FIELDS}
    for key, value in document.metadata.items():  # the document's own metadata, where names are free
        metadata.setdefault(key, value)
    return FetchedDocument(id=item_id, title=document.title, text=document.text, url=url, metadata=metadata)


@contextlib.contextmanager
def _as_tool_error() -> Iterator[None]:
    """A caller's mistake (empty or too long query, unknown id) or an unavailable index answers the
    tool call with ``isError`` and the message a REST client gets; the log gets no traceback."""
    from mcp.server.mcpserver.exceptions import ToolError

    try:
        yield
    except ServiceError as exc:
        raise ToolError(exc.detail) from exc
    except InvalidFilterError as exc:  # a filter naming an unknown field, a value of the wrong type
        raise ToolError(str(exc)) from exc


class SearchArguments(msgspec.Struct):
    query: str
    filters: dict[str, Any] | None = None
    collections: (
        Annotated[
            list[Annotated[str, msgspec.Meta(max_length=64)]], msgspec.Meta(min_length=1, max_length=100)
        ]
        | None
    ) = None


class FetchArguments(msgspec.Struct):
    id: Annotated[str, msgspec.Meta(max_length=MAX_ID_CHARS)]


TOOL_ARGUMENTS: dict[str, type[msgspec.Struct]] = {"search": SearchArguments, "fetch": FetchArguments}
"""Each tool's arguments, checked before the SDK sees them (its own check answers with pydantic's text,
which quotes the caller's input and links to pydantic's site)."""


class ArgumentCheck:
    """MCP server middleware: a ``tools/call`` of ours whose arguments do not fit answers a tool error
    naming the argument and what was expected (``id: Expected `str`, got `int```), nothing more."""

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        params = ctx.params or {}
        name = params.get("name")
        shape = TOOL_ARGUMENTS.get(name) if ctx.method == "tools/call" and isinstance(name, str) else None
        if shape is not None:
            try:
                msgspec.convert(params.get("arguments") or {}, shape)
            except msgspec.ValidationError as exc:
                from mcp.types import CallToolResult, TextContent

                message = f"invalid arguments for {name}: {exc}"
                log.info("MCP %s", message)
                return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)
        return await call_next(ctx)


def build_server(
    settings: AppSettings, lease: Lease, pool: SearchPool | None = None, shelf: Shelf = lambda: None
) -> MCPServer:
    """The MCP server with the ``search`` and ``fetch`` tools, answering from ``lease()`` (or, over
    HTTP, from the collections ``shelf()`` gives, within the calling key's reach); searches run in
    ``pool`` (the app's, within the request time budget; default: one of its own)."""
    caller = Caller(pool if pool is not None else SearchPool(settings.service))
    from mcp.server.mcpserver import MCPServer
    from mcp.types import ToolAnnotations

    server: MCPServer = MCPServer(
        "citesearch",
        version=__version__,
        instructions=INSTRUCTIONS,
        log_level="WARNING",
        middleware=[ArgumentCheck()],
    )
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    @server.tool(annotations=read_only)
    async def search(
        query: str, filters: dict[str, Any] | None = None, collections: list[str] | None = None
    ) -> SearchResults:
        """Search the documents for passages that answer `query` (natural language). Returns the best
        passages first, each with an `id` (pass it to `fetch`), a `title`, a `url` to cite, and a
        snippet in `text`. No results: the documents hold nothing relevant to the query. Optional
        `filters` narrow the search, e.g. {"type": "eq", "key": "format", "value": "pdf"} or
        {"type": "and", "filters": [{"type": "gte", "key": "date", "value": "2024-01-01"}, {"type":
        "eq", "key": "tags", "value": "apollo"}]} (types eq, ne, gt, gte, lt, lte, in, nin, and, or;
        keys doc_id, source, title, date, format, section, page_start, page_end and the documents'
        metadata keys). Optional `collections` names the collections to search (default: the default
        one; ["*"]: every one you may search); results of other collections have ids
        `collection::doc_id#n`."""
        with _as_tool_error():
            return await search_tool(settings, lease, caller, query, filters, collections, shelf)

    @server.tool(annotations=read_only)
    async def fetch(id: str) -> FetchedDocument:
        """Fetch the whole document behind a search result `id` (or a document id): its full text, a
        `url` to cite, and metadata (source, date, format, the passage's character and line range,
        pages with their printed labels and section, and the document's own metadata). Ids are at most
        4,200 characters."""
        with _as_tool_error():
            return await fetch_tool(settings, lease, id, shelf)

    return server
