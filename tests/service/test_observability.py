"""Prometheus metrics, request ids and the structured access log."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from indexer.embedding import Embedder
from service.app import create_app
from service.runtime.observability import JsonFormatter
from service.settings import AppSettings as Settings
from service.settings import AuthSettings, ObservabilitySettings
from tests.service.helpers import FIRST, build, corpus_settings, publish_copy

Client = TestClient  # type: ignore[type-arg]
QUERY = {"query": "a secret question about the lighthouse", "top_k": 2}


def with_observability(settings: Settings, **fields: Any) -> Settings:
    return msgspec.structs.replace(settings, observability=ObservabilitySettings(**fields))


def samples(client: Client) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(metrics: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return metrics.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[tuple[Client, Settings, str]]:
    settings = corpus_settings(tmp_path_factory.mktemp("observed"), reload_poll_seconds=0)
    snapshot_id = build(settings, embedder, FIRST)
    with TestClient(app=create_app(settings, embedder=embedder)) as client:
        yield client, settings, snapshot_id


def test_metrics_count_requests_time_searches_and_describe_the_snapshot(
    served: tuple[Client, Settings, str],
) -> None:
    client, _, snapshot_id = served
    before = samples(client)
    for _ in range(3):
        assert client.post("/v1/search", json=QUERY).status_code == 200
    client.post("/v1/search", json={"query": ""})
    client.get("/no/such/route/" + "x" * 50)
    client.get("/v1/search")
    metrics = samples(client)

    def delta(name: str, **labels: str) -> float:
        return value(metrics, name, **labels) - value(before, name, **labels)

    search = {"method": "POST", "route": "/v1/search"}
    assert delta("citesearch_http_requests_total", status="200", **search) == 3
    assert delta("citesearch_http_requests_total", status="422", **search) == 1
    assert delta("citesearch_http_request_duration_seconds_count", status="200", **search) == 3
    assert delta("citesearch_http_request_duration_seconds_bucket", status="200", le="+Inf", **search) == 3
    assert delta("citesearch_http_requests_total", method="GET", route="<unmatched>", status="404") == 1
    assert delta("citesearch_http_requests_total", method="GET", route="<unmatched>", status="405") == 1
    # The same query three times: embedded once, then answered from the query cache.
    assert delta("citesearch_embedding_seconds_count") == 1
    assert delta("citesearch_query_cache_hits_total") == 2
    assert delta("citesearch_search_seconds_count", mode="hybrid") == 3
    assert delta("citesearch_search_seconds_sum", mode="hybrid") > 0
    assert value(metrics, "citesearch_snapshot_info", snapshot_id=snapshot_id, model="all-MiniLM-L6-v2") == 1
    assert value(metrics, "citesearch_documents") == 1 and value(metrics, "citesearch_chunks") == 1
    assert 0 <= value(metrics, "citesearch_snapshot_age_seconds") < 600
    assert value(metrics, "citesearch_snapshot_loads_total") == 1
    assert value(metrics, "citesearch_ready") == 1


def test_refusals_are_counted(tmp_path: Path, embedder: Embedder) -> None:
    settings = corpus_settings(tmp_path, reload_poll_seconds=0.1)
    build(settings, embedder, FIRST)
    with TestClient(app=create_app(settings, embedder=embedder)) as client:
        publish_copy(settings, "00000000T000000000000Z-other", "other-model")
        client.app.state.snapshots.reload()
        metrics = samples(client)
        assert value(metrics, "citesearch_snapshot_refusals_total") == 1
        assert value(metrics, "citesearch_snapshot_last_refusal_timestamp_seconds") > 0
        assert value(metrics, "citesearch_ready") == 1


def test_ready_gauge_is_0_whenever_ready_is_503(tmp_path: Path, embedder: Embedder) -> None:
    """The alert on ``citesearch_ready == 0`` fires exactly when ``/ready`` says 503: no snapshot
    (only a damaged one published), a good one swapped in, the served one damaged on disk."""
    settings = corpus_settings(tmp_path, reload_poll_seconds=0)
    build(settings, embedder, FIRST)
    publish_copy(settings, "00000000T000000000000Z-bad", "corrupt")
    with TestClient(app=create_app(settings, embedder=embedder)) as client:
        holder = client.app.state.snapshots

        def state() -> tuple[int, float]:
            return client.get("/ready").status_code, value(samples(client), "citesearch_ready")

        assert state() == (503, 0)  # the only published snapshot was refused
        good = build(settings, embedder, FIRST)
        holder.reload()
        assert state() == (200, 1)
        assert holder.current.snapshot_id == good
        (holder.current.snapshot.path / "index.faiss").unlink()  # damaged under the running service
        assert state() == (503, 0)


def test_request_ids_are_returned_and_echoed(served: tuple[Client, Settings, str]) -> None:
    client, _, _ = served
    made = client.get("/health").headers["x-request-id"]
    assert len(made) == 32
    assert client.get("/health").headers["x-request-id"] != made
    assert client.get("/health", headers={"x-request-id": "abc-123"}).headers["x-request-id"] == "abc-123"
    insane = client.get("/health", headers={"x-request-id": "a b\tc" + "x" * 300}).headers["x-request-id"]
    assert insane != "a b\tc" and len(insane) == 32
    assert client.get("/nowhere").headers["x-request-id"]  # errors carry one too


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    formatter = JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records if r.name == "citesearch.access"]


def test_one_json_access_line_per_request_without_the_query(
    served: tuple[Client, Settings, str], caplog: pytest.LogCaptureFixture
) -> None:
    client, _, snapshot_id = served
    caplog.set_level(logging.INFO, logger="citesearch.access")
    response = client.post("/v1/search", json=QUERY, headers={"x-request-id": "req-1"})
    client.get("/v1/documents/nope.txt")
    lines = access_lines(caplog)
    assert len(lines) == 2
    search, missing = lines
    assert search["request_id"] == "req-1" == response.headers["x-request-id"]
    assert search["route"] == "/v1/search" and search["method"] == "POST" and search["status"] == 200
    assert search["duration_ms"] > 0 and search["snapshot_id"] == snapshot_id and search["results"] == 1
    assert "query" not in search and "secret question" not in json.dumps(lines)
    assert missing["status"] == 404 and missing["route"] == "/v1/documents/{doc_id}"


def test_queries_are_logged_only_when_configured(
    tmp_path: Path, embedder: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    settings = corpus_settings(tmp_path, reload_poll_seconds=0)
    build(settings, embedder, FIRST)
    caplog.set_level(logging.INFO, logger="citesearch.access")
    app = create_app(with_observability(settings, log_queries=True), embedder=embedder)
    with TestClient(app=app) as client:
        client.post("/v1/search", json=QUERY)
    assert access_lines(caplog)[-1]["query"] == QUERY["query"]


def test_metrics_can_be_switched_off_or_put_behind_a_key(tmp_path: Path, embedder: Embedder) -> None:
    settings = corpus_settings(tmp_path, reload_poll_seconds=0)
    build(settings, embedder, FIRST)
    with TestClient(app=create_app(with_observability(settings, metrics=False), embedder=embedder)) as client:
        assert client.get("/metrics").status_code == 404
    key = "metrics-reader-key-0123456789"
    keyed = msgspec.structs.replace(
        with_observability(settings, metrics_require_key=True), auth=AuthSettings(api_keys=(key,))
    )
    with TestClient(app=create_app(keyed, embedder=embedder)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"authorization": f"Bearer {key}"}).status_code == 200
