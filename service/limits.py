"""Per-client rate limiting and CORS, built from ``service`` settings (both off by default)."""

from __future__ import annotations

from litestar.config.cors import CORSConfig
from litestar.middleware.rate_limit import RateLimitConfig

from indexer.config import ServiceSettings

UNLIMITED_PATHS = ["^/health$", "^/ready$", "^/metrics$", "^/schema"]
"""Probes, scrapes and the schema are never throttled."""
RATE_LIMIT_HEADERS = ["RateLimit-Policy", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"]


def rate_limit_config(settings: ServiceSettings) -> RateLimitConfig | None:
    """``service.rate_limit`` requests per client address per ``service.rate_limit_period``.

    The client is the connection's address; behind a reverse proxy, run uvicorn with
    ``--proxy-headers --forwarded-allow-ips <proxy>`` so it is the real client's."""
    if settings.rate_limit <= 0:
        return None
    limit = (settings.rate_limit_period, settings.rate_limit)
    return RateLimitConfig(rate_limit=limit, exclude=UNLIMITED_PATHS)


def cors_config(settings: ServiceSettings) -> CORSConfig | None:
    if not settings.cors_origins:
        return None
    return CORSConfig(
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        expose_headers=["X-Request-ID", "Retry-After", *RATE_LIMIT_HEADERS],
        max_age=600,
    )
