"""The service's sections of ``config.yaml``: HTTP, API keys, observability and the chatbot
integrations, on top of the indexer's sections (:class:`indexer.config.Settings`), parsed once by the
same loader into one frozen object."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from indexer.config import EngineOptions, Settings, load_settings


class _Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class ServiceSettings(EngineOptions, frozen=True):
    """HTTP, limits and, inherited from :class:`~indexer.config.EngineOptions` (declared there once),
    how the query engine batches, caches and threads searches (``max_batch``, ``batch_window_ms``,
    ``query_cache_size``, ``faiss_threads``, ``faiss_blas_threshold``)."""

    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 8000
    max_query_chars: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 2000
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 65_536
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    reload_poll_seconds: Annotated[float, msgspec.Meta(ge=0)] = 2.0
    """How often the service checks ``index/current`` for a newly published snapshot (0: never; then
    only ``POST /v1/admin/reload`` swaps snapshots)."""
    max_top_k: Annotated[int, msgspec.Meta(ge=1, le=100)] = 100
    """Most passages one search returns, on every endpoint (``top_k``, ``max_per_doc``, Dify's
    ``top_k``, OpenAI's ``max_num_results``, MCP's results): a larger count asked for is a 422 (400 in
    OpenAI's shape), an endpoint's default above it is lowered to it; never more than 100."""
    rate_limit: Annotated[int, msgspec.Meta(ge=0)] = 0
    """Requests each client (IP address) may make per ``rate_limit_period`` (429 above it); 0: no limit.
    ``/health``, ``/ready``, ``/metrics`` and ``/schema`` are not limited."""
    rate_limit_period: Literal["second", "minute", "hour", "day"] = "minute"
    rate_limit_clients: Annotated[int, msgspec.Meta(ge=1)] = 100_000
    """Most clients the rate limiter remembers at once (beyond it the least recently seen are forgotten;
    a client's state also expires one period after its last request): its memory is bounded."""
    max_queries: Annotated[int, msgspec.Meta(ge=1, le=100)] = 10
    """Most queries in one vector store search (400 above it, in OpenAI's error shape); each counts as
    one request for the rate limit."""
    request_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 10.0
    """A search not done this long after it was asked for (waiting for a thread included) is stopped
    and answered 503 with ``Retry-After``; a search whose client disconnects is stopped too."""
    max_expensive_searches: Annotated[int, msgspec.Meta(ge=1, le=64)] = 1
    """Expensive searches (worth 4 rate-limit units or more: big filters, large ``top_k``, several
    queries, large contexts) running at once; more wait, within ``request_timeout_seconds``."""
    trusted_proxies: tuple[str, ...] = ()
    """Addresses or networks (``10.0.0.0/8``) of reverse proxies whose ``X-Forwarded-For`` names the
    client (for the rate limit and the access log); empty: the connection's address is the client."""
    allowed_hosts: tuple[str, ...] = ()
    """``Host`` header values accepted (a name, or ``name:port``; ``"*"``: any), others get 421. Empty:
    bound to a loopback address, the localhost names and the public URL's host; else any."""
    max_header_bytes: Annotated[int, msgspec.Meta(ge=8192, le=1_048_576)] = 65_536
    """A request whose request line and headers exceed this, to the byte (or that has more than 100
    headers), is answered 431 and closed, before it reaches the routes."""
    header_timeout_seconds: Annotated[float, msgspec.Meta(ge=0.5, le=60)] = 5.0
    """A connection that has not sent a complete request head this long after it opened (or after its
    last answer, when kept alive) is closed."""
    max_connections: Annotated[int, msgspec.Meta(ge=1)] = 1000
    """Client connections served at once; more wait in the kernel's accept queue. Kept below the
    open-file limit (raised to its hard limit at start)."""
    stream_idle_seconds: Annotated[float, msgspec.Meta(gt=0)] = 60.0
    """An MCP event stream (``GET /mcp``) with nothing to send is closed after this long."""
    cors_origins: tuple[str, ...] = ()
    """Origins browsers may call the API from (``"*"`` for any); empty: CORS is off."""


class IntegrationsSettings(_Section, frozen=True):
    public_base_url: Annotated[str, msgspec.Meta(pattern=r"^(https?://[^/\s]+(/\S*)?)?$")] = ""
    """Where clients reach the service; absolute citation links (MCP, OpenAI, Dify) start with it.
    Empty: ``http://<service.host>:<service.port>`` (a wildcard host as ``127.0.0.1``)."""
    vector_store_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] = "vs_citesearch"
    """The id under which the index answers the OpenAI-compatible vector store search."""
    max_files_per_key: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 10_000
    """Most files one key keeps uploaded through ``POST /v1/files`` at once (409 beyond it); each is
    at most ``writes.max_upload_mb``. They are kept in ``<index_dir>/_files/`` until deleted."""
    dify_knowledge_ids: tuple[str, ...] = ("citesearch",)
    """External knowledge ids a Dify knowledge base may name; any other id gets error 2001."""


ApiKey = Annotated[str, msgspec.Meta(min_length=16, max_length=256, pattern=r"^[!-~]+$")]
"""At least 16 printable ASCII characters, no spaces."""


Permission = Literal["search", "write"]
"""What a scoped key may do in a collection: search it (every read door), or also write to it."""
EVERY_COLLECTION = "*"


class KeySettings(_Section, frozen=True):
    """One scoped key (``auth.keys``): the collections it reaches and what it may do in each."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    """Who holds the key (shown in the access log instead of the key)."""
    sha256: Annotated[str, msgspec.Meta(pattern=r"^([0-9a-f]{64})?$")] = ""
    """The lower-case hex SHA-256 of the key (``python -m service keys new`` prints a key and it)."""
    key: Annotated[str, msgspec.Meta(pattern=r"^([!-~]{16,256})?$")] = ""
    """The key itself, for tests and development only: production configs give ``sha256``."""
    collections: dict[str, tuple[Permission, ...]] = msgspec.field(default_factory=dict)
    """Collection name (or ``"*"``: every collection) to permissions; a collection not named is not
    reachable with this key (404, as if it did not exist)."""
    admin: bool = False
    """Admin endpoints, and search and write on every collection."""

    def __post_init__(self) -> None:
        if bool(self.sha256) == bool(self.key):
            raise ValueError(f"auth.keys {self.name!r}: give exactly one of sha256 and key")


class AuthSettings(_Section, frozen=True):
    keys: tuple[KeySettings, ...] = ()
    """Scoped keys, each reaching only the collections it names (see :class:`KeySettings`)."""
    api_keys: tuple[ApiKey, ...] = ()
    """Keys accepted on the search endpoints (``Authorization: Bearer <key>``); empty: they are open.
    Set them in the environment rather than in a committed file:
    ``CITESEARCH__AUTH__API_KEYS='["key one", "key two"]'``."""
    admin_keys: tuple[ApiKey, ...] = ()
    """Keys accepted on the admin endpoints (and on search); empty: admin endpoints always answer 401."""

    def __post_init__(self) -> None:
        names = [key.name for key in self.keys]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"auth.keys: the name {repeated[0]!r} is given to more than one key")


class ObservabilitySettings(_Section, frozen=True):
    metrics: bool = True
    """Serve Prometheus metrics at ``/metrics``."""
    metrics_require_key: bool = False
    """``/metrics`` needs an API key (from ``auth.api_keys`` or ``auth.admin_keys``)."""
    access_log: bool = True
    """One log line per request: request id, method, path, route, status, duration, client, snapshot."""
    log_queries: bool = False
    """Put the query text in the access log (it may be personal data)."""
    log_format: Literal["json", "text"] = "json"
    """``python -m service``'s log lines: one JSON object each, or plain text."""


class WritesSettings(_Section, frozen=True):
    """Documents written over HTTP (``PUT /v1/collections/{name}/documents/{doc_id}``)."""

    max_upload_mb: Annotated[float, msgspec.Meta(gt=0, le=4096)] = 50.0
    """Largest document accepted (413 above it, checked while it streams in: no more is written)."""
    max_documents: Annotated[int, msgspec.Meta(ge=1)] = 100_000
    """Documents one collection may hold; a new document past it is refused (409)."""
    wait_seconds: Annotated[float, msgspec.Meta(ge=0, le=600)] = 30.0
    """``?wait=true`` waits at most this long for the document to be searchable (then 202)."""
    max_jobs: Annotated[int, msgspec.Meta(ge=100, le=10_000_000)] = 100_000
    """Finished jobs remembered (``GET .../jobs/{id}``); the oldest are forgotten first."""

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 2**20)


