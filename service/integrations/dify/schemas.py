"""Bodies of Dify's External Knowledge API, ``POST /retrieval``."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

from service.api.schemas import MAX_TOP_K, Query


class RetrievalSetting(msgspec.Struct, frozen=True):
    top_k: Annotated[int, Meta(ge=1, le=MAX_TOP_K, description="Most records to return.")]
    score_threshold: (
        Annotated[
            float,
            Meta(
                ge=0,
                le=1,
                description="Leave out records whose score (calibrated relevance, 0 to 1) is below this; "
                "the configured retrieval.min_score when 0 (what Dify sends with its threshold switched "
                "off), omitted or null.",
            ),
        ]
        | None
    ) = None


class DifyRetrievalRequest(msgspec.Struct, frozen=True):
    knowledge_id: Annotated[str, Meta(description="One of integrations.dify_knowledge_ids.")]
    query: Query
    retrieval_setting: RetrievalSetting
    metadata_condition: Annotated[
        dict[str, Any] | None,
        Meta(description="{logical_operator: and|or, conditions: [{name, comparison_operator, value}]}"),
    ] = None


class DifyRecord(msgspec.Struct, frozen=True):
    content: str
    score: float
    title: str
    metadata: Annotated[dict[str, str | int], Meta(description="The citation; an object, never null.")]


class DifyRetrievalResponse(msgspec.Struct, frozen=True):
    records: list[DifyRecord]


class DifyError(msgspec.Struct, frozen=True):
    error_code: int
    error_msg: str
