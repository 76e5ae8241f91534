"""Micro-batching of the query path: concurrent searches are embedded and searched as one batch.

Searches hand their query to :meth:`QueryBatcher.dense_start` (the engine does; nothing outside
:mod:`indexer.search` calls it). When no batch is being
computed, the calling thread becomes the *leader*: it takes what is waiting (its own query first
in line, up to ``max_batch``), embeds those queries in one model call (through the query vector
cache), runs one vector index search for all of them and hands each request its vector and first
dense candidate list. Requests that arrive meanwhile wait; when the leader is done, one of them
leads the next batch. The rest of each search (lexical, fusion, hydration) goes on in the request's
own thread, in parallel with the next batch.

So a lone request never waits and costs no thread hand-off (it computes its own batch of one), and
requests that arrive while the model is busy are taken together, up to ``max_batch``. With
``window_ms`` > 0 the leader, once batches have formed (the last one held more than one query),
also waits up to that long for a batch to fill.

A batch only groups queries of one snapshot (one :class:`BatchTarget`): a request keeps the snapshot it
leased even if another is swapped in meanwhile. An error in one query fails that request only: a failed
batch is retried one query at a time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Protocol

from indexer.embedding.base import Vectors
from indexer.errors import EngineClosedError
from indexer.search.query_cache import QueryVectorCache
from indexer.search.retriever import DenseStart

log = logging.getLogger(__name__)


class _Embeds(Protocol):
    def embed(self, texts: Sequence[str], batch_size: int = 32) -> Vectors: ...


class BatchTarget(Protocol):
    """What a batch is computed against: one snapshot's searcher (its model and vector index)."""

    @property
    def embedder(self) -> _Embeds: ...

    def dense_starts(self, vectors: Vectors, depths: Sequence[int]) -> list[DenseStart]: ...


@dataclass(frozen=True, slots=True)
class _Item:
    retriever: BatchTarget
    space: Hashable
    text: str
    depth: int
    future: Future[DenseStart] = field(default_factory=Future)


class QueryBatcher:
    """Thread-safe; computes on the callers' threads (it owns none)."""

    def __init__(
        self,
        *,
        max_batch: int,
        window_ms: float = 0.0,
        cache: QueryVectorCache | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.max_batch = max_batch
        self.window = window_ms / 1000
        self.cache = cache if cache is not None else QueryVectorCache(0)
        self._on_batch = on_batch
        self._pending: list[_Item] = []
        lock = threading.Lock()
        self._cond = threading.Condition(lock)  # waiting requests: a batch was done
        self._arrived = threading.Condition(lock)  # a leader waiting for its batch to fill
        self._leading = False
        self._closed = False
        self._last_size = 0

    def dense_start(self, retriever: BatchTarget, space: Hashable, text: str, depth: int) -> DenseStart:
        """Blocking: ``text``'s vector and its first ``depth`` dense candidates in ``retriever``'s
        snapshot, computed in a batch with whatever else is waiting. ``space`` keys the cache."""
        item = _Item(retriever, space, text, depth)
        with self._cond:
            if self._closed:
                raise EngineClosedError("the search engine is shutting down")
            self._pending.append(item)
            self._arrived.notify()
            while not item.future.done():
                if self._leading:
                    self._cond.wait()
                    continue
                self._leading = True
                batch = self._take()
                self._cond.release()
                try:
                    self._run(batch)
                finally:
                    self._cond.acquire()
                    self._leading = False
                    self._cond.notify_all()
        return item.future.result()

    def close(self) -> None:
        """Refuse new queries; those already waiting are still answered."""
        with self._cond:
            self._closed = True

    # -- the leader ---------------------------------------------------------------------------

    def _take(self) -> list[_Item]:
        """Called with the lock held, by the leader: the next batch (the oldest queries first)."""
        if self.window > 0 and self._last_size > 1:
            deadline = time.monotonic() + self.window
            while len(self._pending) < self.max_batch:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._arrived.wait(remaining)
        batch = self._pending[: self.max_batch]
        del self._pending[: self.max_batch]
        self._last_size = len(batch)
        return batch

    def _run(self, batch: list[_Item]) -> None:
        """Answer every query of ``batch`` (each future gets a result or an exception)."""
        try:
            if self._on_batch is not None:
                self._on_batch(len(batch))
            groups: dict[int, list[_Item]] = {}
            for item in batch:
                groups.setdefault(id(item.retriever), []).append(item)
            for items in groups.values():
                self._compute(items)
        finally:
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(EngineClosedError("the query batch was interrupted"))

    def _compute(self, items: list[_Item]) -> None:
        retriever = items[0].retriever
        try:
            texts = [item.text for item in items]
            vectors = self.cache.embed(items[0].space, texts, self._embedder(retriever))
            starts = retriever.dense_starts(vectors, [item.depth for item in items])
        except Exception as exc:
            if len(items) == 1:
                items[0].future.set_exception(exc)
                return
            log.warning("a batch of %d queries failed (%s); retrying them one by one", len(items), exc)
            for item in items:
                self._compute([item])
            return
        for item, start in zip(items, starts, strict=True):
            item.future.set_result(start)

    @staticmethod
    def _embedder(retriever: BatchTarget) -> Callable[[list[str]], Vectors]:
        def embed(texts: list[str]) -> Vectors:
            return retriever.embedder.embed(texts, batch_size=max(1, len(texts)))

        return embed
