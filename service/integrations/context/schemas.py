"""Bodies of ``POST /v1/context``: a token-budgeted, numbered context for a prompt."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from service.api.schemas import MAX_TOP_K, Citation, CollectionNames, Filters, MinScore, Mode, Query

MAX_CONTEXT_TOKENS = 1_000_000
DEFAULT_CONTEXT_TOP_K = 20


class ContextRequest(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    query: Query
    max_tokens: Annotated[
        int,
        Meta(
            ge=1,
            le=MAX_CONTEXT_TOKENS,
            description="Token budget of the whole context string, counted with `encoding`.",
            examples=[1000],
        ),
    ]
    encoding: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=64,
            description="tiktoken encoding used to count tokens; must be available offline.",
        ),
    ] = "cl100k_base"
    top_k: Annotated[
        int,
        Meta(ge=1, le=MAX_TOP_K, description="How many ranked passages to consider for packing."),
    ] = DEFAULT_CONTEXT_TOP_K
    mode: Mode | None = None
    min_score: Annotated[
        MinScore | None,
        Meta(
            description="Leave out passages scoring below this; the configured retrieval.min_score when "
            "omitted (0: keep all). Nothing relevant: an empty context and no citations."
        ),
    ] = None
    filters: Filters | None = None
    collections: CollectionNames | None = None


class ContextCitation(Citation, frozen=True, kw_only=True):
    """A citation of a passage of the context (chunks of one document merged), with its number."""

    number: Annotated[int, Meta(description="The passage's number, `[number]` in `context`.")]
    text: Annotated[str, Meta(description="document.text[char_start:char_end].")]
    chunk_ids: Annotated[list[str], Meta(description="The indexed chunks merged into this passage.")]
    score: Annotated[float, Meta(description="The best retrieval score among the merged chunks.")]
    truncated: Annotated[bool, Meta(description="True when the passage was cut short to fit the budget.")] = (
        False
    )


class ContextResponse(msgspec.Struct, frozen=True):
    query: str
    context: Annotated[
        str, Meta(description="Numbered passages, ready to paste into a prompt: `[1] title` then text.")
    ]
    citations: list[ContextCitation]
    used_tokens: Annotated[int, Meta(description="Tokens of `context`; never more than `max_tokens`.")]
    max_tokens: int
    encoding: str
    took_ms: float
    snapshot_id: str
