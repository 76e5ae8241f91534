"""Bodies of the OpenAI-compatible ``POST /v1/vector_stores/{vector_store_id}/search``.

Field for field those of OpenAI's Vector Store search API, so the ``openai`` client can call it.
Unknown request fields are ignored rather than refused, as newer clients may send more."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

DEFAULT_MAX_NUM_RESULTS = 10


class RankingOptions(msgspec.Struct, frozen=True):
    ranker: Annotated[str, Meta(description="Accepted for compatibility; our ranking is fixed.")] = "auto"
    score_threshold: (
        Annotated[
            float,
            Meta(
                ge=0,
                le=1,
                description="Leave out results whose score (calibrated relevance, 0 to 1) is below this; "
                "the configured retrieval.min_score when omitted or null (0: keep all).",
            ),
        ]
        | None
    ) = None


class VectorStoreSearchRequest(msgspec.Struct, frozen=True):
    query: Annotated[
        str | list[str],
        Meta(description="A query, or several (each is searched; a passage keeps its best score)."),
    ]
    max_num_results: Annotated[int, Meta(ge=1, le=50)] = DEFAULT_MAX_NUM_RESULTS
    filters: Annotated[
        dict[str, Any] | None,
        Meta(description="A comparison filter {type, key, value} or a compound filter {type, filters}."),
    ] = None
    ranking_options: RankingOptions | None = None
    rewrite_query: Annotated[bool, Meta(description="Accepted; queries are never rewritten.")] = False


class Content(msgspec.Struct, frozen=True):
    type: Literal["text"]
    text: str


class VectorStoreSearchResult(msgspec.Struct, frozen=True):
    file_id: Annotated[
        str,
        Meta(description="The uploaded file's id (file-...), or the document id of a document not uploaded."),
    ]
    filename: str
    score: float
    attributes: dict[str, str | int | float | bool]
    content: list[Content]


class VectorStoreSearchPage(msgspec.Struct, frozen=True):
    search_query: list[str]
    data: list[VectorStoreSearchResult]
    has_more: bool = False
    next_page: str | None = None
    object: Literal["vector_store.search_results.page"] = "vector_store.search_results.page"


class OpenAIError(msgspec.Struct, frozen=True):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIErrorBody(msgspec.Struct, frozen=True):
    error: OpenAIError
