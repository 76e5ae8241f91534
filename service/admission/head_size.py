"""The request head limit, ``service.max_header_bytes``, to the byte.

The server (granian) refuses a head past its read buffer of that size, but only once the buffer is full
with no end of head in it: a head that arrives whole in larger reads passed up to about twice the limit.
The request line and headers are measured here as they were sent (``METHOD target HTTP/1.1``, each
``name: value`` and their line ends; whitespace around values aside) and a head over the limit gets 431
before routing, so the documented limit is the one enforced.
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    HTTPScope,
    Receive,
    Scope,
    Send,
)

_LINE_END = 2
_HEADER_SEPARATOR = 2  # ": "


def head_bytes(scope: HTTPScope) -> int:
    """The size of the request's head as sent: request line, headers and the blank line ending it."""
    query = scope.get("query_string", b"")
    target = len(scope.get("raw_path") or scope["path"].encode()) + (len(query) + 1 if query else 0)
    version = len("HTTP/") + len(scope.get("http_version", "1.1"))
    line = len(scope["method"]) + 1 + target + 1 + version + _LINE_END
    headers = sum(len(name) + _HEADER_SEPARATOR + len(value) + _LINE_END for name, value in scope["headers"])
    return line + headers + _LINE_END


class HeadLimit:
    """ASGI middleware: 431 (problem details) for an HTTP request whose head is over ``limit`` bytes."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or head_bytes(scope) <= self.limit:
            await self.app(scope, receive, send)
            return
        body = (
            b'{"type":"about:blank","title":"Request Header Fields Too Large","status":431,'
            b'"detail":"the request line and headers are over %d bytes (service.max_header_bytes)"}'
            % self.limit
        )
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": 431,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
        end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
        await send(start)
        await send(end)
