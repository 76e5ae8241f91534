"""Request ids, one structured access-log line per request, and per-request metrics.

:class:`RequestObserver` wraps the whole ASGI app (outside routing, so 404 and 405 are seen too). It
takes the client's ``X-Request-ID`` when it is sane or makes one, returns it as a response header,
keeps it in a context variable so every log line written while handling the request carries it, and
when the response is sent logs one line (``citesearch.access``) with method, path, route template,
status, duration, client address and what the handler added (snapshot id, result count; the query
text only when ``observability.log_queries`` is on). Authorization headers are never logged.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from service.runtime.metrics import Metrics

access_log = logging.getLogger("citesearch.access")

REQUEST_ID: ContextVar[str | None] = ContextVar("citesearch_request_id", default=None)
_FIELDS: ContextVar[dict[str, Any] | None] = ContextVar("citesearch_request_fields", default=None)
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
UNMATCHED = "<unmatched>"
"""The route label of requests no route matched (404s), so scanners cannot blow up the label set."""


def annotate(**fields: Any) -> None:
    """Add fields to the current request's access-log line (no-op outside a request)."""
    current = _FIELDS.get()
    if current is not None:
        current.update(fields)


class RequestObserver:
    def __init__(
        self, app: ASGIApp, metrics: Metrics | None, *, log_requests: bool, log_queries: bool
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.log_requests = log_requests
        self.log_queries = log_queries

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        fields: dict[str, Any] = {}
        id_token = REQUEST_ID.set(request_id)
        fields_token = _FIELDS.set(fields)
        status = 500
        header = (b"x-request-id", request_id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        started = time.perf_counter()
        if self.metrics is not None:
            self.metrics.in_progress.inc()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("path_template") or UNMATCHED
            method = scope["method"]
            if self.metrics is not None:
                self.metrics.in_progress.dec()
                self.metrics.request_done(method, route, status, seconds)
            if self.log_requests:
                if not self.log_queries:
                    fields.pop("query", None)
                client = scope.get("client")
                entry = {
                    "request_id": request_id,
                    "method": method,
                    "path": scope["path"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                    "client": client[0] if client else None,
                    **fields,
                }
                access_log.info(
                    "%s %s %d %.1fms", method, scope["path"], status, seconds * 1000, extra={"fields": entry}
                )
            _FIELDS.reset(fields_token)
            REQUEST_ID.reset(id_token)


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if _SANE_ID.fullmatch(candidate):
                return candidate
            break
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and any ``fields`` extra."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            entry["request_id"] = request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = REQUEST_ID.get()
        return f"{line} [request {request_id}]" if request_id else line


def configure_logging(level: str, fmt: str) -> None:
    """Send every log record (the service's, uvicorn's, libraries') to stderr in ``fmt`` (json|text)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
