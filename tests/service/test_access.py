"""API keys, limits, rate limiting and CORS, each answered with its documented status and problem details."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from indexer.embedding import Embedder
from service.app import create_app
from service.settings import AppSettings as Settings
from service.settings import AuthSettings
from tests.service.helpers import FIRST, SECOND, build, corpus_settings, publish_copy

Client = TestClient  # type: ignore[type-arg]

API_KEY = "search-key-0123456789abcdef"
ADMIN_KEY = "admin-key-0123456789abcdef"
QUERY = {"query": "lighthouse", "top_k": 1}


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def with_auth(settings: Settings, api: tuple[str, ...] = (), admin: tuple[str, ...] = ()) -> Settings:
    return msgspec.structs.replace(settings, auth=AuthSettings(api_keys=api, admin_keys=admin))


def assert_problem(response: Any, status: int, needle: str = "") -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["type"] == "about:blank" and body["title"]
    assert needle.lower() in body["detail"].lower(), body
    assert "Traceback" not in response.text
    return body


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[tuple[Client, Settings]]:
    settings = corpus_settings(tmp_path_factory.mktemp("keyed"), reload_poll_seconds=0, max_top_k=10)
    build(settings, embedder, FIRST)
    settings = with_auth(settings, api=(API_KEY,), admin=(ADMIN_KEY,))
    with TestClient(app=create_app(settings, embedder=embedder)) as client:
        yield client, settings


UNAUTHORIZED: list[tuple[str, dict[str, str], str]] = [
    ("missing key", {}, "API key is required"),
    ("wrong key", bearer("not-the-key-0123456789"), "not valid"),
    ("empty bearer", {"authorization": "Bearer "}, "Bearer <key>"),
    ("basic scheme", {"authorization": f"Basic {API_KEY}"}, "Bearer <key>"),
    ("key as a prefix", bearer(API_KEY[:-1]), "not valid"),
    ("key with a suffix", bearer(API_KEY + "x"), "not valid"),
]


@pytest.mark.parametrize(("case", "headers", "needle"), UNAUTHORIZED, ids=[c[0] for c in UNAUTHORIZED])
def test_search_and_documents_need_a_key_when_keys_are_configured(
    keyed: tuple[Client, Settings], case: str, headers: dict[str, str], needle: str
) -> None:
    client, _ = keyed
    search = client.post("/v1/search", json=QUERY, headers=headers)
    assert_problem(search, 401, needle)
    assert search.headers["www-authenticate"].startswith("Bearer")
    assert_problem(client.get("/v1/documents/lighthouse.txt", headers=headers), 401, needle)


def test_valid_keys_are_accepted_and_probes_stay_open(keyed: tuple[Client, Settings]) -> None:
    client, _ = keyed
    for key in (API_KEY, ADMIN_KEY):  # an admin key is good for search too
        assert client.post("/v1/search", json=QUERY, headers=bearer(key)).status_code == 200
        assert client.get("/v1/documents/lighthouse.txt", headers=bearer(key)).status_code == 200
    lenient = {"authorization": f"bearer  {API_KEY} "}  # scheme is case-insensitive, spaces are trimmed
    assert client.post("/v1/search", json=QUERY, headers=lenient).status_code == 200
    for path in ("/health", "/ready", "/schema/openapi.json"):
        assert client.get(path).status_code == 200, path


def test_admin_reload_needs_an_admin_key(keyed: tuple[Client, Settings]) -> None:
    client, _ = keyed
    assert_problem(client.post("/v1/admin/reload"), 401, "API key is required")
    assert_problem(client.post("/v1/admin/reload", headers=bearer("wrong-key-0123456789")), 401, "not valid")
    # A search key is a good key without the admin right: 403, not 401 (which would say "send a key").
    assert_problem(client.post("/v1/admin/reload", headers=bearer(API_KEY)), 403, "not for admin")
    response = client.post("/v1/admin/reload", headers=bearer(ADMIN_KEY))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "unchanged"


def test_keys_are_never_logged(keyed: tuple[Client, Settings], caplog: pytest.LogCaptureFixture) -> None:
    client, _ = keyed
    caplog.set_level(logging.DEBUG)
    client.post("/v1/search", json=QUERY, headers=bearer("wrong-key-0123456789-secret"))
    client.post("/v1/search", json=QUERY, headers=bearer(API_KEY))
    client.post("/v1/admin/reload", headers=bearer(ADMIN_KEY))
    logged = "\n".join(r.getMessage() + repr(r.__dict__) for r in caplog.records)
    for secret in ("wrong-key-0123456789-secret", API_KEY, ADMIN_KEY):
        assert secret not in logged


def test_top_k_above_the_configured_limit_is_422(keyed: tuple[Client, Settings]) -> None:
    client, _ = keyed
    ok = client.post("/v1/search", json={"query": "x", "top_k": 10}, headers=bearer(API_KEY))
    assert ok.status_code == 200
    too_many = client.post("/v1/search", json={"query": "x", "top_k": 11}, headers=bearer(API_KEY))
    assert_problem(too_many, 422, "limit is 10")


def test_admin_reload_swaps_and_reports_refusals(tmp_path: Path, embedder: Embedder) -> None:
    settings = corpus_settings(tmp_path, reload_poll_seconds=0)
    first = build(settings, embedder, FIRST)
    settings = with_auth(settings, admin=(ADMIN_KEY,))
    with TestClient(app=create_app(settings, embedder=embedder)) as client:
        second = build(settings, embedder, SECOND)
        response = client.post("/v1/admin/reload", headers=bearer(ADMIN_KEY))
        assert response.status_code == 200
        assert response.json() == {"status": "loaded", "snapshot_id": second, "previous_snapshot_id": first}
        assert client.post("/v1/search", json=QUERY).json()["snapshot_id"] == second
        publish_copy(settings, "00000000T000000000000Z-corrupt", "corrupt")
        refused = client.post("/v1/admin/reload", headers=bearer(ADMIN_KEY))
        body = assert_problem(refused, 409, "sha256")
        assert f"still serving {second}" in body["detail"] and str(tmp_path) not in body["detail"]
        ready = client.get("/ready").json()
        assert ready["snapshot"]["snapshot_id"] == second and ready["refusals"] == 1
        assert client.post("/v1/search", json=QUERY).status_code == 200


def test_without_admin_keys_admin_endpoints_are_closed(tmp_path: Path, embedder: Embedder) -> None:
    settings = corpus_settings(tmp_path, reload_poll_seconds=0)
    build(settings, embedder, FIRST)
    with TestClient(app=create_app(settings, embedder=embedder)) as client:
        assert client.post("/v1/search", json=QUERY).status_code == 200  # no api_keys: search is open
        assert_problem(client.post("/v1/admin/reload"), 401, "required")
        assert_problem(client.post("/v1/admin/reload", headers=bearer(ADMIN_KEY)), 401, "disabled")


def test_rate_limit_per_client_gives_429_with_retry_after(tmp_path: Path, embedder: Embedder) -> None:
    settings = corpus_settings(tmp_path, reload_poll_seconds=0, rate_limit=3, rate_limit_period="minute")
    build(settings, embedder, FIRST)
    with TestClient(app=create_app(settings, embedder=embedder)) as client:
        for _ in range(3):
            ok = client.post("/v1/search", json=QUERY)
            assert ok.status_code == 200
        assert ok.headers["ratelimit-remaining"] == "0"
        limited = client.post("/v1/search", json=QUERY)
        assert_problem(limited, 429, "too many requests")
        assert int(limited.headers["retry-after"]) > 0 and limited.headers["ratelimit-limit"] == "3"
        assert_problem(client.get("/v1/documents/lighthouse.txt"), 429)
        for path in ("/health", "/ready", "/schema/openapi.json"):  # probes are never throttled
            assert client.get(path).status_code == 200, path


def test_cors_is_off_by_default_and_configurable(tmp_path: Path, embedder: Embedder) -> None:
    settings = corpus_settings(tmp_path, reload_poll_seconds=0)
    build(settings, embedder, FIRST)
    preflight = {
        "origin": "https://app.example.com",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
    }
    with TestClient(app=create_app(settings, embedder=embedder)) as client:
        response = client.post("/v1/search", json=QUERY, headers={"origin": "https://app.example.com"})
        assert "access-control-allow-origin" not in response.headers
    cors = corpus_settings(tmp_path, reload_poll_seconds=0, cors_origins=("https://app.example.com",))
    with TestClient(app=create_app(cors, embedder=embedder)) as client:
        response = client.options("/v1/search", headers=preflight)
        assert response.status_code in (200, 204)
        assert response.headers["access-control-allow-origin"] == "https://app.example.com"
        assert "authorization" in response.headers["access-control-allow-headers"].lower()
        other = client.post("/v1/search", json=QUERY, headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
