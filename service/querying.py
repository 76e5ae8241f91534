"""The one query path: every endpoint (``/v1/search``, ``/v1/context``, OpenAI, Dify, MCP) checks its
own body's shape, translates it into an :class:`Ask` and hands it to :func:`search` (or :func:`plan`
then :meth:`Plan.run`) with its :class:`Caller`. Here, once for all of them: the limits (query length,
``service.max_top_k``, ``service.max_queries``), the filters, the score threshold's default, the
rate limit charged by the work (:mod:`service.admission.cost`), the search off the event loop within
its time budget (:mod:`service.runtime.work`: 503 past ``service.request_timeout_seconds``, stopped
when the client goes away) and the access log's fields. A parameter every endpoint gains is added
here, not five times."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from litestar import Request
from litestar.types import Receive, Scope

from indexer.search import Deadline, Filter, Hit, Searcher
from service.admission.cost import charge_work, search_units
from service.admission.limits import check_query, check_top_k
from service.admission.rate_limit import RateLimiter
from service.errors import InvalidInputError
from service.runtime.observability import annotate
from service.runtime.work import SearchPool
from service.settings import AppSettings

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Keys:
    """Where an endpoint's body carries each value, as its refusals name them (``param`` in OpenAI's
    errors, ``key`` in problem details)."""

    query: str = "query"
    top_k: str | None = "top_k"
    """None: the count is the endpoint's own (MCP's ten results), not the client's: it is capped at
    ``service.max_top_k`` rather than refused."""
    max_per_doc: str = "max_per_doc"
    filters: str = "filters"


class Caller:
    """Where a search's work runs and who pays for it: the app's :class:`SearchPool` and, over HTTP,
    the request (charged for the work by the rate limiter; its disconnect stops the search). A plain
    class, not a dataclass: Litestar converts a dependency of a dataclass type field by field."""

    __slots__ = ("limiter", "pool", "receive", "scope")

    def __init__(
        self,
        pool: SearchPool,
        scope: Scope | None = None,
        limiter: RateLimiter | None = None,
        receive: Receive | None = None,
    ) -> None:
        self.pool = pool
        self.scope = scope
        self.limiter = limiter
        self.receive = receive


def caller_of(request: Request[Any, Any, Any]) -> Caller:
    """The caller of an HTTP request (a Litestar dependency)."""
    state = request.app.state
    return Caller(state.work, request.scope, state.get("limiter"), request.receive)


@dataclass(frozen=True, slots=True)
class Ask:
    """One search as an endpoint asks for it, its body's shape already checked."""

    queries: tuple[str, ...]
    """One query, or several (OpenAI's list: each is searched, a passage keeps its best score)."""
    top_k: int
    mode: str | None = None
    max_per_doc: int | None = None
    default_top_k: int | None = None
    """The endpoint's default count: a ``top_k`` equal to it (as a body that leaves it out has) is
    lowered to ``service.max_top_k`` rather than refused, so a lower limit does not refuse every
    request that sends no count."""
    filters: Filter | Mapping[str, Any] | None = None
    """The JSON filter grammar (parsed here, refusals naming ``keys.filters``) or a tree the endpoint
    built from its own grammar (Dify's ``metadata_condition``)."""
    min_score: float | None = None
    default_threshold: bool = True
    """Whether an unset ``min_score`` means ``retrieval.min_score`` (the chatbot endpoints, MCP) or
    no threshold (``/v1/search``)."""
    keys: Keys = Keys()
    context_tokens: int = 0
    """The most tokens of context the hits will be packed into (``/v1/context``): part of the cost."""


