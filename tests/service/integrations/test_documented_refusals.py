"""Every refusal a chatbot endpoint answers is in the OpenAPI schema, with the body it really sends
(Dify's and OpenAI's error shapes, or problem details), so generated clients and the fuzz test can
rely on it. The fuzz test rarely sends a wrong content type or an oversized body: these are provoked
here."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from tests.service.conftest import KEY

Client = TestClient  # type: ignore[type-arg]
AUTH = {"Authorization": f"Bearer {KEY}"}
HUGE = b'{"query": "' + b"a" * 70_000 + b'"}'
JSON = {"content-type": "application/json"}
DIFY = "/retrieval"
OPENAI = "/v1/vector_stores/vs_citesearch/search"
CONTEXT = "/v1/context"
DIFY_BODY = {"knowledge_id": "citesearch", "query": "bread", "retrieval_setting": {"top_k": 2}}

REFUSALS: list[tuple[str, str, dict[str, Any], int]] = [
    ("dify no key", DIFY, {"json": DIFY_BODY}, 401),
    ("dify unknown knowledge", DIFY, {"json": {**DIFY_BODY, "knowledge_id": "x"}, "headers": AUTH}, 404),
    ("dify empty body", DIFY, {"content": b"", "headers": {**AUTH, **JSON}}, 400),
    ("dify too large", DIFY, {"content": HUGE, "headers": {**AUTH, **JSON}}, 413),
    ("dify not json", DIFY, {"content": b"x", "headers": {**AUTH, "content-type": "text/plain"}}, 415),
    ("dify invalid", DIFY, {"json": {"query": "bread"}, "headers": AUTH}, 422),
    ("openai no key", OPENAI, {"json": {"query": "bread"}}, 401),
    ("openai unknown store", "/v1/vector_stores/vs_x/search", {"json": {"query": "x"}, "headers": AUTH}, 404),
    ("openai invalid", OPENAI, {"json": {"query": 5}, "headers": AUTH}, 400),
    ("openai too large", OPENAI, {"content": HUGE, "headers": {**AUTH, **JSON}}, 413),
    ("openai not json", OPENAI, {"content": b"x", "headers": {**AUTH, "content-type": "text/plain"}}, 415),
    ("context no key", CONTEXT, {"json": {"query": "bread"}}, 401),
    ("context too large", CONTEXT, {"content": HUGE, "headers": {**AUTH, **JSON}}, 413),
    ("context not json", CONTEXT, {"content": b"x", "headers": {**AUTH, "content-type": "text/plain"}}, 415),
    ("context invalid", CONTEXT, {"json": {"query": ""}, "headers": AUTH}, 422),
]


def _declared(schema: dict[str, Any], path: str, status: int) -> tuple[str, dict[str, Any]]:
    """The media type and body schema ``path`` declares for ``status`` (its ``$ref`` resolved)."""
    template = "/v1/vector_stores/{vector_store_id}/search" if path.startswith("/v1/vector_stores/") else path
    responses = schema["paths"][template]["post"]["responses"]
    assert str(status) in responses, f"{status} is not declared on {template}"
    [(media_type, content)] = responses[str(status)]["content"].items()
    body = content["schema"]
    if "$ref" in body:
        body = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    return media_type, body


@pytest.mark.parametrize(("case", "path", "request_args", "status"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refusals_are_declared_with_the_body_sent(
    keyed: Client, case: str, path: str, request_args: dict[str, Any], status: int
) -> None:
    schema = keyed.get("/schema/openapi.json").json()
    response = keyed.post(path, **request_args)
    assert response.status_code == status, response.text
    media_type, body_schema = _declared(schema, path, status)
    assert response.headers["content-type"].split(";")[0] == media_type
    body = response.json()
    assert set(body_schema["required"]) <= set(body) <= set(body_schema["properties"]), (body, body_schema)


@pytest.mark.parametrize("path", [DIFY, OPENAI, CONTEXT])
def test_the_schema_says_a_key_may_be_needed(keyed: Client, path: str) -> None:
    template = "/v1/vector_stores/{vector_store_id}/search" if path == OPENAI else path
    operation = keyed.get("/schema/openapi.json").json()["paths"][template]["post"]
    assert {"bearerAuth": []} in operation["security"]
