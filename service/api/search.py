"""``POST /v1/search``: ranked passages with citations."""

from __future__ import annotations

import time

import anyio.to_thread
import msgspec
from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from indexer.search import Hit, Searcher
from service.admission.auth import API_SECURITY
from service.admission.guards import require_json
from service.admission.limits import check_query, check_top_k
from service.api.links import document_url
from service.api.schemas import (
    Citation,
    PageBox,
    ScoreParts,
    SearchRequest,
    SearchResponse,
    SearchResult,
    problem_responses,
)
from service.runtime.observability import annotate
from service.settings import AppSettings


def to_result(hit: Hit) -> SearchResult:
    chunk, doc = hit.chunk, hit.document
    return SearchResult(
        rank=hit.rank,
        score=hit.score,
        chunk_id=chunk.chunk_id,
        text=chunk.text,
        citation=Citation(
            doc_id=doc.doc_id,
            source=doc.source,
            title=doc.title,
            date=doc.date,
            char_start=chunk.char_start,
            char_end=chunk.char_end,
            line_start=chunk.line_start,
            line_end=chunk.line_end,
            url=document_url(doc.doc_id),
            page_start=chunk.page_start,
            page_end=chunk.page_end,
            section=chunk.section,
            format=doc.format,
            page_label_start=doc.page_label(chunk.page_start),
            page_label_end=doc.page_label(chunk.page_end),
            boxes=[PageBox(*box) for box in chunk.boxes],
        ),
        scores=ScoreParts(dense=hit.dense, lexical=hit.lexical),
        highlights=list(hit.highlights),
    )


class SearchController(Controller):
    path = "/v1"

    @post(
        "/search",
        guards=[require_json],
        summary="Search the index",
        operation_id="search",
        tags=["search"],
        status_code=200,
        security=API_SECURITY,
        responses=problem_responses(400, 401, 413, 415, 422, 429, 503),
    )
    async def search(
        self,
        request: Request,  # type: ignore[type-arg]
        data: JSONBody[SearchRequest],
        searcher: NamedDependency[Searcher],
        settings: NamedDependency[AppSettings],
    ) -> SearchResponse:
        """Return the passages that best answer ``query``, best first, each with an exact citation:
        ``document.text[char_start:char_end] == text``, and its pages and section where the format has
        them. ``score`` is a calibrated relevance (0 to 1, comparable across queries), ``scores`` its
        parts; ``min_score`` leaves out weaker passages; ``filters`` narrows the search to matching
        passages (up to ``top_k`` of them are still returned)."""
        started = time.perf_counter()
        # Litestar converts bodies leniently ("5" -> 5); decode again strictly so wrong types are 422.
        data = msgspec.json.decode(await request.body(), type=SearchRequest)
        check_query(data.query, settings.service)
        check_top_k(data.top_k, settings.service)
        filters = searcher.parse_filters(data.filters) if data.filters is not None else None
        hits = await anyio.to_thread.run_sync(
            lambda: searcher.search(
                data.query,
                data.top_k,
                data.mode,
                max_per_doc=data.max_per_doc,
                filters=filters,
                min_score=data.min_score,
            )
        )
        mode = data.mode or settings.retrieval.mode
        annotate(query=data.query, top_k=data.top_k, mode=mode, results=len(hits))
        return SearchResponse(
            query=data.query,
            results=[to_result(hit) for hit in hits],
            took_ms=round((time.perf_counter() - started) * 1000, 3),
            snapshot_id=searcher.snapshot_id,
        )
