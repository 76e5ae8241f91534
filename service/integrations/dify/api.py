"""``POST /retrieval``: Dify's External Knowledge API over the query engine.

Dify appends ``/retrieval`` to the endpoint configured for an external knowledge base and sends
the API key as ``Authorization: Bearer <key>``; keys are checked by the app-wide auth, whose refusals
this controller answers with Dify's error codes (1001 malformed header, 1002 key refused); an unknown
``knowledge_id`` is 2001."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import JSONBody

from indexer.search import Searcher
from service.admission.auth import API_SECURITY
from service.admission.cost import charge_work, search_units
from service.admission.guards import require_json
from service.admission.limits import check_query
from service.api.schemas import problem_responses
from service.errors import NotFoundError, handle_exception
from service.integrations.attributes import attributes
from service.integrations.dify.filters import dify_filter
from service.integrations.dify.schemas import (
    DifyError,
    DifyRecord,
    DifyRetrievalRequest,
    DifyRetrievalResponse,
)
from service.runtime.work import SearchPool
from service.settings import AppSettings

INVALID_AUTHORIZATION_FORMAT = 1001
AUTHORIZATION_FAILED = 1002
KNOWLEDGE_DOES_NOT_EXIST = 2001
DIFY_ERRORS = {
    401: "The API key is missing or wrong: error_code 1001 (the Authorization header is not "
    "'Bearer <key>') or 1002 (the key is refused).",
    404: "No knowledge with this knowledge_id (error_code 2001).",
}
"""The refusals answered in Dify's ``{error_code, error_msg}``; the others are problem details."""


class UnknownKnowledgeError(NotFoundError):
    pass


def _bearer_format_ok(authorization: str | None) -> bool:
    scheme, _, token = (authorization or "").strip().partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


def dify_error_response(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Auth refusals and unknown knowledge ids in Dify's ``{error_code, error_msg}``; anything else
    as problem details, like the rest of the service."""
    problem = handle_exception(request, exc)
    status = problem.status_code or 500
    body: DifyError | None = None
    if isinstance(exc, UnknownKnowledgeError):
        body = DifyError(KNOWLEDGE_DOES_NOT_EXIST, "The knowledge does not exist.")
    elif status == 401:
        if _bearer_format_ok(request.headers.get("authorization")):
            body = DifyError(AUTHORIZATION_FAILED, "Authorization failed.")
        else:
            body = DifyError(
                INVALID_AUTHORIZATION_FORMAT,
                "Invalid Authorization header format. Expected 'Bearer <api-key>' format.",
            )
    if body is None:
        return problem
    headers = {k: v for k, v in problem.headers.items() if k.lower() != "content-type"}
    return Response(body, status_code=status, headers=headers, media_type="application/json")


class DifyController(Controller):
    path = "/retrieval"
    exception_handlers = {Exception: dify_error_response}  # noqa: RUF012

    @post(
        "/",
        guards=[require_json],
        summary="Dify External Knowledge API",
        operation_id="difyRetrieval",
        tags=["chatbots"],
        status_code=200,
        security=API_SECURITY,
        responses={
            **problem_responses(400, 413, 415, 422, 429, 503),
            **{
                status: ResponseSpec(DifyError, description=description, generate_examples=False)
                for status, description in DIFY_ERRORS.items()
            },
        },
    )
    async def retrieval(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[DifyRetrievalRequest],
        searcher: NamedDependency[Searcher],
        settings: NamedDependency[AppSettings],
    ) -> DifyRetrievalResponse:
        """Dify's external knowledge retrieval: the ``top_k`` best passages for ``query`` scoring at
        least ``score_threshold`` (calibrated relevance; 0 or unset, as Dify sends it when its
        threshold is switched off: ``retrieval.min_score``), each with its citation as ``metadata``.
        Nothing relevant: ``records`` is empty. ``metadata_condition`` filters on the citation's fields
        and the documents' metadata keys (translated into the filters of ``POST /v1/search``)."""
        base = settings.public_url
        if data.knowledge_id not in settings.integrations.dify_knowledge_ids:
            raise UnknownKnowledgeError(f"no knowledge with id {data.knowledge_id!r}")
        check_query(data.query, settings.service)
        filters = None
        if data.metadata_condition is not None:
            filters = dify_filter(data.metadata_condition, searcher.fields)
        setting = data.retrieval_setting
        # Dify sends 0.0 when its score threshold is switched off: that means "not set" here too.
        threshold = setting.score_threshold or settings.retrieval.min_score
        units = charge_work(request.scope, request.app.state.limiter, search_units(setting.top_k, filters))
        pool: SearchPool = request.app.state.work
        hits = await pool.run(
            lambda deadline: searcher.search(
                data.query, setting.top_k, filters=filters, min_score=threshold, deadline=deadline
            ),
            units=units,
            receive=request.receive,
        )
        return DifyRetrievalResponse(
            [DifyRecord(hit.chunk.text, hit.score, hit.document.title, attributes(hit, base)) for hit in hits]
        )
