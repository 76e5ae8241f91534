"""API keys: ``Authorization: Bearer <key>``, checked by one app-wide guard.

Every route needs a key unless it says otherwise in its ``opt``: ``{"auth": "public"}`` (health,
readiness, the schema), ``{"auth": "api"}`` (the default: a key is needed only when
``auth.api_keys`` is set) or ``{"auth": "admin"}`` (always a key from ``auth.admin_keys``). A missing
or unknown key is a 401; a search key on an admin endpoint is a 403 (the key is good, its rights are
not).

A known key resolves to its :class:`Access` (the collections it reaches and what it may do in each),
kept on the request's state for the endpoints: the scoped keys of ``auth.keys`` reach the collections
they name; ``auth.api_keys`` search every collection, ``auth.admin_keys`` do everything. Keys are
compared as SHA-256 digests with :func:`hmac.compare_digest`, every configured key each time, so the
time taken says nothing about a key's content or length, and they are never logged.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from service.errors import ForbiddenError, UnauthorizedError
from service.settings import EVERY_COLLECTION, AuthSettings, KeySettings

Level = Literal["public", "api", "admin"]
PUBLIC: dict[str, Any] = {"auth": "public"}
ADMIN: dict[str, Any] = {"auth": "admin"}

BEARER_SCHEME = "bearerAuth"
API_SECURITY: list[dict[str, list[str]]] = [{}, {BEARER_SCHEME: []}]
"""OpenAPI: a key is optional on search endpoints (required when ``auth.api_keys`` is set)."""
ADMIN_SECURITY: list[dict[str, list[str]]] = [{BEARER_SCHEME: []}]


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()


@dataclass(frozen=True)
class Access:
    """What the caller of one request may do: per collection (``"*"``: every one), its permissions."""

    name: str
    """The key's name (``auth.keys``), ``api_keys``/``admin_keys`` for the unscoped ones, or
    ``anonymous`` when the search endpoints are open."""
    scopes: Mapping[str, frozenset[str]] = field(default_factory=dict)
    admin: bool = False

    def may(self, collection: str, permission: str = "search") -> bool:
        """Whether this caller may ``permission`` in ``collection``."""
        if self.admin:
            return True
        return permission in self.scopes.get(collection, ()) or permission in self.scopes.get(
            EVERY_COLLECTION, ()
        )

    def visible(self, collections: Iterable[str], permission: str = "search") -> tuple[str, ...]:
        """The ``collections`` this caller may ``permission``, in their order."""
        return tuple(name for name in collections if self.may(name, permission))


EVERYTHING = Access("anonymous", {EVERY_COLLECTION: frozenset({"search"})})
"""The caller of an open service (no keys configured): every collection's search."""
NOBODY = Access("anonymous")
"""A caller without a key where search needs one (a public endpoint, e.g. ``/ready``): no collection."""


def _scoped(key: KeySettings) -> tuple[bytes, Access]:
    digest = bytes.fromhex(key.sha256) if key.sha256 else _digest(key.key)
    scopes = {name: frozenset(permissions) for name, permissions in key.collections.items()}
    return digest, Access(key.name, scopes, admin=key.admin)


class KeyChecker:
    def __init__(self, settings: AuthSettings, public_prefixes: tuple[str, ...] = ()) -> None:
        admin = Access("admin_keys", admin=True)
        api = Access("api_keys", {EVERY_COLLECTION: frozenset({"search"})})
        self._keys: list[tuple[bytes, Access]] = [
            *((_digest(k), admin) for k in settings.admin_keys),  # first: a key in both lists is admin
            *(_scoped(key) for key in settings.keys),
            *((_digest(k), api) for k in settings.api_keys),
        ]
        self._admin_configured = any(access.admin for _, access in self._keys)
        self.api_required = bool(settings.api_keys or settings.keys)
        self.public_prefixes = public_prefixes

    def _find(self, given: bytes) -> Access | None:
        found: Access | None = None
        for digest, access in self._keys:  # no early exit: every key is compared
            if hmac.compare_digest(given, digest) and found is None:
                found = access
        return found

    def check(self, authorization: str | None, level: Level) -> Access:
        """The caller's :class:`Access`; :class:`UnauthorizedError` unless ``authorization`` carries a
        known key (where one is needed), :class:`ForbiddenError` if that key is not good for ``level``."""
        if level == "public" or (level == "api" and not self.api_required):
            return self._optional(authorization)
        if not authorization:
            raise UnauthorizedError("an API key is required: send Authorization: Bearer <key>")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise UnauthorizedError("the Authorization header must be: Bearer <key>")
        if level == "admin" and not self._admin_configured:
            raise UnauthorizedError("admin endpoints are disabled: no auth.admin_keys are configured")
        access = self._find(_digest(token))
        if access is None:
            raise UnauthorizedError("the API key is not valid")
        if level == "admin" and not access.admin:
            raise ForbiddenError("this API key is good for search, not for admin endpoints (auth.admin_keys)")
        return access

    def _optional(self, authorization: str | None) -> Access:
        """The caller of an endpoint that needs no key: a known key's access; else, without one,
        every collection's search when search is open, nothing when it needs a key."""
        _, _, token = (authorization or "").strip().partition(" ")
        access = self._find(_digest(token.strip())) if token.strip() else None
        if access is not None:
            return access
        return NOBODY if self.api_required else EVERYTHING

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
    connection.state.access = checker.check(connection.headers.get("authorization"), level)


def access_of(request: Request[Any, Any, Any]) -> Access:
    """The caller's :class:`Access`, as the guard resolved it (a Litestar dependency)."""
    access: Access | None = request.state.get("access")
    return EVERYTHING if access is None else access
