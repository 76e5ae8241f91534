"""``POST /v1/context``: the best passages, merged and numbered, packed into a token budget."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from indexer.errors import EncodingNotFoundError
from indexer.search import Deadline, Hit
from indexer.search.packing import Packed, Passage, pack_context
from indexer.snapshot.store import Store
from service import querying
from service.admission.auth import API_SECURITY
from service.admission.guards import require_json
from service.api.bodies import StrictJSON
from service.api.schemas import problem_responses
from service.errors import InvalidInputError
from service.integrations.context.schemas import (
    DEFAULT_CONTEXT_TOP_K,
    ContextCitation,
    ContextRequest,
    ContextResponse,
)
from service.querying import Ask, Caller
from service.settings import AppSettings


def _citation(number: int, passage: Passage, default: str) -> ContextCitation:
    return ContextCitation.of(
        passage.document,
        passage,
        collection=passage.collection,
        default=default,
        number=number,
        text=passage.text,
        chunk_ids=list(passage.chunk_ids),
        score=passage.score,
        truncated=passage.truncated,
    )


def _packer(data: ContextRequest, store: Mapping[str, Store]) -> Callable[[list[Hit], Deadline], Packed]:
    """Packs the hits into ``data``'s token budget (on the search's worker thread)."""

    def pack(hits: list[Hit], deadline: Deadline) -> Packed:
        try:
            return pack_context(hits, data.encoding, data.max_tokens, store, deadline)
        except EncodingNotFoundError as exc:
            errors = [{"key": "encoding", "message": str(exc), "source": "body"}]
            raise InvalidInputError(str(exc), errors=errors) from exc

    return pack


class ContextController(Controller):
    path = "/v1"

    @post(
        "/context",
        guards=[require_json],
        dto=StrictJSON[ContextRequest],
        return_dto=None,
        summary="Build a prompt context",
        operation_id="buildContext",
        tags=["chatbots"],
        status_code=200,
        security=API_SECURITY,
        responses=problem_responses(400, 401, 413, 415, 422, 429, 503),
    )
    async def context(
        self,
        data: JSONBody[ContextRequest],
        settings: NamedDependency[AppSettings],
        caller: NamedDependency[Caller],
    ) -> ContextResponse:
        """The best passages for ``query`` in rank order, packed until ``max_tokens`` (counted with
        tiktoken in ``encoding``) is reached. Overlapping or adjacent chunks of one document are
        merged into one passage. ``context`` numbers the passages ``[1]``, ``[2]``, ...; ``citations``
        carries the same numbers with exact character ranges. Passages scoring below ``min_score``
        (default: ``retrieval.min_score``) are left out: nothing relevant, an empty context."""
        started = time.perf_counter()
        ask = Ask(
            (data.query,),
            data.top_k,
            data.mode,
            default_top_k=DEFAULT_CONTEXT_TOP_K,
            filters=data.filters,
            min_score=data.min_score,
            # the context holds at most top_k chunks' tokens, whatever max_tokens allows
            context_tokens=min(data.max_tokens, data.top_k * settings.chunking.max_tokens),
            collections=tuple(data.collections) if data.collections is not None else None,
        )
        with querying.leased(ask, caller, settings) as targets:
            plan = querying.plan(ask, settings, targets)
            packed = await plan.run(_packer(data, plan.stores()), caller)
        default = settings.default_collection
        return ContextResponse(
            query=data.query,
            context=packed.context,
            citations=[_citation(n, p, default) for n, p in enumerate(packed.passages, start=1)],
            used_tokens=packed.used_tokens,
            max_tokens=data.max_tokens,
            encoding=data.encoding,
            took_ms=round((time.perf_counter() - started) * 1000, 3),
            snapshot_id=targets[0].searcher.snapshot_id,
        )
