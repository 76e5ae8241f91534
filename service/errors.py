"""The service's error hierarchy and the one place that turns any exception into an HTTP answer.

One table maps each kind of exception to a :class:`Refusal` (status, detail, the fields at fault,
headers); Litestar's exception-type -> handler mapping applies it. Refusals are RFC 9457 problem
details (``type``, ``title``, ``status``, ``detail``, plus ``errors`` for validation failures), except
on the OpenAI and Dify endpoints, which render the same refusal in their own error bodies. Unexpected
exceptions are logged and answered with a generic 500 that leaks no internals.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from indexer.errors import IndexerError, InvalidFilterError, SearchTimeoutError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
_KEPT_HEADERS = ("allow", "www-authenticate", "retry-after", "ratelimit-")
"""Headers of Litestar's HTTP exceptions passed on to the client (405's Allow, 429's RateLimit-*)."""
Req = Request[Any, Any, Any]


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


class PayloadTooLargeError(ServiceError):
    status_code = 413


class UnsupportedMediaTypeError(ServiceError):
    status_code = 415


class InvalidInputError(ServiceError):
    status_code = 422


class UnavailableError(ServiceError):
    status_code = 503


@dataclass(frozen=True, slots=True)
class Refusal:
    """An exception as the client is told about it; each family of endpoints renders it in its own
    body (problem details here; OpenAI's and Dify's error objects in their controllers)."""

    exc: Exception
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None
    headers: dict[str, str] | None = None

    @property
    def param(self) -> str | None:
        """The request field at fault, when one is named."""
        key = self.errors[0].get("key") if self.errors else None
        return str(key) if key else None


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


def _invalid_value(exc: HTTPException) -> str | None:
    """The message of a body Litestar could not decode because msgspec refused a value in it (not
    its syntax), e.g. ``1e400``."""
    if exc.status_code != 400:
        return None
    cause = exc.__cause__
    while cause is not None and not isinstance(cause, msgspec.ValidationError):
        cause = cause.__cause__
    return str(cause) if cause is not None else None


def _service_error(_: Req, exc: ServiceError) -> Refusal:
    headers = exc.headers
    if exc.retry_after is not None:
        headers = {**(headers or {}), "Retry-After": str(exc.retry_after)}
    return Refusal(exc, exc.status_code, exc.detail, exc.errors, headers)


def _litestar_validation(_: Req, exc: ValidationException) -> Refusal:
    errors = _validation_errors(exc.extra)
    if errors == [{"message": "'data'", "key": "body", "source": "body"}]:  # no body (chunked, empty)
        return Refusal(exc, 400, "the request body is empty; send a JSON object")
    detail = "; ".join(f"{e.get('key') or 'body'}: {e.get('message')}" for e in errors) or str(exc.detail)
    return Refusal(exc, 422, detail, errors)


def _http_exception(_: Req, exc: HTTPException) -> Refusal:
    number = _invalid_value(exc)
    if number is not None:  # valid JSON whose value msgspec refuses (a number out of range): 422
        return Refusal(exc, 422, number, [{"message": number, "source": "body"}])
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower().startswith(_KEPT_HEADERS)}
    if exc.status_code == 429:
        headers.setdefault("Retry-After", "1")
    detail = exc.detail or HTTPStatus(exc.status_code).phrase
    return Refusal(exc, exc.status_code, detail, headers=headers or None)


_FIELD_MESSAGES = ("Object missing required field `", "Object contains unknown field `")


def _invalid_body(_: Req, exc: msgspec.ValidationError) -> Refusal:
    """A body msgspec refused; the error's ``key`` is the field at fault, from msgspec's message
    (``Expected `int`, got `str` - at `$.retrieval_setting.top_k```, ``Object missing required field
    `query```)."""
    text = str(exc)
    message, _sep, where = text.partition(" - at `$")
    path = where[:-1].lstrip(".") if where.endswith("`") else ""
    if message.startswith(_FIELD_MESSAGES) and message.endswith("`"):
        field = message.rsplit("`", 2)[1]
        path = f"{path}.{field}" if path else field
    error: dict[str, Any] = {"message": message, "source": "body"}
    if path:
        error["key"] = path
    return Refusal(exc, 422, text, [error])


def _index_unavailable(request: Req, exc: IndexerError) -> Refusal:
    log.error("index unavailable while serving %s: %s", request.url.path, exc)
    return Refusal(exc, 503, "the index is not available")


def _unexpected(request: Req, exc: Exception) -> Refusal:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return Refusal(exc, 500, "internal error; see the server log")


_REFUSALS: dict[type[Exception], Callable[[Req, Any], Refusal]] = {
    ServiceError: _service_error,
    ValidationException: _litestar_validation,
    HTTPException: _http_exception,
    msgspec.ValidationError: _invalid_body,
    msgspec.DecodeError: lambda _, exc: Refusal(exc, 400, f"the request body is not valid JSON: {exc}"),
    UnicodeDecodeError: lambda _, exc: Refusal(
        exc, 400, f"the request body is not valid UTF-8 ({exc.reason} at byte {exc.start})"
    ),
    RecursionError: lambda _, exc: Refusal(exc, 400, "the request body is nested too deeply"),
    InvalidFilterError: lambda _, exc: Refusal(
        exc, 422, str(exc), [{"key": exc.param, "message": str(exc), "source": "body"}]
    ),
    SearchTimeoutError: lambda _, exc: Refusal(exc, 503, f"{exc}; retry later", headers={"Retry-After": "1"}),
    IndexerError: _index_unavailable,
    Exception: _unexpected,
}
"""How each kind of exception is refused; the most specific class in an exception's MRO decides (as
in Litestar's own lookup), so the order of this table does not matter."""


def refusal(request: Req, exc: Exception) -> Refusal:
    """How ``exc`` is refused (by the most specific entry of the table)."""
    kind = next(cls for cls in type(exc).__mro__ if cls in _REFUSALS)
    return _REFUSALS[kind](request, exc)


Render = Callable[[Req, Refusal], Response[Any]]
"""Turns a refusal into the response an endpoint's clients expect."""


def problem_response(request: Req, refused: Refusal) -> Response[Any]:
    """``refused`` as RFC 9457 problem details."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(refused.status).phrase,
        "status": refused.status,
        "detail": refused.detail,
    }
    if refused.errors:
        body["errors"] = refused.errors
    return Response(body, status_code=refused.status, media_type=PROBLEM_JSON, headers=refused.headers)


def _handler(
    to_refusal: Callable[[Req, Any], Refusal], render: Render
) -> Callable[[Req, Any], Response[Any]]:
    def handle(request: Req, exc: Exception) -> Response[Any]:
        return render(request, to_refusal(request, exc))

    return handle


def exception_handlers(render: Render = problem_response) -> ExceptionHandlersMap:
    """Litestar's exception-type -> handler mapping (a layer's ``exception_handlers``): every exception
    refused as the table above says, answered by ``render``. Litestar picks the entry of the most
    specific class in the exception's MRO."""
    return {kind: _handler(to_refusal, render) for kind, to_refusal in _REFUSALS.items()}
