"""``POST /v1/search``: ranked passages with citations."""

from __future__ import annotations

import time

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from indexer.search import Hit
from service.admission.auth import API_SECURITY
from service.admission.guards import require_json
from service.api.bodies import StrictJSON
from service.api.schemas import (
    DEFAULT_TOP_K,
    Citation,
    ScoreParts,
    SearchRequest,
    SearchResponse,
    SearchResult,
    problem_responses,
)
from service.querying import Ask, Caller, leased, plan, same
from service.settings import AppSettings


def to_result(hit: Hit, default: str | None = None) -> SearchResult:
    return SearchResult(
        rank=hit.rank,
        score=hit.score,
        chunk_id=hit.chunk.chunk_id,
        text=hit.chunk.text,
        citation=Citation.from_hit(hit, default=default),
        scores=ScoreParts(dense=hit.dense, lexical=hit.lexical),
        highlights=list(hit.highlights),
    )


class SearchController(Controller):
    path = "/v1"

    @post(
        "/search",
        guards=[require_json],
        dto=StrictJSON[SearchRequest],
        return_dto=None,
        summary="Search the index",
        operation_id="search",
        tags=["search"],
        status_code=200,
        security=API_SECURITY,
        responses=problem_responses(400, 401, 413, 415, 422, 429, 503),
    )
    async def search(
        self,
        data: JSONBody[SearchRequest],
        settings: NamedDependency[AppSettings],
        caller: NamedDependency[Caller],
    ) -> SearchResponse:
        """Return the passages that best answer ``query``, best first, each with an exact citation:
        ``document.text[char_start:char_end] == text``, and its pages and section where the format has
        them. ``score`` is a calibrated relevance (0 to 1, comparable across queries), ``scores`` its
        parts; ``min_score`` leaves out weaker passages; ``filters`` narrows the search to matching
        passages (up to ``top_k`` of them are still returned). ``collections`` searches several
        collections as one ranked list, each citation naming its collection."""
        started = time.perf_counter()
        ask = Ask(
            (data.query,),
            data.top_k,
            data.mode,
            max_per_doc=data.max_per_doc,
            default_top_k=DEFAULT_TOP_K,
            filters=data.filters,
            min_score=data.min_score,
            default_threshold=False,
            collections=tuple(data.collections) if data.collections is not None else None,
        )
        with leased(ask, caller, settings) as targets:
            hits = await plan(ask, settings, targets).run(same, caller)
        return SearchResponse(
            query=data.query,
            results=[to_result(hit, settings.default_collection) for hit in hits],
            took_ms=round((time.perf_counter() - started) * 1000, 3),
            snapshot_id=targets[0].searcher.snapshot_id,
            snapshot_ids={target.collection: target.searcher.snapshot_id for target in targets},
        )
