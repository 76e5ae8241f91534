"""Issue 24, requests: filters cost bounded work, work is charged by its cost, a search has a time
budget (503 with ``Retry-After``, its work stopped) and readiness says when searches are refused."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from typing import Any

import httpx
from litestar import Litestar, Request, get, post
from litestar.datastructures import State

from indexer.search import Comparison, Compound, FieldSpec
from indexer.search.deadline import Deadline
from service.integrations.dify.filters import dify_filter
from service.runtime.work import SearchPool
from service.settings import AppSettings, ServiceSettings
from tests.security.conftest import Serve
from tests.service.server import serve

QUESTION = "Which lighthouse guides ships?"


def dify(base_url: str, condition: dict[str, Any]) -> httpx.Response:
    body = {
        "knowledge_id": "citesearch",
        "query": QUESTION,
        "retrieval_setting": {"top_k": 5, "score_threshold": 0},
        "metadata_condition": condition,
    }
    return httpx.post(f"{base_url}/retrieval", json=body, timeout=60)


def contains(names: list[str], values: list[str]) -> dict[str, Any]:
    return {"name": names, "comparison_operator": "contains", "value": values}


def test_the_dify_name_flood_is_answered_once_per_name(served: Serve) -> None:
    # Was 26.6 s of CPU on an 11,800-chunk index: 40 names x 1,024 values, each tested in Python.
    values = [f"doc-{i:04d}#{i}" for i in range(1024)] + ["lighthouse.txt#0"]
    with served() as (base_url, _, app):
        answer = dify(base_url, {"conditions": [contains(["chunk_id"] * 40, values[-1024:])]})
        assert answer.status_code == 200, answer.text
        assert [r["metadata"]["chunk_id"] for r in answer.json()["records"]] == ["lighthouse.txt#0"]
        assert app.state.work.timeouts == 0


def test_filters_past_their_limits_get_422_naming_the_limit(served: Serve) -> None:
    with served() as (base_url, _, _):
        many_names = dify(base_url, {"conditions": [contains([f"f{i}" for i in range(300)], ["a"])]})
        texts = dify(base_url, {"conditions": [contains(["title"], [f"x{i}"]) for i in range(17)]})
        long_text = dify(base_url, {"conditions": [contains(["title"], ["x" * 300])]})
        values = [{"type": "in", "key": "doc_id", "value": [f"d{i}" for i in range(1000)]}] * 5
        search = httpx.post(
            f"{base_url}/v1/search",
            json={"query": QUESTION, "filters": {"type": "or", "filters": values}},
            timeout=30,
        )
    assert many_names.status_code == 422 and "the limit is 256" in many_names.text
    assert texts.status_code == 422 and "17 text comparisons" in texts.text and "limit is 16" in texts.text
    assert long_text.status_code == 422 and "at most 256 characters" in long_text.text
    assert search.status_code == 422 and "5000 values in all; the limit is 4096" in search.text


def test_a_search_past_its_time_budget_gets_503_and_stops(served: Serve) -> None:
    with served(request_timeout_seconds=0.001) as (base_url, _, app):
        # Each reading of the pool's clock is a second later: every search's budget is spent by its
        # first check, however fast the search (a cached query without filters was, now and then).
        ticks = itertools.count(time.monotonic(), 1.0)
        app.state.work._clock = lambda: next(ticks)
        answers = [
            httpx.post(f"{base_url}/v1/search", json={"query": QUESTION}, timeout=30),
            httpx.post(f"{base_url}/v1/context", json={"query": QUESTION, "max_tokens": 500}, timeout=30),
            dify(base_url, {"conditions": [contains(["title"], ["light"])]}),
            httpx.post(
                f"{base_url}/v1/vector_stores/vs_citesearch/search", json={"query": QUESTION}, timeout=30
            ),
        ]
        work = app.state.work
        for answer in answers:
            assert answer.status_code == 503, answer.text
            assert answer.headers["Retry-After"] == "1"
            assert "request_timeout_seconds" in answer.text or "retry later" in answer.text
        # The work was stopped, not left running: no thread is still busy with it.
        assert work.ordinary.busy == 0 and work.expensive.busy == 0
        assert work.timeouts == 4
        metrics = httpx.get(f"{base_url}/metrics", timeout=10).text
        assert 'citesearch_searches_abandoned_total{reason="timeout"} 4.0' in metrics
        assert httpx.get(f"{base_url}/health", timeout=10).status_code == 200


def test_a_search_within_its_budget_is_answered(served: Serve) -> None:
    with served(request_timeout_seconds=30) as (base_url, _, _):
        answer = httpx.post(f"{base_url}/v1/search", json={"query": QUESTION}, timeout=30)
    assert answer.status_code == 200 and answer.json()["results"]


def test_the_rate_limit_charges_by_work(served: Serve) -> None:
    with served(rate_limit=30) as (base_url, _, _):

        def remaining(**body: Any) -> int:
            answer = httpx.post(f"{base_url}/v1/search", json={"query": QUESTION, **body}, timeout=30)
            assert answer.status_code == 200, answer.text
            return int(answer.headers["RateLimit-Remaining"])

        first = remaining()
        remaining(top_k=100)  # 1 + 4 units
        after = remaining()
    # The remaining allowance fell by 1 + 5 (+1 refilled at most: a unit comes back every 2 s).
    assert first - 6 <= after <= first - 5, (first, after)


def test_ready_says_so_when_every_search_thread_is_busy_past_the_budget(served: Serve) -> None:
    with served(request_timeout_seconds=1) as (base_url, _, app):
        assert httpx.get(f"{base_url}/ready", timeout=10).status_code == 200
        pool = app.state.work.ordinary
        pool.full_since = time.monotonic() - 5  # as the pool records it when its last thread is taken
        saturated = httpx.get(f"{base_url}/ready", timeout=10)
        gauge_saturated = httpx.get(f"{base_url}/metrics", timeout=10).text
        pool.full_since = None
        assert httpx.get(f"{base_url}/ready", timeout=10).status_code == 200
        gauge_free = httpx.get(f"{base_url}/metrics", timeout=10).text
    assert saturated.status_code == 503
    assert "\ncitesearch_ready 0.0\n" in gauge_saturated and "\ncitesearch_ready 1.0\n" in gauge_free
    assert "busy" in saturated.json()["detail"] and "request_timeout_seconds" in saturated.json()["detail"]


def test_a_client_that_disconnects_stops_its_search() -> None:
    # The pool over the real server: its work runs until its client hangs up, then stops.
    settings = ServiceSettings(request_timeout_seconds=60)
    pool = SearchPool(settings)
    stopped = threading.Event()

    def endless(deadline: Deadline) -> str:
        try:
            while True:
                deadline.check()
                time.sleep(0.01)
        finally:
            stopped.set()

    @post("/slow", status_code=200)
    async def slow(request: Request[Any, Any, Any]) -> str:
        await request.body()
        return await pool.run(endless, receive=request.receive)

    @get("/health")
    async def health() -> str:
        return "ok"

    app = Litestar([slow, health], state=State({"settings": AppSettings(service=settings)}))
    with serve(app) as base_url:
        host, port = base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(b"POST /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}")
            time.sleep(0.5)
        assert stopped.wait(10), "the search went on after its client left"
    assert pool.disconnects == 1 and pool.timeouts == 0


def test_a_name_given_many_times_is_one_comparison() -> None:
    # Each repeated name was a comparison of its own, each scanning every value of the field again.
    fields = {"chunk_id": FieldSpec("string", chunk=True), "title": FieldSpec("string")}
    tree = dify_filter({"conditions": [contains(["chunk_id"] * 40 + ["title"], ["a", "b"])]}, fields)
    texts = ("a", "b")
    assert tree == Compound(
        "or", (Comparison("contains", "chunk_id", texts), Comparison("contains", "title", texts))
    )
