"""Micro-batching of the query path: concurrent searches are embedded and searched as one batch.

Request threads hand their query to :meth:`QueryBatcher.dense_start` and wait; one worker thread
takes what is waiting, embeds the queries in one model call (through the query vector cache) and
runs one vector index search for all of them, then hands each request its vector and first dense
candidate list. The rest of the search (lexical, fusion, hydration) goes on in the request's own
thread, in parallel with the worker's next batch.

Batches form naturally: a request that finds the worker idle is taken at once (a lone client never
waits), and requests that arrive while the worker is busy are taken together when it is free, up to
``max_batch``. With ``window_ms`` > 0 the worker, once it has seen concurrent requests (its last
batch held more than one), also waits up to that long for a batch to fill.

A batch only groups queries of one snapshot (one retriever): a request keeps the snapshot it leased
even if another is swapped in meanwhile. An error in one query fails that request only: a failed
batch is retried one query at a time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass, field

from indexer.embedder import Vectors
from indexer.retriever import DenseStart, Retriever
from service.errors import UnavailableError
from service.query_cache import QueryVectorCache

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Item:
    retriever: Retriever
    space: Hashable
    text: str
    depth: int
    future: Future[DenseStart] = field(default_factory=Future)


class QueryBatcher:
    """Owns one worker thread; thread-safe. Close it when done."""

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
        self._cond = threading.Condition()
        self._closed = False
        self._last_size = 0
        self._worker = threading.Thread(target=self._run, name="query-batcher", daemon=True)
        self._worker.start()

    def dense_start(self, retriever: Retriever, space: Hashable, text: str, depth: int) -> DenseStart:
        """Blocking: ``text``'s vector and its first ``depth`` dense candidates in ``retriever``'s
        snapshot, computed in a batch with whatever else is waiting. ``space`` keys the cache."""
        item = _Item(retriever, space, text, depth)
        with self._cond:
            if self._closed:
                raise UnavailableError("the service is shutting down")
            self._pending.append(item)
            self._cond.notify()
        return item.future.result()

    @property
    def waiting(self) -> int:
        """Queries waiting for the worker."""
        with self._cond:
            return len(self._pending)

    def close(self, timeout: float = 30.0) -> None:
        """Finish what is waiting, then stop the worker."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._worker.join(timeout)

    # -- the worker ---------------------------------------------------------------------------

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            if self._on_batch is not None:
                self._on_batch(len(batch))
            groups: dict[int, list[_Item]] = {}
            for item in batch:
                groups.setdefault(id(item.retriever), []).append(item)
            for items in groups.values():
                self._compute(items)

    def _take(self) -> list[_Item] | None:
        with self._cond:
            while not self._pending and not self._closed:
                self._cond.wait()
            if not self._pending:
                return None
            if self.window > 0 and self._last_size > 1:
                deadline = time.monotonic() + self.window
                while len(self._pending) < self.max_batch and not self._closed:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
            batch = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
            self._last_size = len(batch)
            return batch

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
    def _embedder(retriever: Retriever) -> Callable[[list[str]], Vectors]:
        def embed(texts: list[str]) -> Vectors:
            return retriever.embedder.embed(texts, batch_size=max(1, len(texts)))

        return embed
