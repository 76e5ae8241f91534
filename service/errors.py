"""The service's error hierarchy and the one place that turns any exception into an HTTP answer.

Every error is an RFC 9457 problem details document (``type``, ``title``, ``status``, ``detail``,
plus ``errors`` for validation failures). Unexpected exceptions are logged and answered with a
generic 500 that leaks no internals.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any, ClassVar

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from indexer.errors import IndexerError, InvalidFilterError, SearchTimeoutError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
_KEPT_HEADERS = ("allow", "www-authenticate", "retry-after", "ratelimit-")
"""Headers of Litestar's HTTP exceptions passed on to the client (405's Allow, 429's RateLimit-*)."""


class ServiceError(Exception):
    status_code: ClassVar[int] = 500
    headers: ClassVar[dict[str, str] | None] = None

    def __init__(
        self, detail: str, *, errors: list[dict[str, Any]] | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.retry_after = retry_after
        """Seconds, sent as ``Retry-After`` (503s of an overloaded service)."""


class BadRequestError(ServiceError):
    status_code = 400


class UnauthorizedError(ServiceError):
    status_code = 401
    headers: ClassVar[dict[str, str] | None] = {"WWW-Authenticate": 'Bearer realm="citesearch"'}


class ForbiddenError(ServiceError):
    status_code = 403


class NotFoundError(ServiceError):
    status_code = 404


class ConflictError(ServiceError):
    status_code = 409


class UnsupportedMediaTypeError(ServiceError):
    status_code = 415


class InvalidInputError(ServiceError):
    status_code = 422


class UnavailableError(ServiceError):
    status_code = 503


def problem(
    status: int,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _validation_errors(extra: Any) -> list[dict[str, Any]]:
    """Litestar's error items, with its internal parameter name ``data`` shown as ``body``."""
    if not isinstance(extra, list):
        return []
    errors = []
    for item in extra:
        if isinstance(item, dict):
            error = {k: v for k, v in item.items() if k in ("message", "key", "source")}
            if error.get("key") == "data":
                error["key"] = "body"
            errors.append(error)
    return errors


def _invalid_value(exc: Exception) -> str | None:
    """The message of a body Litestar could not decode because msgspec refused a value in it (not
    its syntax), e.g. ``1e400``."""
    if not isinstance(exc, HTTPException) or exc.status_code != 400:
        return None
    cause = exc.__cause__
    while cause is not None and not isinstance(cause, msgspec.ValidationError):
        cause = cause.__cause__
    return str(cause) if cause is not None else None


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """Map any exception raised while handling ``request`` to a problem details response."""
    if isinstance(exc, UnicodeDecodeError):
        return problem(400, f"the request body is not valid UTF-8 ({exc.reason} at byte {exc.start})")
    if isinstance(exc, RecursionError):  # msgspec's guard against deeply nested JSON
        return problem(400, "the request body is nested too deeply")
    if isinstance(exc, ServiceError):
        headers = exc.headers
        if exc.retry_after is not None:
            headers = {**(headers or {}), "Retry-After": str(exc.retry_after)}
        return problem(exc.status_code, exc.detail, exc.errors, headers)
    if isinstance(exc, ValidationException):
        errors = _validation_errors(exc.extra)
        detail = "; ".join(f"{e.get('key') or 'body'}: {e.get('message')}" for e in errors) or str(exc.detail)
        return problem(422, detail, errors)
    if isinstance(exc, msgspec.ValidationError):
        return problem(422, str(exc), [{"message": str(exc), "source": "body"}])
    number = _invalid_value(exc)
    if number is not None:  # valid JSON whose value msgspec refuses (a number out of range): 422
        return problem(422, number, [{"message": number, "source": "body"}])
    if isinstance(exc, HTTPException):
        headers = {k: v for k, v in (exc.headers or {}).items() if k.lower().startswith(_KEPT_HEADERS)}
        detail = exc.detail or HTTPStatus(exc.status_code).phrase
        if exc.status_code == 429:
            headers.setdefault("Retry-After", "1")
        return problem(exc.status_code, detail, headers=headers or None)
    if isinstance(exc, InvalidFilterError):
        return problem(422, str(exc), [{"key": exc.param, "message": str(exc), "source": "body"}])
    if isinstance(exc, SearchTimeoutError):
        return problem(503, f"{exc}; retry later", headers={"Retry-After": "1"})
    if isinstance(exc, IndexerError):
        log.error("index unavailable while serving %s: %s", request.url.path, exc)
        return problem(503, "the index is not available")
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, "internal error; see the server log")
