"""The one query path: every endpoint (``/v1/search``, ``/v1/context``, OpenAI, Dify, MCP) checks its
own body's shape, translates it into an :class:`Ask` and hands it to :func:`search` (or :func:`plan`
then :meth:`Plan.run`) with its :class:`Caller`. Here, once for all of them: the limits (query length,
``service.max_top_k``, ``service.max_queries``), the filters, the score threshold's default, the
rate limit charged by the work (:mod:`service.admission.cost`), the search off the event loop within
its time budget (:mod:`service.runtime.work`: 503 past ``service.request_timeout_seconds``, stopped
when the client goes away) and the access log's fields. A parameter every endpoint gains is added
here, not five times.

The collections searched too: :func:`leased` resolves an ask's ``collections`` against the caller's
key (a collection it may not search is a 404 exactly as one that does not exist) and leases each
one's snapshot; :meth:`Plan.hits` searches each (the query is embedded once: the engine's query cache
holds its vector for the others) and ranks one list by the calibrated score, each hit naming its
collection."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from litestar import Request
from litestar.types import Receive, Scope

from indexer.search import Deadline, Filter, Hit, Searcher
from indexer.search.filters import COMPARISONS
from indexer.search.filters import MAX_DEPTH as MAX_FILTER_DEPTH
from indexer.snapshot.store import Store
from service.admission.auth import EVERYTHING, Access
from service.admission.cost import charge_work, search_units
from service.admission.limits import check_query, check_top_k
from service.admission.rate_limit import RateLimiter
from service.errors import InvalidInputError, NotFoundError, UnavailableError
from service.runtime.collections import Collections
from service.runtime.observability import annotate
from service.runtime.work import SearchPool
from service.settings import EVERY_COLLECTION, AppSettings

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
    collections: str = "collections"


class Caller:
    """Where a search's work runs and who pays for it: the app's :class:`SearchPool` and, over HTTP,
    the request (charged for the work by the rate limiter; its disconnect stops the search). A plain
    class, not a dataclass: Litestar converts a dependency of a dataclass type field by field."""

    __slots__ = ("access", "collections", "limiter", "pool", "receive", "scope")

    def __init__(
        self,
        pool: SearchPool,
        scope: Scope | None = None,
        limiter: RateLimiter | None = None,
        receive: Receive | None = None,
        *,
        access: Access = EVERYTHING,
        collections: Collections | None = None,
    ) -> None:
        self.pool = pool
        self.scope = scope
        self.limiter = limiter
        self.receive = receive
        self.access = access
        """What the caller's key may reach (resolved once, by the auth guard)."""
        self.collections = collections


def caller_of(request: Request[Any, Any, Any]) -> Caller:
    """The caller of an HTTP request (a Litestar dependency)."""
    state = request.app.state
    access: Access = request.state.get("access", EVERYTHING)
    return Caller(
        state.work,
        request.scope,
        state.get("limiter"),
        request.receive,
        access=access,
        collections=state.get("collections"),
    )


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
    collections: tuple[str, ...] | None = None
    """The collections to search (``"*"``: every one the caller may search); None: the default."""


@dataclass(frozen=True, slots=True)
class Target:
    """One collection a search reads: its name and its snapshot, leased for the request."""

    collection: str
    searcher: Searcher


def reachable(caller: Caller, name: str) -> bool:
    """Whether collection ``name`` exists and ``caller`` may search it (else the door answers as it
    does for an unknown collection, so names do not leak)."""
    collections = caller.collections
    return collections is not None and collections.get(name) is not None and caller.access.may(name)


def resolve(names: Sequence[str], caller: Caller, key: str = "collections") -> tuple[tuple[str, ...], bool]:
    """The collections ``names`` asks for, each once, in order (``"*"``: every one the caller may
    search); and whether any came from ``"*"`` (those not built yet are then left out rather than
    answered 503). :class:`NotFoundError` for a name the caller may not search, as for one that does
    not exist."""
    collections = caller.collections
    known = collections.names if collections is not None else ()
    chosen: list[str] = []
    wildcard = False
    for name in names:
        if name == EVERY_COLLECTION:
            wildcard = True
            chosen.extend(caller.access.visible(known))
        elif name in known and caller.access.may(name):
            chosen.append(name)
        else:
            raise NotFoundError(
                f"no collection {name[:80]!r}",
                errors=[{"key": key, "message": "no such collection", "source": "body"}],
            )
    unique = tuple(dict.fromkeys(chosen))
    if not unique:
        raise NotFoundError("no collection this key may search", errors=[{"key": key, "message": "none"}])
    return unique, wildcard


