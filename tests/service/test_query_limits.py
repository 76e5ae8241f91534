"""``service.max_top_k`` binds every endpoint's result count (the one query path applies it): REST
search (``top_k``, ``max_per_doc``), context, Dify, OpenAI and MCP, over real HTTP. Wrong types in a
body are refused by every JSON endpoint, in its own error shape."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import msgspec
import pytest

from indexer.embedding import Embedder
from service.app import create_app
from service.settings import AppSettings
from tests.service.server import serve

LIMIT = 2
QUESTION = "NATO allies Ukraine"
OPENAI = "/v1/vector_stores/vs_citesearch/search"
DIFY = {"knowledge_id": "citesearch", "query": QUESTION}
KEEP_ALL = {"min_score": 0.0}


@pytest.fixture(scope="module")
def base_url(seeded_settings: AppSettings, embedder: Embedder) -> Iterator[str]:
    service = msgspec.structs.replace(seeded_settings.service, max_top_k=LIMIT)
    settings = msgspec.structs.replace(seeded_settings, service=service)
    with serve(create_app(settings, embedder=embedder)) as url:
        yield url


OVER_THE_LIMIT: list[tuple[str, str, dict[str, Any], str]] = [
    ("search top_k", "/v1/search", {"query": QUESTION, "top_k": LIMIT + 1}, "top_k"),
    (
        "search max_per_doc",
        "/v1/search",
        {"query": QUESTION, "top_k": 1, "max_per_doc": LIMIT + 1},
        "max_per_doc",
    ),
    ("context top_k", "/v1/context", {"query": QUESTION, "max_tokens": 500, "top_k": LIMIT + 1}, "top_k"),
    (
        "dify top_k",
        "/retrieval",
        {**DIFY, "retrieval_setting": {"top_k": LIMIT + 1}},
        "retrieval_setting.top_k",
    ),
    ("openai max_num_results", OPENAI, {"query": QUESTION, "max_num_results": LIMIT + 1}, "max_num_results"),
]


def _field_at_fault(response: httpx.Response) -> str | None:
    body = response.json()
    if "error" in body:  # OpenAI's shape
        param: str | None = body["error"]["param"]
        return param
    return str(body["errors"][0]["key"])


@pytest.mark.parametrize(
    ("case", "path", "body", "key"), OVER_THE_LIMIT, ids=[case[0] for case in OVER_THE_LIMIT]
)
def test_a_count_over_max_top_k_is_refused_naming_the_field(
    base_url: str, case: str, path: str, body: dict[str, Any], key: str
) -> None:
    response = httpx.post(base_url + path, json=body, timeout=30)
    assert response.status_code == (400 if path == OPENAI else 422), response.text
    assert _field_at_fault(response) == key
    assert f"limit is {LIMIT}" in response.text


AT_THE_LIMIT: list[tuple[str, dict[str, Any], str]] = [
    ("/v1/search", {"query": QUESTION, "top_k": LIMIT, "max_per_doc": LIMIT}, "results"),
    ("/v1/search", {"query": QUESTION}, "results"),  # the default count (5) is lowered to the limit
    ("/v1/context", {"query": QUESTION, "max_tokens": 5000, **KEEP_ALL}, "citations"),
    ("/retrieval", {**DIFY, "retrieval_setting": {"top_k": LIMIT, "score_threshold": 0.01}}, "records"),
    (OPENAI, {"query": QUESTION, "ranking_options": {"score_threshold": 0.0}}, "data"),
]


@pytest.mark.parametrize(("path", "body", "items"), AT_THE_LIMIT)
def test_answers_hold_at_most_max_top_k_passages(
    base_url: str, path: str, body: dict[str, Any], items: str
) -> None:
    response = httpx.post(base_url + path, json=body, timeout=30)
    assert response.status_code == 200, response.text
    found = response.json()[items]
    if items == "citations":  # a context merges neighbouring chunks: count the chunks
        found = [chunk for citation in found for chunk in citation["chunk_ids"]]
    assert len(found) == LIMIT  # the corpus has many more matching passages


def test_mcp_search_returns_at_most_max_top_k_results(base_url: str) -> None:
    async def call() -> Any:
        from mcp import Client

        async with Client(f"{base_url}/mcp", read_timeout_seconds=60) as client:
            return await client.call_tool("search", {"query": QUESTION})

    found = anyio.run(call)
    assert not found.is_error, found.content
    assert len(found.structured_content["results"]) == LIMIT


WRONG_TYPES: list[tuple[str, dict[str, Any], int, str]] = [
    ("/v1/search", {"query": QUESTION, "top_k": "2"}, 422, "top_k"),
    ("/v1/context", {"query": QUESTION, "max_tokens": 500.0}, 422, "max_tokens"),
    ("/retrieval", {**DIFY, "retrieval_setting": {"top_k": "2"}}, 422, "retrieval_setting.top_k"),
    (
        "/retrieval",
        {**DIFY, "retrieval_setting": {"top_k": 2, "score_threshold": "0.5"}},
        422,
        "retrieval_setting.score_threshold",
    ),
    (OPENAI, {"query": QUESTION, "max_num_results": "2"}, 400, "max_num_results"),
    (OPENAI, {"query": QUESTION, "rewrite_query": "yes"}, 400, "rewrite_query"),
    (OPENAI, {"max_num_results": 2}, 400, "query"),
]


@pytest.mark.parametrize(("path", "body", "status", "key"), WRONG_TYPES)
def test_a_value_of_the_wrong_type_is_refused_naming_the_field(
    base_url: str, path: str, body: dict[str, Any], status: int, key: str
) -> None:
    """Litestar alone would convert ``"2"`` to 2; every JSON endpoint decodes strictly instead."""
    response = httpx.post(base_url + path, json=body, timeout=30)
    assert response.status_code == status, response.text
    assert _field_at_fault(response) == key


def test_unknown_fields_are_ignored_only_where_documented(base_url: str) -> None:
    """OpenAI's and Dify's bodies ignore unknown fields (newer clients may send more); ours refuse them."""
    extra = {"not_a_field": 1}
    dify = httpx.post(f"{base_url}/retrieval", json={**DIFY, "retrieval_setting": {"top_k": 1}, **extra})
    openai = httpx.post(base_url + OPENAI, json={"query": QUESTION, **extra})
    search = httpx.post(f"{base_url}/v1/search", json={"query": QUESTION, **extra})
    assert (dify.status_code, openai.status_code, search.status_code) == (200, 200, 422)
