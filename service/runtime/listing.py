"""A collection's documents listed a page at a time, in ``doc_id`` order, at a cost bounded by the page
(and the writes not yet published), not by the collection: the served snapshot's ids are sorted once
per snapshot, a page starts by bisection and merges them with the pending writes."""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any, Protocol, TypeVar


class Listed(Protocol):
    @property
    def doc_id(self) -> str: ...

    @property
    def status(self) -> str: ...


L = TypeVar("L", bound=Listed)


class SortedIds:
    """One collection's snapshot ids, sorted: its documents and its failures (sorted again only when
    another snapshot is served)."""

    def __init__(self) -> None:
        self._snapshot: str | None = None
        self.documents: list[str] = []
        self.skipped: list[str] = []

    def refresh(self, snapshot_id: str | None, documents: Collection[str], skipped: Collection[str]) -> None:
        if snapshot_id != self._snapshot:
            self._snapshot = snapshot_id
            self.documents, self.skipped = sorted(documents), sorted(skipped)


def _after(ids: Sequence[str], after: str | None) -> Iterator[str]:
    start = bisect_right(ids, after) if after is not None else 0
    return (ids[i] for i in range(start, len(ids)))


def page(
    ids: SortedIds,
    written: Mapping[str, Any],
    resolve: Callable[[str], L | None],
    *,
    status: str | None,
    after: str | None,
    limit: int,
) -> tuple[list[L], str | None]:
    """The first ``limit`` documents after ``after`` (in ``status`` when given) as ``resolve`` says
    they are, and the ``after`` of the next page (None: no more)."""
    sources = [_after(sorted(d for d in written if after is None or d > after), None)]
    if status in (None, "indexed"):
        sources.append(_after(ids.documents, after))
    if status in (None, "failed"):
        sources.append(_after(ids.skipped, after))
    found: list[L] = []
    previous = None
    for doc_id in heapq.merge(*sources):
        if doc_id == previous:
            continue
        previous = doc_id
        doc = resolve(doc_id)
        if doc is None or (status is not None and doc.status != status):
            continue
        found.append(doc)
        if len(found) > limit:
            return found[:limit], found[limit - 1].doc_id
    return found, None
