"""The search pool: a time budget per request, cancellation when the client goes, saturation."""

from __future__ import annotations

import time
from typing import Any

import anyio
import msgspec
import pytest

from indexer.search.deadline import Deadline
from service.runtime.work import EXPENSIVE_UNITS, BusyError, SearchPool
from service.settings import ServiceSettings


def spin(deadline: Deadline) -> str:
    """Work that never ends by itself: only its deadline stops it."""
    while True:
        deadline.check()
        time.sleep(0.005)


def pool(**fields: Any) -> SearchPool:
    return SearchPool(msgspec.structs.replace(ServiceSettings(), **fields))


def test_work_past_the_budget_is_stopped_and_answered_503() -> None:
    searches = pool(request_timeout_seconds=0.2)
    started = time.perf_counter()
    with pytest.raises(BusyError) as raised:
        anyio.run(lambda: searches.run(spin))
    assert time.perf_counter() - started < 5
    assert raised.value.retry_after == 1 and raised.value.status_code == 503
    assert searches.timeouts == 1 and searches.ordinary.busy == 0


def test_a_client_that_goes_away_cancels_its_search() -> None:
    searches = pool(request_timeout_seconds=60)

    async def receive() -> Any:
        await anyio.sleep(0.1)
        return {"type": "http.disconnect"}

    started = time.perf_counter()
    with pytest.raises(BusyError):
        anyio.run(lambda: searches.run(spin, receive=receive))
    assert time.perf_counter() - started < 5  # not the 60 s budget
    assert searches.disconnects == 1 and searches.timeouts == 0


def test_expensive_work_waits_for_its_own_slot_not_the_ordinary_ones() -> None:
    searches = pool(request_timeout_seconds=0.5, max_expensive_searches=1)
    outcomes: list[str] = []

    async def main() -> None:
        async def expensive() -> None:
            try:
                await searches.run(spin, units=EXPENSIVE_UNITS)
            except BusyError:
                outcomes.append("expensive refused")

        async with anyio.create_task_group() as group:
            group.start_soon(expensive)
            group.start_soon(expensive)
            await anyio.sleep(0.05)
            outcomes.append(await searches.run(lambda deadline: "ordinary answered"))

    anyio.run(main)
    assert outcomes == ["ordinary answered", "expensive refused", "expensive refused"]


def test_saturation_is_reported_only_past_the_budget() -> None:
    now = [100.0]
    searches = SearchPool(ServiceSettings(request_timeout_seconds=2), clock=lambda: now[0])
    for _ in range(searches.ordinary.threads):
        searches.ordinary.enter()
    assert searches.saturated() is None
    now[0] += 3
    assert "busy" in (searches.saturated() or "")
    searches.ordinary.leave()
    assert searches.saturated() is None


def test_the_expensive_pool_rests_as_long_as_it_worked() -> None:
    searches = pool(request_timeout_seconds=30, max_expensive_searches=1)
    spans: list[tuple[float, float]] = []

    def work(deadline: Deadline) -> None:
        started = time.monotonic()
        time.sleep(0.3)
        spans.append((started, time.monotonic()))

    async def main() -> None:
        async with anyio.create_task_group() as group:
            for _ in range(2):
                group.start_soon(lambda: searches.run(work, units=EXPENSIVE_UNITS))

    anyio.run(main)
    (_, first_end), (second_start, _) = sorted(spans)
    assert second_start - first_end >= 0.25  # it rested ~0.3 s, as long as the first one worked
