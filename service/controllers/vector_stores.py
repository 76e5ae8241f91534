"""``POST /v1/vector_stores/{vector_store_id}/search``: OpenAI's Vector Store search over our index.

Our index is one vector store (``integrations.vector_store_id``). Errors come in OpenAI's shape
(``{"error": {"message", "type", "param", "code"}}``), so the ``openai`` client reports them well."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from service import retrieval
from service.errors import InvalidInputError, NotFoundError, handle_exception
from service.filters import FilterError, Predicate, openai_filter
from service.guards import require_json
from service.resources import Resources
from service.schemas_openai import (
    MAX_QUERIES,
    Content,
    OpenAIError,
    OpenAIErrorBody,
    VectorStoreSearchPage,
    VectorStoreSearchRequest,
    VectorStoreSearchResult,
)

FILTERED_DEPTH = 2000
"""With filters, this many ranked passages (at most) are looked at to find ``max_num_results``."""


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


def _queries(data: VectorStoreSearchRequest, resources: Resources) -> list[str]:
    queries = [data.query] if isinstance(data.query, str) else list(data.query)
    if not queries or len(queries) > MAX_QUERIES:
        raise InvalidInputError(
            f"query must be a string or a list of 1 to {MAX_QUERIES} strings",
            errors=[{"key": "query", "message": "wrong number of queries", "source": "body"}],
        )
    for query in queries:
        if not query.strip():
            raise InvalidInputError(
                "query must not be empty",
                errors=[{"key": "query", "message": "empty query", "source": "body"}],
            )
        retrieval.check_query(query, resources)
    return queries


def _filter(data: VectorStoreSearchRequest) -> Predicate | None:
    if data.filters is None:
        return None
    try:
        return openai_filter(data.filters)
    except FilterError as exc:
        errors = [{"key": "filters", "message": str(exc), "source": "body"}]
        raise InvalidInputError(str(exc), errors=errors) from exc


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
    )
    async def search(
        self,
        vector_store_id: FromPath[str],
        data: JSONBody[VectorStoreSearchRequest],
        resources: NamedDependency[Resources],
    ) -> VectorStoreSearchPage:
        """OpenAI's ``vector_stores.search``: the passages that best match ``query``, best first, as
        ``vector_store.search_results.page``. ``filters`` select on each result's ``attributes``
        (``doc_id``, ``source``, ``title``, ``date``, offsets); ``ranking_options.score_threshold``
        drops weaker results. All results fit in one page."""
        integrations = resources.settings.integrations
        if vector_store_id != integrations.vector_store_id:
            raise NotFoundError(f"No vector store found with id {vector_store_id!r}.")
        queries = _queries(data, resources)
        keep = _filter(data)
        threshold = data.ranking_options.score_threshold if data.ranking_options else 0.0
        depth = data.max_num_results
        if keep is not None:
            depth = max(depth, min(FILTERED_DEPTH, resources.snapshot.manifest.counts.chunks))
        best: dict[str, tuple[float, VectorStoreSearchResult]] = {}
        for query in queries:
            for hit in await retrieval.search(resources, query, depth):
                attributes = retrieval.attributes(hit, integrations.public_base_url)
                if hit.score < threshold or (keep is not None and not keep(attributes)):
                    continue
                seen = best.get(hit.chunk.chunk_id)
                if seen is not None and seen[0] >= hit.score:
                    continue
                result = VectorStoreSearchResult(
                    file_id=hit.document.doc_id,
                    filename=hit.document.doc_id,
                    score=hit.score,
                    attributes=dict(attributes),
                    content=[Content(type="text", text=hit.chunk.text)],
                )
                best[hit.chunk.chunk_id] = (hit.score, result)
        ranked = sorted(best.values(), key=lambda pair: -pair[0])[: data.max_num_results]
        return VectorStoreSearchPage(search_query=queries, data=[result for _, result in ranked])
