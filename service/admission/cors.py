"""Cross-origin requests from browsers, allowed only for ``service.cors_origins`` (off by default)."""

from __future__ import annotations

from litestar.config.cors import CORSConfig

from service.admission.limits import RATE_LIMIT_HEADERS
from service.settings import ServiceSettings


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
