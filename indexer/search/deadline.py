"""A search's time budget: a deadline its thread checks between steps, and a way to call it off.

A thread cannot be stopped from outside, so the search stops itself: the engine checks its
:class:`Deadline` between phases (the filter's conditions, each deepening round of the candidate
lists, hydration) and raises :class:`~indexer.errors.SearchTimeoutError` once it has passed or has
been cancelled (the service cancels it when the client goes away or it has stopped waiting). No step
between two checks is unbounded: each is bounded by the request limits (a filter condition's cost by
the filter limits, a round by ``retrieval.max_depth``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from indexer.errors import SearchTimeoutError


class Deadline:
    """``seconds`` from now (None: no time limit, only cancellation); thread-safe."""

    def __init__(self, seconds: float | None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.seconds = seconds
        self.expires = None if seconds is None else clock() + seconds
        self._cancelled = threading.Event()
        self.reason = ""

    def cancel(self, reason: str = "the request was cancelled") -> None:
        """Make the next :meth:`check` fail (the search's thread stops at its next step)."""
        self.reason = reason
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def remaining(self) -> float | None:
        """Seconds left (None: no time limit)."""
        return None if self.expires is None else max(0.0, self.expires - self._clock())

    def check(self) -> None:
        """Raise :class:`SearchTimeoutError` if the budget is spent or the search was cancelled."""
        if self._cancelled.is_set():
            raise SearchTimeoutError(self.reason, cancelled=True)
        if self.expires is not None and self._clock() >= self.expires:
            raise SearchTimeoutError(f"the search ran past its time budget of {self.seconds:g} s")


def check(deadline: Deadline | None) -> None:
    """:meth:`Deadline.check` when there is a deadline."""
    if deadline is not None:
        deadline.check()
