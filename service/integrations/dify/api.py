"""``POST /retrieval``: Dify's External Knowledge API over the query engine.

Dify appends ``/retrieval`` to the endpoint configured for an external knowledge base and sends
the API key as ``Authorization: Bearer <key>``; keys are checked by the app-wide auth, whose refusals
this controller answers with Dify's error codes (1001 malformed header, 1002 key refused); an unknown
``knowledge_id`` is 2001."""

from __future__ import annotations

import dataclasses
from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import JSONBody

from indexer.search import Hit
from service import querying
from service.admission.auth import API_SECURITY
from service.admission.guards import require_json
from service.api.bodies import StrictJSON
from service.api.schemas import Citation, problem_responses
from service.errors import NotFoundError, Refusal, exception_handlers, problem_response
from service.integrations.dify.filters import dify_filter
from service.integrations.dify.schemas import (
    DifyError,
    DifyRecord,
    DifyRetrievalRequest,
    DifyRetrievalResponse,
)
from service.querying import Ask, Caller, Keys
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


def dify_error(request: Request[Any, Any, Any], refused: Refusal) -> Response[Any]:
    """Auth refusals and unknown knowledge ids in Dify's ``{error_code, error_msg}``; anything else
    as problem details, like the rest of the service."""
    if isinstance(refused.exc, UnknownKnowledgeError):
        body = DifyError(KNOWLEDGE_DOES_NOT_EXIST, "The knowledge does not exist.")
    elif refused.status != 401:
        return problem_response(request, refused)
    elif _bearer_format_ok(request.headers.get("authorization")):
        body = DifyError(AUTHORIZATION_FAILED, "Authorization failed.")
    else:
        body = DifyError(
            INVALID_AUTHORIZATION_FORMAT,
            "Invalid Authorization header format. Expected 'Bearer <api-key>' format.",
        )
    return Response(body, status_code=refused.status, headers=refused.headers, media_type="application/json")


def _record(hit: Hit, base_url: str, default: str) -> DifyRecord:
    metadata = Citation.from_hit(hit, base=base_url, default=default).attributes(hit.chunk.chunk_id)
    return DifyRecord(hit.chunk.text, hit.score, hit.document.title, metadata)


class DifyController(Controller):
    path = "/retrieval"
    exception_handlers = exception_handlers(dify_error)

    @post(
        "/",
        guards=[require_json],
        dto=StrictJSON[DifyRetrievalRequest],
        return_dto=None,
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
        data: JSONBody[DifyRetrievalRequest],
        settings: NamedDependency[AppSettings],
        caller: NamedDependency[Caller],
    ) -> DifyRetrievalResponse:
        """Dify's external knowledge retrieval: the ``top_k`` best passages for ``query`` scoring at
        least ``score_threshold`` (calibrated relevance; 0 or unset, as Dify sends it when its
        threshold is switched off: ``retrieval.min_score``), each with its citation as ``metadata``.
        Nothing relevant: ``records`` is empty. ``metadata_condition`` filters on the citation's fields
        and the documents' metadata keys (translated into the filters of ``POST /v1/search``).
        ``knowledge_id`` is a collection's name (``integrations.dify_knowledge_ids`` name the default
        collection)."""
        knowledge = data.knowledge_id
        name = (
            settings.default_collection
            if knowledge in settings.integrations.dify_knowledge_ids
            else knowledge
        )
        if not querying.reachable(caller, name):
            raise UnknownKnowledgeError(f"no knowledge with id {knowledge[:128]!r}")
        setting = data.retrieval_setting
        # Dify sends 0.0 when its score threshold is switched off: that means "not set" here too.
        threshold = setting.score_threshold or None
        keys = Keys(top_k="retrieval_setting.top_k", filters="metadata_condition")
        ask = Ask((data.query,), setting.top_k, min_score=threshold, keys=keys, collections=(name,))
        with querying.leased(ask, caller, settings) as targets:
            if data.metadata_condition is not None:
                filters = dify_filter(data.metadata_condition, targets[0].searcher.fields)
                ask = dataclasses.replace(ask, filters=filters)
            hits = await querying.plan(ask, settings, targets).run(querying.same, caller)
        return DifyRetrievalResponse(
            [_record(hit, settings.public_url, settings.default_collection) for hit in hits]
        )