class AppSettings(Settings, frozen=True):
    """Everything in ``config.yaml``: the indexer's sections and the service's."""

    service: ServiceSettings = msgspec.field(default_factory=ServiceSettings)
    auth: AuthSettings = msgspec.field(default_factory=AuthSettings)
    observability: ObservabilitySettings = msgspec.field(default_factory=ObservabilitySettings)
    integrations: IntegrationsSettings = msgspec.field(default_factory=IntegrationsSettings)
    writes: WritesSettings = msgspec.field(default_factory=WritesSettings)

    def __post_init__(self) -> None:
        super().__post_init__()
        known = set(self.collection_names)
        for key in self.auth.keys:
            unknown = sorted(set(key.collections) - known - {EVERY_COLLECTION})
            if unknown:
                raise ValueError(
                    f"auth.keys {key.name!r} names the collection {unknown[0]!r}, which is not configured "
                    f"(collections: {', '.join(self.collection_names)})"
                )

    @property
    def public_url(self) -> str:
        """Where clients reach the service: ``integrations.public_base_url``, or when it is empty
        ``http://<service.host>:<service.port>`` (a wildcard host shown as ``127.0.0.1``)."""
        if self.integrations.public_base_url:
            return self.integrations.public_base_url
        host = self.service.host
        host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        return f"http://[{host}]:{self.service.port}" if ":" in host else f"http://{host}:{self.service.port}"


def load_app_settings(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> AppSettings:
    """``config.yaml`` (or ``$CITESEARCH_CONFIG``) with environment overrides, every section."""
    return load_settings(path, environ, schema=AppSettings)


def with_address(settings: AppSettings, *, host: str | None = None, port: int | None = None) -> AppSettings:
    """``settings`` listening on ``host``/``port`` where given (the command line's ``--host``, ``--port``)."""
    service = msgspec.structs.replace(
        settings.service,
        host=settings.service.host if host is None else host,
        port=settings.service.port if port is None else port,
    )
    return msgspec.structs.replace(settings, service=service)
