"""Request and response bodies: validation and the OpenAPI schema come from these declarations."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

MAX_TOP_K = 100
DEFAULT_TOP_K = 5
QUERY_HARD_LIMIT = 10_000
"""Absolute cap on query length; the configured ``service.max_query_chars`` (default 2000) is lower."""

Query = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=QUERY_HARD_LIMIT,
        pattern=r"\S",
        description="The question, in natural language; must contain a non-whitespace character.",
        examples=["What did the Secretary General call the war against Ukraine an example of?"],
    ),
]
TopK = Annotated[int, Meta(ge=1, le=MAX_TOP_K, description="How many passages to return.")]
Mode = Annotated[
    Literal["dense", "lexical", "hybrid"],
    Meta(description="Retrieval mode; the configured default (retrieval.mode) when omitted."),
]


class SearchRequest(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    query: Query
    top_k: TopK = DEFAULT_TOP_K
    mode: Mode | None = None


class Citation(msgspec.Struct, frozen=True):
    doc_id: str
    source: str
    title: str
    date: str | None
    char_start: Annotated[int, Meta(description="Start offset (characters) in the document text.")]
    char_end: Annotated[int, Meta(description="End offset: text[char_start:char_end] is the passage.")]
    line_start: Annotated[int, Meta(description="1-based line of the first character.")]
    line_end: Annotated[int, Meta(description="1-based line of the last character.")]
    url: Annotated[str, Meta(description="Where to fetch the document to show or verify the citation.")]


class SearchResult(msgspec.Struct, frozen=True):
    rank: int
    score: float
    chunk_id: str
    text: str
    citation: Citation


class SearchResponse(msgspec.Struct, frozen=True):
    query: str
    results: list[SearchResult]
    took_ms: float
    snapshot_id: str


class DocumentResponse(msgspec.Struct, frozen=True):
    doc_id: str
    source: str
    title: str
    date: str | None
    sha256: str
    chunk_count: int
    char_count: int
    text: str
    snapshot_id: str


class HealthResponse(msgspec.Struct, frozen=True):
    status: str
    snapshot_id: str
    documents: int
    chunks: int
    model: str


class Problem(msgspec.Struct, frozen=True):
    """RFC 9457 problem details, the body of every error response."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]] | msgspec.UnsetType = msgspec.UNSET