@contextlib.contextmanager
def leased(
    ask: Ask, caller: Caller, settings: AppSettings, default: Searcher | None = None
) -> Iterator[tuple[Target, ...]]:
    """The snapshots ``ask`` searches, leased until the block ends: ``default`` (a lease the endpoint
    already holds on the default collection) when ``ask`` names no collection, else each one named."""
    if ask.collections is None and default is not None:
        yield (Target(settings.default_collection, default),)
        return
    names, wildcard = resolve(ask.collections or (settings.default_collection,), caller, ask.keys.collections)
    assert caller.collections is not None  # resolve found the names in it
    with contextlib.ExitStack() as stack:
        targets = []
        for name in names:
            holder = caller.collections.holders[name]
            if wildcard and holder.current is None:
                continue
            targets.append(Target(name, stack.enter_context(holder.lease())))
        if not targets:
            raise UnavailableError("none of these collections has a snapshot loaded yet")
        annotate(snapshot_id=",".join(target.searcher.snapshot_id for target in targets))
        yield tuple(targets)


@dataclass(frozen=True, slots=True)
class Plan:
    """A search within the limits, its filters parsed and its threshold settled."""

    queries: tuple[str, ...]
    top_k: int
    mode: str | None
    max_per_doc: int | None
    filters: tuple[Filter | None, ...]
    """Per target: the filters parsed against its snapshot's fields."""
    min_score: float | None
    units: int
    """The work, in the rate limiter's units (:func:`service.admission.cost.search_units`): the sum
    of each collection's search."""
    targets: tuple[Target, ...]
    heaviest: int = 1
    """The costliest collection's search alone, which decides the pool it runs in: a search over
    several collections is several ordinary searches, one after the other, not one expensive one
    (the rate limiter still charges :attr:`units`)."""

    @property
    def searcher(self) -> Searcher:
        """The first collection's snapshot (the default one when the ask named none)."""
        return self.targets[0].searcher

    def stores(self) -> dict[str, Store]:
        """Each target's document store by collection name (to read the hits' documents)."""
        return {target.collection: target.searcher.snapshot.store for target in self.targets}

    def hits(self, deadline: Deadline | None = None) -> list[Hit]:
        """The hits, best first, each naming its collection (blocking: :meth:`run` calls it off the
        event loop). Several queries: a passage found by more than one keeps its best score; several
        collections: one list by calibrated score; at most ``top_k`` in all. Only the hits kept are
        highlighted (each with the query that found it best)."""
        if len(self.queries) == 1 and len(self.targets) == 1:
            target = self.targets[0]
            found = self._search(target.searcher, self.queries[0], self.filters[0], deadline, highlight=True)
            return [dataclasses.replace(hit, collection=target.collection) for hit in found]  # engine's order
        best: dict[tuple[str, str], tuple[Hit, Target, str]] = {}
        for target, filters in zip(self.targets, self.filters, strict=True):
            for query in self.queries:
                for hit in self._search(target.searcher, query, filters, deadline, highlight=False):
                    key = (target.collection, hit.chunk.chunk_id)
                    seen = best.get(key)
                    if seen is None or hit.score > seen[0].score:
                        best[key] = (hit, target, query)
        ranked = sorted(best.values(), key=lambda found: -found[0].score)[: self.top_k]
        return [
            dataclasses.replace(hit, collection=target.collection, rank=rank)
            for rank, (hit, target) in enumerate(_highlighted(ranked), start=1)
        ]

    def _search(
        self,
        searcher: Searcher,
        query: str,
        filters: Filter | None,
        deadline: Deadline | None,
        *,
        highlight: bool,
    ) -> list[Hit]:
        return searcher.search(
            query,
            self.top_k,
            self.mode,
            max_per_doc=self.max_per_doc,
            filters=filters,
            min_score=self.min_score,
            deadline=deadline,
            highlight=highlight,
        )

    async def run(self, then: Callable[[list[Hit], Deadline], T], caller: Caller) -> T:
        """``then(hits, deadline)`` (e.g. packing them into a context), computed with the search on a
        worker thread of ``caller.pool`` within the time budget, the work charged to the caller first;
        the request's log line gets the query, ``top_k``, mode and result count."""
        if caller.scope is not None:
            charge_work(caller.scope, caller.limiter, self.units)

        def work(deadline: Deadline) -> tuple[int, T]:
            hits = self.hits(deadline)
            return len(hits), then(hits, deadline)

        found, result = await caller.pool.run(work, units=self.heaviest, receive=caller.receive)
        query: str | list[str] = self.queries[0] if len(self.queries) == 1 else list(self.queries)
        mode = self.mode or self.searcher.engine.settings.retrieval.mode
        annotate(query=query, top_k=self.top_k, mode=mode, results=found)
        return result