@dataclass(frozen=True, slots=True)
class Plan:
    """A search within the limits, its filters parsed and its threshold settled."""

    queries: tuple[str, ...]
    top_k: int
    mode: str | None
    max_per_doc: int | None
    filters: Filter | None
    min_score: float | None
    units: int
    """The work, in the rate limiter's units (:func:`service.admission.cost.search_units`)."""

    def hits(self, searcher: Searcher, deadline: Deadline | None = None) -> list[Hit]:
        """The hits, best first (blocking: :meth:`run` calls it off the event loop). Several queries:
        a passage found by more than one keeps its best score; at most ``top_k`` in all."""
        if len(self.queries) == 1:
            return self._search(searcher, self.queries[0], deadline)
        best: dict[str, Hit] = {}
        for query in self.queries:
            for hit in self._search(searcher, query, deadline):
                seen = best.get(hit.chunk.chunk_id)
                if seen is None or hit.score > seen.score:
                    best[hit.chunk.chunk_id] = hit
        return sorted(best.values(), key=lambda hit: -hit.score)[: self.top_k]

    def _search(self, searcher: Searcher, query: str, deadline: Deadline | None) -> list[Hit]:
        return searcher.search(
            query,
            self.top_k,
            self.mode,
            max_per_doc=self.max_per_doc,
            filters=self.filters,
            min_score=self.min_score,
            deadline=deadline,
        )

    async def run(self, searcher: Searcher, then: Callable[[list[Hit], Deadline], T], caller: Caller) -> T:
        """``then(hits, deadline)`` (e.g. packing them into a context), computed with the search on a
        worker thread of ``caller.pool`` within the time budget, the work charged to the caller first;
        the request's log line gets the query, ``top_k``, mode and result count."""
        if caller.scope is not None:
            charge_work(caller.scope, caller.limiter, self.units)

        def work(deadline: Deadline) -> tuple[int, T]:
            hits = self.hits(searcher, deadline)
            return len(hits), then(hits, deadline)

        found, result = await caller.pool.run(work, units=self.units, receive=caller.receive)
        query: str | list[str] = self.queries[0] if len(self.queries) == 1 else list(self.queries)
        mode = self.mode or searcher.engine.settings.retrieval.mode
        annotate(query=query, top_k=self.top_k, mode=mode, results=found)
        return result


def _top_k(ask: Ask, settings: AppSettings) -> int:
    if ask.keys.top_k is None or ask.top_k == ask.default_top_k:
        return min(ask.top_k, settings.service.max_top_k)
    return check_top_k(ask.top_k, settings.service, key=ask.keys.top_k)


def plan(ask: Ask, settings: AppSettings, searcher: Searcher) -> Plan:
    """``ask`` checked against the limits (422, naming the field), its filters parsed against
    ``searcher``'s fields, its threshold settled."""
    most = settings.service.max_queries
    if not 1 <= len(ask.queries) <= most:
        raise InvalidInputError(
            f"{ask.keys.query} must be a string or a list of 1 to {most} strings",
            errors=[{"key": ask.keys.query, "message": "wrong number of queries", "source": "body"}],
        )
    for query in ask.queries:
        check_query(query, settings.service, key=ask.keys.query)
    top_k = _top_k(ask, settings)
    if ask.max_per_doc is not None:
        check_top_k(ask.max_per_doc, settings.service, key=ask.keys.max_per_doc)
    filters = ask.filters
    if isinstance(filters, Mapping):
        filters = searcher.parse_filters(filters, param=ask.keys.filters)
    min_score = ask.min_score
    if min_score is None and ask.default_threshold:
        min_score = settings.retrieval.min_score
    units = search_units(top_k, filters, queries=len(ask.queries), context_tokens=ask.context_tokens)
    return Plan(ask.queries, top_k, ask.mode, ask.max_per_doc, filters, min_score, units)


def same(hits: list[Hit], _deadline: Deadline) -> list[Hit]:
    """The hits as they are (:meth:`Plan.run`'s step when there is nothing more to do)."""
    return hits


async def search(ask: Ask, settings: AppSettings, searcher: Searcher, caller: Caller) -> list[Hit]:
    """The hits for ``ask``, best first, within the limits (the path of every endpoint)."""
    return await plan(ask, settings, searcher).run(searcher, same, caller)
