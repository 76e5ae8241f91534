"""Request guards shared by the controllers.

Guards are ``async`` although they never wait: Litestar runs a sync guard on a worker thread, a thread
hop on every request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from service.errors import BadRequestError, InvalidInputError, UnsupportedMediaTypeError


async def require_json(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Bodies must be sent as ``application/json`` (any ``+json`` type is accepted too)."""
    media_type = connection.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        shown = media_type or "none"
        raise UnsupportedMediaTypeError(f"Content-Type must be application/json, got {shown}")
    if connection.headers.get("content-length") == "0":
        raise BadRequestError("the request body is empty; send a JSON object")


Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]


def known_query(*names: str) -> Guard:
    """A guard refusing (422) a query parameter other than ``names``: an endpoint's query is as strict
    as its JSON body."""
    allowed = frozenset(names)

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        unknown = sorted(set(connection.query_params) - allowed)
        if unknown:
            message = f"unknown query parameter {unknown[0]!r}; this endpoint takes {sorted(allowed)}"
            raise InvalidInputError(
                message, errors=[{"key": unknown[0], "message": message, "source": "query"}]
            )

    return guard
