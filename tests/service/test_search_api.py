"""The HTTP API through Litestar's test client, on an app built by the factory around a small index."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import TestClient

Client = TestClient  # type: ignore[type-arg]
JSON = {"content-type": "application/json"}


def search(client: Client, **body: Any) -> Any:
    response = client.post("/v1/search", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_results_are_ranked_and_cite_exact_spans(client: Client) -> None:
    body = search(client, query="How long should bread dough rise?", top_k=10)
    results = body["results"]
    assert body["query"] == "How long should bread dough rise?"
    assert body["took_ms"] >= 0 and body["snapshot_id"]
    assert results[0]["citation"]["doc_id"] == "notes/cooking.md"
    assert [r["rank"] for r in results] == list(range(1, len(results) + 1))
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    assert len({r["chunk_id"] for r in results}) == len(results)
    documents: dict[str, Any] = {}
    for result in results:
        citation = result["citation"]
        doc_id = citation["doc_id"]
        if doc_id not in documents:
            response = client.get(citation["url"])
            assert response.status_code == 200
            documents[doc_id] = response.json()
        document = documents[doc_id]
        text = document["text"]
        assert text[citation["char_start"] : citation["char_end"]] == result["text"]
        lines = text.split("\n")
        assert citation["line_start"] == text.count("\n", 0, citation["char_start"]) + 1
        span_lines = "\n".join(lines[citation["line_start"] - 1 : citation["line_end"]])
        assert result["text"] in span_lines
        assert citation["title"] == document["title"] and citation["source"] == document["source"]


def test_max_per_doc_keeps_one_document_from_crowding_out_others(client: Client) -> None:
    uncapped = search(client, query="NATO allies Ukraine", top_k=6)["results"]
    assert len({r["citation"]["doc_id"] for r in uncapped}) < len(uncapped)  # the seed fills several ranks
    capped = search(client, query="NATO allies Ukraine", top_k=6, max_per_doc=1)["results"]
    doc_ids = [r["citation"]["doc_id"] for r in capped]
    assert len(doc_ids) == len(set(doc_ids)) == 3  # every document once, best passage of each
    assert capped[0]["chunk_id"] == uncapped[0]["chunk_id"]
    two = search(client, query="NATO allies Ukraine", top_k=6, max_per_doc=2)["results"]
    assert max(sum(r["citation"]["doc_id"] == d for r in two) for d in doc_ids) == 2


def test_citation_urls_percent_encode_document_ids(client: Client) -> None:
    citation = search(client, query="Why does the Moon cause ocean tides?", top_k=1)["results"][0]["citation"]
    start, end = citation["char_start"], citation["char_end"]
    assert citation["url"] == f"/v1/documents/notes/astronomy.txt?start={start}&end={end}"


def test_citation_metadata_from_date_header(client: Client) -> None:
    results = search(client, query="NATO foreign ministers meeting", top_k=1)["results"]
    citation = results[0]["citation"]
    assert citation["date"] == "2025-04-04"
    assert citation["title"].startswith("NATO Secretary General Mark Rutte")
    assert citation["source"] == "seeds/000_9d8dce6cf410ff07.txt"


def test_top_k_defaults_to_five_and_is_honoured(client: Client) -> None:
    assert len(search(client, query="NATO")["results"]) == 5
    assert len(search(client, query="NATO", top_k=2)["results"]) == 2
    assert len(search(client, query="NATO", top_k=100)["results"]) <= 100


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_each_mode_finds_the_obvious_document(client: Client, mode: str) -> None:
    results = search(client, query="Why does the Moon cause ocean tides?", top_k=3, mode=mode)["results"]
    assert results[0]["citation"]["doc_id"] == "notes/astronomy.txt"


def test_lexical_mode_with_no_matching_term_returns_nothing(client: Client) -> None:
    assert search(client, query="xylophone", mode="lexical")["results"] == []


def test_document_endpoint(client: Client) -> None:
    response = client.get("/v1/documents/notes/cooking.md")
    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "Bread baking" and body["date"] is None
    assert body["text"].startswith("# Bread baking") and body["char_count"] == len(body["text"])
    assert len(body["sha256"]) == 64 and body["chunk_count"] >= 1


def test_health_ready_and_openapi(client: Client) -> None:
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["uptime_seconds"] >= 0
    ready = client.get("/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready" and body["last_refusal"] is None
    snapshot = body["snapshot"]
    assert snapshot["documents"] == 3 and snapshot["chunks"] >= 3 and snapshot["model"] == "all-MiniLM-L6-v2"
    assert snapshot["snapshot_id"] == search(client, query="NATO")["snapshot_id"]
    schema = client.get("/schema/openapi.json").json()
    assert {"/v1/search", "/health"} <= set(schema["paths"])
    assert any(p.startswith("/v1/documents/") for p in schema["paths"])
    request = schema["components"]["schemas"]["SearchRequest"]
    assert request["properties"]["top_k"]["maximum"] == 100


def test_swagger_ui_is_served_offline(client: Client) -> None:
    """The Swagger UI page references no external URL: its files come from the service itself."""
    page = client.get("/schema/swagger")
    assert page.status_code == 200
    assets = re.findall(r"""(?:src|href)=["']([^"']+)""", page.text)
    assert len(assets) >= 3  # the script, its preset and the stylesheet
    for asset in assets:
        assert asset.startswith("/") and not asset.startswith("//"), asset
        assert client.get(asset).status_code == 200, asset


BAD_SEARCHES: list[tuple[str, dict[str, Any], int, str]] = [
    ("empty query", {"json": {"query": ""}}, 422, "query"),
    ("whitespace query", {"json": {"query": "  \n\t "}}, 422, "query"),
    ("query over the limit", {"json": {"query": "a" * 2001}}, 422, "limit is 2000"),
    ("query over the hard cap", {"json": {"query": "a" * 10_001}}, 422, "query"),
    ("query of the wrong type", {"json": {"query": 5}}, 422, "query"),
    ("missing query", {"json": {"top_k": 3}}, 422, "query"),
    ("top_k zero", {"json": {"query": "x", "top_k": 0}}, 422, "top_k"),
    ("top_k negative", {"json": {"query": "x", "top_k": -1}}, 422, "top_k"),
    ("top_k too large", {"json": {"query": "x", "top_k": 101}}, 422, "top_k"),
    ("top_k huge", {"content": b'{"query": "x", "top_k": 99999999999999999999999999}'}, 422, "top_k"),
    ("top_k as string", {"json": {"query": "x", "top_k": "5"}}, 422, "top_k"),
    ("top_k as float", {"json": {"query": "x", "top_k": 5.0}}, 422, "top_k"),
    ("top_k as bool", {"json": {"query": "x", "top_k": True}}, 422, "top_k"),
    ("top_k out of float range", {"content": b'{"query": "x", "top_k": 1e400}'}, 422, "range"),
    ("unknown field", {"json": {"query": "x", "limit": 3}}, 422, "limit"),
    ("unknown mode", {"json": {"query": "x", "mode": "psychic"}}, 422, "mode"),
    ("max_per_doc zero", {"json": {"query": "x", "max_per_doc": 0}}, 422, "max_per_doc"),
    ("max_per_doc as string", {"json": {"query": "x", "max_per_doc": "1"}}, 422, "max_per_doc"),
    ("malformed JSON", {"content": b'{"query": '}, 400, "truncated"),
    ("JSON array", {"content": b"[1, 2]"}, 422, "object"),
    ("JSON null", {"content": b"null"}, 422, "object"),
    ("empty body", {"content": b""}, 400, "empty"),
    ("empty chunked body", {"content": iter([b""])}, 400, "empty"),
    ("invalid UTF-8", {"content": b'{"query": "\xff\xfe"}'}, 400, "UTF-8"),
    (
        "deep nesting",
        {"content": b'{"query": "x", "filters": {"a": ' + b"[" * 20000 + b"]" * 20000 + b"}}"},
        400,
        "nested",
    ),
    ("oversized body", {"content": b'{"query": "' + b"a" * 70_000 + b'"}'}, 413, "Too Large"),
]


@pytest.mark.parametrize(
    ("case", "request_kwargs", "status", "needle"), BAD_SEARCHES, ids=[c[0] for c in BAD_SEARCHES]
)
def test_bad_search_input_gets_a_clear_4xx(
    client: Client, case: str, request_kwargs: dict[str, Any], status: int, needle: str
) -> None:
    headers = JSON if "content" in request_kwargs else None
    response = client.post("/v1/search", headers=headers, **request_kwargs)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"] and body["type"] == "about:blank"
    assert needle.lower() in body["detail"].lower(), body


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_wrong_content_type_is_415(client: Client, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/v1/search", content=b'{"query": "x"}', headers=headers)
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/v1/documents/nope.txt",
        "/v1/documents/..%2F..%2Fetc%2Fpasswd",
        "/v1/documents/%2e%2e/%2e%2e/etc/passwd",
        "/v1/documents//etc/passwd",
        "/v1/documents/" + "a" * 5000,
    ],
)
def test_unknown_documents_and_traversal_are_404(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["status"] == 404
    assert "root:" not in response.text


def test_unknown_route_and_wrong_method_are_problem_details(client: Client) -> None:
    missing = client.get("/v2/nothing")
    assert missing.status_code == 404 and missing.json()["title"] == "Not Found"
    wrong = client.get("/v1/search")
    assert wrong.status_code == 405 and "POST" in wrong.headers["allow"]
    assert wrong.json()["status"] == 405
