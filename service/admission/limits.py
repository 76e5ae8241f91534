"""What one request may ask for: query length and result count (requests per client:
:mod:`service.admission.rate_limit`).

Every endpoint that takes a query (REST search, context, the chatbot APIs, MCP tools) checks it here,
so the limits and their messages are the same everywhere.
"""

from __future__ import annotations

from service.errors import InvalidInputError
from service.settings import ServiceSettings

RATE_LIMIT_HEADERS = ["RateLimit-Policy", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"]


def check_query(query: str, settings: ServiceSettings, *, key: str = "query") -> str:
    """``query`` if it has a non-blank character and at most ``service.max_query_chars`` (422)."""
    if not query.strip():
        raise InvalidInputError(
            f"{key} must not be empty", errors=[{"key": key, "message": "empty query", "source": "body"}]
        )
    limit = settings.max_query_chars
    if len(query) > limit:
        raise InvalidInputError(
            f"{key} is {len(query)} characters long; the limit is {limit}",
            errors=[{"key": key, "message": f"longer than {limit} characters", "source": "body"}],
        )
    return query


def check_top_k(top_k: int, settings: ServiceSettings, *, key: str = "top_k") -> int:
    """``top_k`` if it is at most ``service.max_top_k`` (422)."""
    if top_k > settings.max_top_k:
        raise InvalidInputError(
            f"{key} is {top_k}; the limit is {settings.max_top_k}",
            errors=[{"key": key, "message": f"more than {settings.max_top_k}", "source": "body"}],
        )
    return top_k