NOTHING: Mapping[str, Any] = {"type": "in", "key": "doc_id", "value": []}
"""A comparison no passage matches (every collection has ``doc_id``)."""
EVERYTHING_PASSES: Mapping[str, Any] = {"type": "nin", "key": "doc_id", "value": []}
"""A comparison every passage matches."""
NEGATIVE = ("ne", "nin")
"""The comparisons a passage without the field matches (:mod:`indexer.search.filters`)."""


def _filters(
    spec: Filter | Mapping[str, Any] | None, targets: Sequence[Target], param: str
) -> tuple[Filter | None, ...]:
    """``spec`` parsed against each target's fields. Across several collections a field only some of
    them have is no error: in the others a comparison on it means what it means for a document
    without the field (``ne``, ``nin`` match, the rest do not); a field none of them has is a 422
    naming it (as is a value of the wrong type where the field is known)."""
    if not isinstance(spec, Mapping):
        return tuple(spec for _ in targets)
    if len(targets) == 1:
        return (targets[0].searcher.parse_filters(spec, param=param),)
    known = set().union(*(target.searcher.fields for target in targets))
    return tuple(
        target.searcher.parse_filters(_absent(spec, target.searcher.fields, known), param=param)
        for target in targets
    )


def _absent(spec: Any, fields: Mapping[str, Any], known: set[str], depth: int = 0) -> Any:
    """``spec`` with each comparison on a field of ``known`` that ``fields`` lacks replaced by what it
    means for a passage without the field; anything malformed is left for the parser to refuse."""
    if not isinstance(spec, Mapping) or depth > MAX_FILTER_DEPTH:
        return spec
    kind = spec.get("type")
    parts = spec.get("filters")
    if kind in ("and", "or") and isinstance(parts, list):
        return {**spec, "filters": [_absent(part, fields, known, depth + 1) for part in parts]}
    key = spec.get("key")
    if isinstance(key, str) and key in known and key not in fields and kind in COMPARISONS:
        return EVERYTHING_PASSES if kind in NEGATIVE else NOTHING
    return spec


def _highlighted(ranked: Sequence[tuple[Hit, Target, str]]) -> list[tuple[Hit, Target]]:
    """``ranked`` (each hit with its collection and the query that found it), in the same order,
    each hit highlighted by its collection's snapshot for its query (one call per pair)."""
    groups: dict[tuple[str, str], list[int]] = {}
    for position, (_hit, target, query) in enumerate(ranked):
        groups.setdefault((target.collection, query), []).append(position)
    out: list[tuple[Hit, Target]] = [(hit, target) for hit, target, _query in ranked]
    for (_name, query), positions in groups.items():
        target = ranked[positions[0]][1]
        lit = target.searcher.highlight(query, [ranked[position][0] for position in positions])
        for position, hit in zip(positions, lit, strict=True):
            out[position] = (hit, target)
    return out


def _top_k(ask: Ask, settings: AppSettings) -> int:
    if ask.keys.top_k is None or ask.top_k == ask.default_top_k:
        return min(ask.top_k, settings.service.max_top_k)
    return check_top_k(ask.top_k, settings.service, key=ask.keys.top_k)


def plan(ask: Ask, settings: AppSettings, targets: Searcher | Sequence[Target]) -> Plan:
    """``ask`` checked against the limits (422, naming the field), its filters parsed against each
    target's fields (a searcher alone: the default collection), its threshold settled."""
    if isinstance(targets, Searcher):
        targets = (Target(settings.default_collection, targets),)
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
    filters = _filters(ask.filters, targets, ask.keys.filters)
    min_score = ask.min_score
    if min_score is None and ask.default_threshold:
        min_score = settings.retrieval.min_score
    each = [
        search_units(top_k, part, queries=len(ask.queries), context_tokens=ask.context_tokens)
        for part in filters
    ]
    return Plan(
        ask.queries,
        top_k,
        ask.mode,
        ask.max_per_doc,
        filters,
        min_score,
        sum(each),
        tuple(targets),
        max(each),
    )


def same(hits: list[Hit], _deadline: Deadline) -> list[Hit]:
    """The hits as they are (:meth:`Plan.run`'s step when there is nothing more to do)."""
    return hits


async def search(ask: Ask, settings: AppSettings, searcher: Searcher | None, caller: Caller) -> list[Hit]:
    """The hits for ``ask``, best first, within the limits (the path of every endpoint); ``searcher``:
    the endpoint's lease on the default collection, if it holds one."""
    with leased(ask, caller, settings, searcher) as targets:
        return await plan(ask, settings, targets).run(same, caller)
