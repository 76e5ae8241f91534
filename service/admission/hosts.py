"""The ``Host`` header allow-list (``service.allowed_hosts``), against DNS rebinding: a web page on
another site that resolves its own name to 127.0.0.1 must not reach a service with no keys."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPResponseBodyEvent, HTTPResponseStartEvent, Receive, Scope, Send

from service.settings import AppSettings

LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_hosts(settings: AppSettings) -> frozenset[str] | None:
    """Host names accepted (lower case, no port); None: any. ``service.allowed_hosts`` if set, else,
    bound to a loopback address, the localhost names, that address and the public URL's host."""
    configured = settings.service.allowed_hosts
    if "*" in configured:
        return None
    if configured:
        return frozenset(host_name(entry) for entry in configured)
    if not _loopback(settings.service.host):
        return None
    public = urlsplit(settings.public_url).hostname or ""
    return frozenset({*LOCAL_NAMES, settings.service.host.strip("[]").lower(), public.lower()} - {""})


def host_name(value: str) -> str:
    """``Host`` without its port, lower case (``[::1]:8000`` -> ``::1``)."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    name, _, port = value.rpartition(":")
    return name if name and port.isdigit() and ":" not in name else value


class HostCheck:
    """ASGI middleware: 421 (problem details) for an HTTP request whose ``Host`` is not allowed."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str] | None) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.allowed is None or scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        hosts = [v.decode("latin-1") for k, v in scope["headers"] if k == b"host"]
        if len(hosts) == 1 and host_name(hosts[0]) in self.allowed:
            await self.app(scope, receive, send)
            return
        body = (
            b'{"type":"about:blank","title":"Misdirected Request","status":421,'
            b'"detail":"this server does not answer for that Host (service.allowed_hosts)"}'
        )
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": 421,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
        end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
        await send(start)
        await send(end)
