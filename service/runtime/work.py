"""Requests' search work, run off the event loop within a time budget, expensive work kept apart.

Every door hands its blocking search to :meth:`SearchPool.run`. The work runs on a worker thread
with a :class:`~indexer.search.deadline.Deadline` of ``service.request_timeout_seconds`` (counted from
the moment the request asks, so time spent waiting for a thread counts too): past it, or as soon as
the client disconnects, the deadline is cancelled and the search stops at its next step (the engine
checks between filter conditions, deepening rounds and packing), so abandoned work does not keep a
thread busy. The client gets 503 with ``Retry-After``.

A request whose work is worth :data:`EXPENSIVE_UNITS` or more (:mod:`service.admission.cost`: big
filters, ``top_k``, several queries, large contexts) runs in a separate, small pool of
``service.max_expensive_searches`` threads that rest between searches as long as they worked, so
however many such requests clients send, they queue there (and time out there, 503) while ordinary
searches keep the rest of the machine.

The ordinary pool counts as *saturated* while all its threads are busy; saturated for longer than
the timeout, requests are being refused for lack of capacity, and ``/ready`` says so (503).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from litestar.types import Receive

from indexer.errors import SearchTimeoutError
from indexer.search.deadline import Deadline
from service.errors import UnavailableError
from service.settings import ServiceSettings

log = logging.getLogger(__name__)
T = TypeVar("T")
EXPENSIVE_UNITS = 4
"""Work (in rate limiter units) from which a request runs in the expensive pool."""
EXPENSIVE_REST = 1.0
"""After each expensive search the expensive pool rests as long as it worked (per thread), so
expensive work takes at most half of its threads' time, leaving the CPU (and the GIL) to ordinary
searches however many expensive requests wait."""
ORDINARY_THREADS = 32
"""Ordinary searches running at once (more wait for a thread, within their time budget)."""


class BusyError(UnavailableError):
    """The request's search did not finish within ``service.request_timeout_seconds`` (503)."""


class _Pool:
    def __init__(self, threads: int, clock: Callable[[], float], rest: float = 0.0) -> None:
        self.threads = threads
        self.rest = rest
        """After work of t seconds, the pool takes no new work for ``rest * t / threads`` seconds."""
        self.rest_until = 0.0
        self.busy = 0
        self.full_since: float | None = None
        self._clock = clock
        self._limiter: anyio.CapacityLimiter | None = None

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        if self._limiter is None:  # created on the event loop that uses it
            self._limiter = anyio.CapacityLimiter(self.threads)
        return self._limiter

    def enter(self) -> None:
        self.busy += 1
        if self.busy >= self.threads and self.full_since is None:
            self.full_since = self._clock()

    def leave(self) -> None:
        self.busy -= 1
        if self.busy < self.threads:
            self.full_since = None


class SearchPool:
    """Runs blocking search work within the request time budget (one per app; event-loop side only)."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_abandoned: Callable[[str], None] | None = None,
    ) -> None:
        self._on_abandoned = on_abandoned
        """Told ``"timeout"`` or ``"disconnect"`` for each search abandoned (the metrics)."""
        self.timeout = settings.request_timeout_seconds
        self.retry_after = max(1, math.ceil(self.timeout))
        self._clock = clock
        self.ordinary = _Pool(ORDINARY_THREADS, clock)
        self.expensive = _Pool(settings.max_expensive_searches, clock, rest=EXPENSIVE_REST)
        self.timeouts = 0
        """Requests answered 503 because their work ran past the budget (for ``/metrics``)."""
        self.disconnects = 0
        """Searches abandoned because their client went away."""
        self._limiter: anyio.CapacityLimiter | None = None

    def _threads(self) -> anyio.CapacityLimiter:
        """The worker threads both pools run on (anyio's default 40 are shared with other work)."""
        if self._limiter is None:  # created on the event loop that uses it
            self._limiter = anyio.CapacityLimiter(self.ordinary.threads + self.expensive.threads)
        return self._limiter

    def busy(self, pool: str) -> int:
        """Threads at work in the ``ordinary`` or ``expensive`` pool."""
        return (self.ordinary if pool == "ordinary" else self.expensive).busy

    def saturated(self) -> str | None:
        """Why the ordinary pool cannot take more work (all threads busy for longer than the time
        budget), or None."""
        since = self.ordinary.full_since
        if since is None or self._clock() - since <= self.timeout:
            return None
        return (
            f"all {self.ordinary.threads} search threads have been busy for "
            f"{self._clock() - since:.1f} s, longer than service.request_timeout_seconds ({self.timeout:g} s)"
        )

    async def run(
        self, work: Callable[[Deadline], T], *, units: int = 1, receive: Receive | None = None
    ) -> T:
        """``work(deadline)`` on a worker thread; 503 (:class:`BusyError`) past the budget. With
        ``receive`` (the request's ASGI channel, its body already read) a disconnect cancels it."""
        deadline = Deadline(self.timeout, clock=self._clock)
        pool = self.expensive if units >= EXPENSIVE_UNITS else self.ordinary
        # One loop timer and at most one plain task: an anyio task group with its two tasks cost
        # the event loop more than the hop to the worker thread.
        loop = asyncio.get_running_loop()
        timer = loop.call_later(deadline.remaining() or 0, _expire, deadline)
        watcher = loop.create_task(_watch(receive, deadline)) if receive is not None else None
        try:
            return await self._run(work, deadline, pool)
        except SearchTimeoutError as exc:
            self._abandoned(exc, deadline)
            raise BusyError(
                f"the search did not finish within {self.timeout:g} s (service.request_timeout_seconds); "
                "the service is busy: retry later",
                retry_after=self.retry_after,
            ) from None
        finally:
            timer.cancel()
            if watcher is not None:
                watcher.cancel()

    def _abandoned(self, exc: SearchTimeoutError, deadline: Deadline) -> None:
        gone = exc.cancelled and deadline.reason == _GONE
        if gone:
            self.disconnects += 1
        else:
            self.timeouts += 1
        if self._on_abandoned is not None:
            self._on_abandoned("disconnect" if gone else "timeout")
        log.warning("search abandoned: %s", exc if not exc.cancelled else deadline.reason)

    async def _run(self, work: Callable[[Deadline], T], deadline: Deadline, pool: _Pool) -> T:
        acquired = False
        with anyio.move_on_after(deadline.remaining() or 0) as waiting:
            await pool.limiter.acquire()
            acquired = True
            await anyio.sleep(max(0.0, pool.rest_until - self._clock()))
        if waiting.cancelled_caught:
            if acquired:
                pool.limiter.release()
            raise SearchTimeoutError("no search thread became free within the time budget")
        pool.enter()
        started = self._clock()
        try:
            # Not abandoned on cancellation: the thread stops at its deadline, and holds its slot until then.
            return await anyio.to_thread.run_sync(work, deadline, limiter=self._threads())
        finally:
            if pool.rest > 0:  # the pool rests for as long as it worked (shared over its threads)
                worked = (self._clock() - started) * pool.rest / pool.threads
                pool.rest_until = max(pool.rest_until, self._clock()) + worked
            pool.leave()
            pool.limiter.release()


_GONE = "the client went away"


def _expire(deadline: Deadline) -> None:
    deadline.cancel(f"the search ran past its time budget of {deadline.seconds:g} s")


async def _watch(receive: Receive, deadline: Deadline) -> None:
    """Cancel ``deadline`` when the client disconnects (the request's body was read already: the
    next message on the channel is the disconnect)."""
    while True:
        message: Any = await receive()
        if message.get("type") == "http.disconnect":
            deadline.cancel(_GONE)
            return
