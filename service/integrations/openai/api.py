"""``POST /v1/vector_stores/{vector_store_id}/search``: OpenAI's Vector Store search over our index.

Our index is one vector store (``integrations.vector_store_id``). Errors come in OpenAI's shape
(``{"error": {"message", "type", "param", "code"}}``), so the ``openai`` client reports them well."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody

from indexer.search import Filter, Hit, Searcher
from indexer.search.deadline import Deadline
from service.admission.auth import API_SECURITY
from service.admission.cost import charge_work, search_units
from service.admission.guards import require_json
from service.admission.limits import check_query
from service.errors import InvalidInputError, NotFoundError, handle_exception
from service.integrations.attributes import attributes
from service.integrations.openai.schemas import (
    Content,
    OpenAIError,
    OpenAIErrorBody,
    VectorStoreSearchPage,
    VectorStoreSearchRequest,
    VectorStoreSearchResult,
)
from service.runtime.work import SearchPool
from service.settings import AppSettings

OPENAI_ERRORS = {
    400: "The body is empty, not JSON or not a valid request (`param` names the field).",
    401: "The API key is missing or wrong (code `invalid_api_key`).",
    404: "No vector store with this id (code `not_found`).",
    413: "The request body is larger than the configured limit.",
    415: "The body is not sent as application/json.",
    429: "Too many requests from this client (code `rate_limit_exceeded`); retry after the Retry-After "
    "seconds.",
    503: "No index snapshot is loaded (type `server_error`).",
}
"""Every error this endpoint answers, in OpenAI's error body."""


def openai_error_response(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Our problem details, reshaped into OpenAI's error body; invalid input is a 400, as OpenAI's."""
    problem = handle_exception(request, exc)
    status = problem.status_code or 500
    status = 400 if status == 422 else status
    detail = problem.content.get("detail", "") if isinstance(problem.content, dict) else ""
    errors = problem.content.get("errors") if isinstance(problem.content, dict) else None
    param = None
    if errors and isinstance(errors[0], dict) and errors[0].get("key"):
        param = str(errors[0]["key"])
    kind, code = "invalid_request_error", None
    if status == 401:
        code = "invalid_api_key"
    elif status == 404:
        code = "not_found"
    elif status == 429:
        kind = code = "rate_limit_exceeded"
    elif status >= 500:
        kind = "server_error"
    body = OpenAIErrorBody(OpenAIError(message=str(detail), type=kind, param=param, code=code))
    headers = {k: v for k, v in problem.headers.items() if k.lower() != "content-type"}
    return Response(body, status_code=status, headers=headers, media_type="application/json")


def _queries(data: VectorStoreSearchRequest, settings: AppSettings) -> list[str]:
    queries = [data.query] if isinstance(data.query, str) else list(data.query)
    most = settings.service.max_queries
    if not queries or len(queries) > most:
        raise InvalidInputError(
            f"query must be a string or a list of 1 to {most} strings",
            errors=[{"key": "query", "message": "wrong number of queries", "source": "body"}],
        )
    return [check_query(query, settings.service) for query in queries]


def _search(
    searcher: Searcher,
    queries: list[str],
    top_k: int,
    filters: Filter | None,
    threshold: float,
    deadline: Deadline | None = None,
) -> list[Hit]:
    """Every query's hits scoring at least ``threshold``; a passage found by several keeps its best
    score. Best first, at most ``top_k`` (blocking: run it off the event loop)."""
    best: dict[str, Hit] = {}
    for query in queries:
        for hit in searcher.search(query, top_k, filters=filters, min_score=threshold, deadline=deadline):
            seen = best.get(hit.chunk.chunk_id)
            if seen is None or hit.score > seen.score:
                best[hit.chunk.chunk_id] = hit
    return sorted(best.values(), key=lambda hit: -hit.score)[:top_k]


class VectorStoresController(Controller):
    path = "/v1/vector_stores"
    exception_handlers = {Exception: openai_error_response}  # noqa: RUF012 (Litestar's layer attribute)

    @post(
        "/{vector_store_id:str}/search",
        guards=[require_json],
        summary="Search the index (OpenAI Vector Store search)",
        operation_id="searchVectorStore",
        tags=["chatbots"],
        status_code=200,
        security=API_SECURITY,
        responses={
            status: ResponseSpec(OpenAIErrorBody, description=description, generate_examples=False)
            for status, description in OPENAI_ERRORS.items()
        },
    )
    async def search(
        self,
        request: Request[Any, Any, Any],
        vector_store_id: FromPath[str],
        data: JSONBody[VectorStoreSearchRequest],
        searcher: NamedDependency[Searcher],
        settings: NamedDependency[AppSettings],
    ) -> VectorStoreSearchPage:
        """OpenAI's ``vector_stores.search``: the passages that best match ``query``, best first, as
        ``vector_store.search_results.page``. ``filters`` select passages as on ``POST /v1/search``
        (the fields of each result's ``attributes`` and the documents' metadata keys);
        ``ranking_options.score_threshold`` (default: ``retrieval.min_score``) drops weaker results,
        so a query nothing answers gets an empty page. ``score`` is the calibrated relevance (0 to 1).
        All results fit in one page."""
        integrations = settings.integrations
        if vector_store_id != integrations.vector_store_id:
            raise NotFoundError(f"No vector store found with id {vector_store_id!r}.")
        queries = _queries(data, settings)
        filters = searcher.parse_filters(data.filters) if data.filters is not None else None
        cost = search_units(data.max_num_results, filters, queries=len(queries))
        units = charge_work(request.scope, request.app.state.limiter, cost)
        threshold = data.ranking_options.score_threshold if data.ranking_options else None
        if threshold is None:
            threshold = settings.retrieval.min_score
        pool: SearchPool = request.app.state.work
        hits = await pool.run(
            lambda deadline: _search(searcher, queries, data.max_num_results, filters, threshold, deadline),
            units=units,
            receive=request.receive,
        )
        results = [
            VectorStoreSearchResult(
                file_id=hit.document.doc_id,
                filename=hit.document.doc_id,
                score=hit.score,
                attributes=dict(attributes(hit, settings.public_url)),
                content=[Content(type="text", text=hit.chunk.text)],
            )
            for hit in hits
        ]
        return VectorStoreSearchPage(search_query=queries, data=results)
