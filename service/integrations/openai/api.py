"""``POST /v1/vector_stores/{vector_store_id}/search``: OpenAI's Vector Store search over a collection.

Each collection is a vector store (its name is the id; ``integrations.vector_store_id`` names the
default one). Errors of every OpenAI-compatible endpoint come in OpenAI's shape (``{"error":
{"message", "type", "param", "code"}}``), so the ``openai`` client reports them well."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody

from indexer.search import Hit
from service import querying
from service.admission.auth import API_SECURITY
from service.admission.guards import require_json
from service.admission.limits import check_query
from service.api.bodies import StrictJSON
from service.api.schemas import Citation
from service.errors import InvalidInputError, NotFoundError, Refusal, exception_handlers
from service.integrations.openai.identity import file_id_of, filename_of
from service.integrations.openai.schemas import (
    DEFAULT_MAX_NUM_RESULTS,
    Content,
    OpenAIError,
    OpenAIErrorBody,
    VectorStoreSearchPage,
    VectorStoreSearchRequest,
    VectorStoreSearchResult,
)
from service.querying import Ask, Caller
from service.runtime.writes import Writes
from service.settings import AppSettings

OPENAI_ERRORS = {
    400: "The body is empty, not JSON or not a valid request (`param` names the field).",
    401: "The API key is missing or wrong (code `invalid_api_key`).",
    403: "The API key may see this but not change it (a write, or an admin's action).",
    404: "No such object, or not one this key may see (code `not_found`).",
    409: "The object conflicts with one that exists, or a limit on how many is reached.",
    413: "The request body (or the uploaded file) is larger than the configured limit.",
    415: "The body is not sent in the media type this endpoint reads.",
    429: "Too many requests from this client (code `rate_limit_exceeded`); retry after the Retry-After "
    "seconds.",
    503: "No index snapshot is loaded, or the service is starting (type `server_error`).",
}
"""Every error the OpenAI-compatible endpoints answer, in OpenAI's error body."""


def openai_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the OpenAI error bodies a handler may answer with."""
    return {
        status: ResponseSpec(OpenAIErrorBody, description=OPENAI_ERRORS[status], generate_examples=False)
        for status in statuses
    }


def openai_error(request: Request[Any, Any, Any], refused: Refusal) -> Response[Any]:
    """A refusal in OpenAI's error body; invalid input is a 400, as OpenAI's."""
    status = 400 if refused.status == 422 else refused.status
    kind, code = "invalid_request_error", None
    if status == 401:
        code = "invalid_api_key"
    elif status == 404:
        code = "not_found"
    elif status == 429:
        kind = code = "rate_limit_exceeded"
    elif status >= 500:
        kind = "server_error"
    body = OpenAIErrorBody(OpenAIError(message=refused.detail, type=kind, param=refused.param, code=code))
    return Response(body, status_code=status, headers=refused.headers, media_type="application/json")


def _result(hit: Hit, base_url: str, default: str) -> VectorStoreSearchResult:
    """A passage as OpenAI's search result: an uploaded file shows under its ``file-...`` id and
    filename; ``attributes`` are the document's metadata (an upload's ``attributes``) and the
    citation's fields (which win on a clash)."""
    doc_id = hit.document.doc_id
    citation = Citation.from_hit(hit, base=base_url, default=default).attributes(hit.chunk.chunk_id)
    metadata = {k: v for k, v in hit.document.metadata.items() if isinstance(v, str | int | float | bool)}
    return VectorStoreSearchResult(
        file_id=file_id_of(doc_id),
        filename=filename_of(doc_id),
        score=hit.score,
        attributes={**metadata, **citation},
        content=[Content(type="text", text=hit.chunk.text)],
    )


def _check_queries(queries: tuple[str, ...], settings: AppSettings) -> None:
    most = settings.service.max_queries
    if not 1 <= len(queries) <= most:
        raise InvalidInputError(
            f"query must be a string or a list of 1 to {most} strings",
            errors=[{"key": "query", "message": "wrong number of queries", "source": "body"}],
        )
    for query in queries:
        check_query(query, settings.service)


def _nothing_published(writes: Writes, name: str) -> bool:
    """Whether ``name`` is a collection created over HTTP that has no snapshot yet: searching it
    finds nothing (a configured collection without a snapshot is unavailable: 503)."""
    holder = writes.collections.get(name)
    return writes.registry.get(name) is not None and holder is not None and holder.current is None


class VectorStoresController(Controller):
    path = "/v1/vector_stores"
    exception_handlers = exception_handlers(openai_error)

    @post(
        "/{vector_store_id:str}/search",
        guards=[require_json],
        dto=StrictJSON[VectorStoreSearchRequest],
        return_dto=None,
        summary="Search the index (OpenAI Vector Store search)",
        operation_id="searchVectorStore",
        tags=["chatbots"],
        status_code=200,
        security=API_SECURITY,
        responses=openai_responses(400, 401, 404, 413, 415, 429, 503),
    )
    async def search(
        self,
        vector_store_id: FromPath[str],
        data: JSONBody[VectorStoreSearchRequest],
        settings: NamedDependency[AppSettings],
        caller: NamedDependency[Caller],
        writes: NamedDependency[Writes],
    ) -> VectorStoreSearchPage:
        """OpenAI's ``vector_stores.search``: the passages that best match ``query``, best first, as
        ``vector_store.search_results.page``. ``filters`` select passages as on ``POST /v1/search``
        (the fields of each result's ``attributes`` and the documents' metadata keys);
        ``ranking_options.score_threshold`` (default: ``retrieval.min_score``) drops weaker results,
        so a query nothing answers gets an empty page. ``score`` is the calibrated relevance (0 to 1).
        All results fit in one page. ``vector_store_id`` is a collection's name
        (``integrations.vector_store_id`` names the default collection)."""
        integrations = settings.integrations
        name = (
            settings.default_collection
            if vector_store_id == integrations.vector_store_id
            else vector_store_id
        )
        if not querying.reachable(caller, name):
            raise NotFoundError(f"No vector store found with id {vector_store_id[:128]!r}.")
        queries = (data.query,) if isinstance(data.query, str) else tuple(data.query)
        if _nothing_published(writes, name):  # a store made over HTTP, nothing indexed in it yet
            _check_queries(queries, settings)  # refused as a search would refuse them
            return VectorStoreSearchPage(search_query=list(queries), data=[])
        threshold = data.ranking_options.score_threshold if data.ranking_options else None
        keys = querying.Keys(top_k="max_num_results")
        ask = Ask(
            queries,
            data.max_num_results,
            default_top_k=DEFAULT_MAX_NUM_RESULTS,
            filters=data.filters,
            min_score=threshold,
            keys=keys,
            collections=(name,),
        )
        hits = await querying.search(ask, settings, None, caller)
        results = [_result(hit, settings.public_url, settings.default_collection) for hit in hits]
        return VectorStoreSearchPage(search_query=list(queries), data=results)
