"""Requests per client (``service.admission.rate_limit`` per ``service.rate_limit_period``), charged by work.

Each request costs one unit as it arrives; a request that asks for more work (several queries, many
results, a big filter, a large context) is charged what its work is worth beyond that by its handler
(:func:`charge`, with the cost model of :mod:`service.admission.cost`). The limiter is a
generic cell rate algorithm (GCRA: one number per client, the time its allowance is next full) kept
in a bounded TTL cache (cachetools): a client's entry expires one period after its last request, and
at most ``service.rate_limit_clients`` are kept (the least recently used go first), so its memory
stays bounded whatever the clients send. IPv6 clients are counted per /64, the block one host gets.
"""

from __future__ import annotations

import ipaddress
import math
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from cachetools import TTLCache
from litestar.enums import ScopeType
from litestar.exceptions import TooManyRequestsException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from service.settings import ServiceSettings

PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
UNLIMITED_PATHS = re.compile(r"^/(health|ready|metrics)?$|^/schema|^/static/|^/documents/")
"""Probes, scrapes, the schema, the search page (``/``, ``/documents/…``: the same static shell) and
static assets are never throttled; the page's own API calls are."""
STATE_KEY = "citesearch_rate_client"


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    remaining: int
    reset: int
    """Seconds until the allowance is full again (allowed) or until the request would pass (refused)."""


class RateLimiter:
    """``limit`` units per ``period`` seconds per client, bursts up to ``limit``; thread-safe."""

    def __init__(self, limit: int, period: float, max_clients: int, clock: Any = time.monotonic) -> None:
        self.limit = limit
        self.period = period
        self.interval = period / limit
        self._clock = clock
        self._full_at: TTLCache[str, float] = TTLCache(maxsize=max_clients, ttl=period, timer=clock)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            self._full_at.expire()
            return len(self._full_at)

    def hit(self, client: str, cost: int = 1) -> Decision:
        """Charge ``cost`` units to ``client`` if its allowance has them."""
        with self._lock:
            now = self._clock()
            full_at = max(self._full_at.get(client, now), now)
            after = full_at + cost * self.interval
            if after - now > self.period:
                wait = after - now - self.period
                return Decision(False, self._remaining(full_at - now), max(1, math.ceil(wait)))
            self._full_at[client] = after
            return Decision(True, self._remaining(after - now), math.ceil(after - now))

    def _remaining(self, used: float) -> int:
        return max(0, int((self.period - used) / self.interval + 1e-9))


def client_key(scope: Scope) -> str:
    """The rate-limited identity: the client's address (IPv6: its /64 network)."""
    client = scope.get("client")
    host = client[0] if client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _headers(limiter: RateLimiter, decision: Decision) -> dict[str, str]:
    return {
        "RateLimit-Policy": f"{limiter.limit};w={int(limiter.period)}",
        "RateLimit-Limit": str(limiter.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(decision.reset),
    }


def _refuse(limiter: RateLimiter, decision: Decision, cost: int) -> TooManyRequestsException:
    detail = "too many requests from this client; retry after the Retry-After seconds"
    if cost > limiter.limit:
        detail = f"this request costs {cost} units, more than the {limiter.limit} a client may use per period"
    headers = {**_headers(limiter, decision), "Retry-After": str(decision.reset)}
    return TooManyRequestsException(detail=detail, headers=headers)


def charge(scope: Scope, limiter: RateLimiter | None, cost: int) -> None:
    """Charge a request's extra work (``cost`` more units) to its client; 429 if over the limit."""
    if limiter is None or cost <= 0:
        return
    decision = limiter.hit(scope.get("state", {}).get(STATE_KEY) or client_key(scope), cost)
    if not decision.allowed:
        raise _refuse(limiter, decision, cost + 1)


class RateLimitMiddleware:
    """ASGI middleware (inside Litestar's error handling): one unit per request, 429 beyond the limit,
    ``RateLimit-*`` headers on every limited route's answer."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or UNLIMITED_PATHS.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        key = client_key(scope)
        decision = self.limiter.hit(key)
        if not decision.allowed:
            raise _refuse(self.limiter, decision, 1)
        scope.setdefault("state", {})[STATE_KEY] = key
        extra = [(k.lower().encode(), v.encode()) for k, v in _headers(self.limiter, decision).items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def rate_limiter(settings: ServiceSettings) -> RateLimiter | None:
    """The limiter ``service.admission.rate_limit`` asks for (None: no limit)."""
    if settings.rate_limit <= 0:
        return None
    period = PERIODS[settings.rate_limit_period]
    return RateLimiter(settings.rate_limit, period, settings.rate_limit_clients)
