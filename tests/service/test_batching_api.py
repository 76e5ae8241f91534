"""Concurrent searches through the real app and model: batched, each answered as if it were alone."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import msgspec
import pytest
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from indexer.embedding import Embedder, EmbedderWrapper
from service.app import create_app
from service.settings import AppSettings as Settings
from tests.service.server import serve

ROUNDS = 4
REQUESTS: list[dict[str, Any]] = [
    {"query": "Which ministers met at NATO?", "top_k": 3},
    {"query": "What did Marco Rubio say about NATO spending?", "top_k": 5},
    {"query": "Who is the NATO Secretary General?", "top_k": 1, "mode": "dense"},
    {"query": "How long should bread dough be kneaded?", "top_k": 2},
    {"query": "What causes the ocean tides?", "top_k": 4, "mode": "hybrid"},
    {"query": "the Moon orbits the Earth", "top_k": 3, "mode": "lexical"},
    {"query": "Why does the alliance need to invest more in defence?", "top_k": 5, "max_per_doc": 1},
    {"query": "golden crust baking temperature", "top_k": 2, "mode": "dense"},
]


def results(body: dict[str, Any]) -> list[tuple[str, float]]:
    return [(r["chunk_id"], r["score"]) for r in body["results"]]


def metric(text: str, name: str) -> float:
    return sum(
        s.value for family in text_string_to_metric_families(text) for s in family.samples if s.name == name
    )


class _Slow(EmbedderWrapper):
    """The real model, each call 50 ms longer: the requests released together all arrive while the
    first batch is computed, however busy the machine, so later ones are batched."""

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> Any:
        time.sleep(0.05)
        return self.inner.embed(texts, batch_size)


def test_concurrent_searches_get_the_answers_they_would_get_alone(
    seeded_settings: Settings, embedder: Embedder
) -> None:
    # No query cache: the concurrent round must call the model, not find the first round's vectors.
    service = msgspec.structs.replace(seeded_settings.service, query_cache_size=0)
    settings = msgspec.structs.replace(seeded_settings, service=service)
    with serve(create_app(settings, embedder=_Slow(embedder))) as base_url:  # type: ignore[arg-type]
        with httpx.Client(base_url=base_url, timeout=60) as http:
            alone = [results(http.post("/v1/search", json=r).json()) for r in REQUESTS]
            before = http.get("/metrics").text
        start = threading.Barrier(len(REQUESTS) * ROUNDS)

        def ask(i: int) -> tuple[int, int, list[tuple[str, float]]]:
            request = REQUESTS[i % len(REQUESTS)]
            with httpx.Client(base_url=base_url, timeout=60) as http:
                start.wait()
                response = http.post("/v1/search", json=request)
                return i, response.status_code, results(response.json())

        with ThreadPoolExecutor(len(REQUESTS) * ROUNDS) as pool:
            answers = list(pool.map(ask, range(len(REQUESTS) * ROUNDS)))
        after = httpx.get(f"{base_url}/metrics").text

    for i, status, got in answers:
        expected = alone[i % len(REQUESTS)]
        assert status == 200
        assert [chunk for chunk, _ in got] == [chunk for chunk, _ in expected], REQUESTS[i % len(REQUESTS)]
        assert [score for _, score in got] == pytest.approx([score for _, score in expected], abs=1e-4)
    batches = metric(after, "citesearch_query_batch_size_count") - metric(
        before, "citesearch_query_batch_size_count"
    )
    queries = metric(after, "citesearch_query_batch_size_sum") - metric(
        before, "citesearch_query_batch_size_sum"
    )
    lexical_only = sum(1 for r in REQUESTS if r.get("mode") == "lexical") * ROUNDS
    assert queries == len(REQUESTS) * ROUNDS - lexical_only  # lexical searches need no vector
    assert batches < queries  # some queries were embedded together


def test_repeated_queries_are_answered_from_the_cache_and_counted(
    seeded_settings: Settings, embedder: Embedder
) -> None:
    with TestClient(app=create_app(seeded_settings, embedder=embedder)) as client:
        query = {"query": "a question asked twice about NATO", "top_k": 2}
        first = client.post("/v1/search", json=query).json()
        second = client.post("/v1/search", json=query).json()
        assert results(first) == results(second)
        text = client.get("/metrics").text
        assert metric(text, "citesearch_query_cache_hits_total") == 1
        assert metric(text, "citesearch_query_cache_misses_total") == 1
        assert metric(text, "citesearch_query_cache_entries") == 1


def test_the_cache_can_be_switched_off(seeded_settings: Settings, embedder: Embedder) -> None:
    service = msgspec.structs.replace(seeded_settings.service, query_cache_size=0, max_batch=1)
    settings = msgspec.structs.replace(seeded_settings, service=service)
    with TestClient(app=create_app(settings, embedder=embedder)) as client:
        query = {"query": "a question asked twice about NATO", "top_k": 2}
        assert client.post("/v1/search", json=query).status_code == 200
        assert client.post("/v1/search", json=query).status_code == 200
        text = client.get("/metrics").text
        assert metric(text, "citesearch_query_cache_hits_total") == 0
        assert metric(text, "citesearch_query_cache_entries") == 0
