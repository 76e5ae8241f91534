"""API keys: ``Authorization: Bearer <key>``, checked by one app-wide guard.

Every route needs a key unless it says otherwise in its ``opt``: ``{"auth": "public"}`` (health,
readiness, the schema), ``{"auth": "api"}`` (the default: a key is needed only when
``auth.api_keys`` is set) or ``{"auth": "admin"}`` (always a key from ``auth.admin_keys``). A missing
or unknown key is a 401; a search key on an admin endpoint is a 403 (the key is good, its rights are
not). Keys are
compared as SHA-256 digests with :func:`hmac.compare_digest`, so the time taken says nothing about a
key's content or length, and they are never logged.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Literal

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from service.errors import ForbiddenError, UnauthorizedError
from service.settings import AuthSettings

Level = Literal["public", "api", "admin"]
PUBLIC: dict[str, Any] = {"auth": "public"}
ADMIN: dict[str, Any] = {"auth": "admin"}

BEARER_SCHEME = "bearerAuth"
API_SECURITY: list[dict[str, list[str]]] = [{}, {BEARER_SCHEME: []}]
"""OpenAPI: a key is optional on search endpoints (required when ``auth.api_keys`` is set)."""
ADMIN_SECURITY: list[dict[str, list[str]]] = [{BEARER_SCHEME: []}]


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()


class KeyChecker:
    def __init__(self, settings: AuthSettings, public_prefixes: tuple[str, ...] = ()) -> None:
        self._admin = [_digest(k) for k in settings.admin_keys]
        self._api = [_digest(k) for k in settings.api_keys] + self._admin
        self.api_required = bool(settings.api_keys)
        self.public_prefixes = public_prefixes

    @staticmethod
    def _matches(given: bytes, keys: list[bytes]) -> bool:
        found = False
        for key in keys:  # no early exit: every key is compared
            found |= hmac.compare_digest(given, key)
        return found

    def check(self, authorization: str | None, level: Level) -> None:
        """Raise :class:`UnauthorizedError` unless ``authorization`` carries a known key, and
        :class:`ForbiddenError` if that key is not good for ``level``."""
        if level == "public" or (level == "api" and not self.api_required):
            return
        keys = self._admin if level == "admin" else self._api
        if not authorization:
            raise UnauthorizedError("an API key is required: send Authorization: Bearer <key>")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise UnauthorizedError("the Authorization header must be: Bearer <key>")
        if not keys:
            raise UnauthorizedError("admin endpoints are disabled: no auth.admin_keys are configured")
        given = _digest(token)
        if self._matches(given, keys):
            return
        if level == "admin" and self._matches(given, self._api):
            raise ForbiddenError("this API key is good for search, not for admin endpoints (auth.admin_keys)")
        raise UnauthorizedError("the API key is not valid")

    def level_of(self, path: str, route_handler: BaseRouteHandler) -> Level:
        level = route_handler.opt.get("auth")
        if level in ("public", "api", "admin"):
            return level  # type: ignore[no-any-return]
        return "public" if path.startswith(self.public_prefixes) else "api"


async def require_key(
    connection: ASGIConnection[Any, Any, Any, Any], route_handler: BaseRouteHandler
) -> None:
    """The app-wide guard (async: a sync guard would run on a worker thread)."""
    checker: KeyChecker = connection.app.state.auth
    level = checker.level_of(connection.scope["path"], route_handler)
    checker.check(connection.headers.get("authorization"), level)
