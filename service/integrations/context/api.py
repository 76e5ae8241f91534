"""``POST /v1/context``: the best passages, merged and numbered, packed into a token budget."""

from __future__ import annotations

import time

import msgspec
from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from indexer.errors import EncodingNotFoundError
from indexer.search import Filter, Searcher
from indexer.search.deadline import Deadline
from indexer.search.packing import Packed, Passage, pack_context
from service.admission.auth import API_SECURITY
from service.admission.cost import charge_work, search_units
from service.admission.guards import require_json
from service.admission.limits import check_query
from service.api.links import document_url
from service.api.schemas import problem_responses
from service.errors import InvalidInputError
from service.integrations.context.schemas import ContextCitation, ContextRequest, ContextResponse
from service.runtime.work import SearchPool
from service.settings import AppSettings


def _citation(number: int, passage: Passage) -> ContextCitation:
    doc = passage.document
    return ContextCitation(
        number=number,
        doc_id=doc.doc_id,
        source=doc.source,
        title=doc.title,
        date=doc.date,
        char_start=passage.char_start,
        char_end=passage.char_end,
        line_start=passage.line_start,
        line_end=passage.line_end,
        url=document_url(doc.doc_id, start=passage.char_start, end=passage.char_end),
        text=passage.text,
        chunk_ids=list(passage.chunk_ids),
        score=passage.score,
        truncated=passage.truncated,
        page_start=passage.page_start,
        page_end=passage.page_end,
        section=passage.section,
    )


def _packed(
    searcher: Searcher, data: ContextRequest, min_score: float, filters: Filter | None, deadline: Deadline
) -> Packed:
    """Search and pack (blocking: run it off the event loop)."""
    hits = searcher.search(
        data.query, data.top_k, data.mode, min_score=min_score, filters=filters, deadline=deadline
    )
    try:
        return pack_context(hits, data.encoding, data.max_tokens, searcher.snapshot.store, deadline)
    except EncodingNotFoundError as exc:
        errors = [{"key": "encoding", "message": str(exc), "source": "body"}]
        raise InvalidInputError(str(exc), errors=errors) from exc


class ContextController(Controller):
    path = "/v1"

    @post(
        "/context",
        guards=[require_json],
        summary="Build a prompt context",
        operation_id="buildContext",
        tags=["chatbots"],
        status_code=200,
        security=API_SECURITY,
        responses=problem_responses(400, 401, 413, 415, 422, 429, 503),
    )
    async def context(
        self,
        request: Request,  # type: ignore[type-arg]
        data: JSONBody[ContextRequest],
        searcher: NamedDependency[Searcher],
        settings: NamedDependency[AppSettings],
    ) -> ContextResponse:
        """The best passages for ``query`` in rank order, packed until ``max_tokens`` (counted with
        tiktoken in ``encoding``) is reached. Overlapping or adjacent chunks of one document are
        merged into one passage. ``context`` numbers the passages ``[1]``, ``[2]``, ...; ``citations``
        carries the same numbers with exact character ranges. Passages scoring below ``min_score``
        (default: ``retrieval.min_score``) are left out: nothing relevant, an empty context."""
        started = time.perf_counter()
        # Decode again strictly, as /v1/search does: "5" or 5.0 for an integer is a 422.
        data = msgspec.json.decode(await request.body(), type=ContextRequest)
        check_query(data.query, settings.service)
        min_score = settings.retrieval.min_score if data.min_score is None else data.min_score
        filters = searcher.parse_filters(data.filters) if data.filters is not None else None
        # The context can hold at most top_k chunks' tokens, whatever max_tokens allows.
        tokens = min(data.max_tokens, data.top_k * settings.chunking.max_tokens)
        cost = search_units(data.top_k, filters, context_tokens=tokens)
        units = charge_work(request.scope, request.app.state.limiter, cost)
        pool: SearchPool = request.app.state.work
        packed = await pool.run(
            lambda deadline: _packed(searcher, data, min_score, filters, deadline),
            units=units,
            receive=request.receive,
        )
        return ContextResponse(
            query=data.query,
            context=packed.context,
            citations=[_citation(n, p) for n, p in enumerate(packed.passages, start=1)],
            used_tokens=packed.used_tokens,
            max_tokens=data.max_tokens,
            encoding=data.encoding,
            took_ms=round((time.perf_counter() - started) * 1000, 3),
            snapshot_id=searcher.snapshot_id,
        )
