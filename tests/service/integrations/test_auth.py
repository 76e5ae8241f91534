"""With API keys configured, the chatbot endpoints need one, and answer refusals in their clients' shapes."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from tests.service.conftest import KEY

Client = TestClient  # type: ignore[type-arg]
DIFY_BODY = {
    "knowledge_id": "citesearch",
    "query": "bread",
    "retrieval_setting": {"top_k": 2, "score_threshold": 0},
}


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, 1001),
        ({"Authorization": f"Basic {KEY}"}, 1001),
        ({"Authorization": "Bearer"}, 1001),
        ({"Authorization": "Bearer not-the-right-key-000"}, 1002),
    ],
)
def test_dify_refusals_carry_difys_error_codes(keyed: Client, headers: dict[str, str], code: int) -> None:
    response = keyed.post("/retrieval", json=DIFY_BODY, headers=headers)
    assert response.status_code == 401  # the README promises 401 for a missing or wrong key
    body = response.json()
    assert body["error_code"] == code and body["error_msg"]


def test_dify_with_the_key(keyed: Client) -> None:
    response = keyed.post("/retrieval", json=DIFY_BODY, headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == 200 and response.json()["records"]
    unknown = keyed.post(
        "/retrieval", json={**DIFY_BODY, "knowledge_id": "x"}, headers={"Authorization": f"Bearer {KEY}"}
    )
    assert unknown.status_code == 404 and unknown.json()["error_code"] == 2001


def test_vector_store_refusal_is_openais_invalid_api_key(keyed: Client) -> None:
    url = "/v1/vector_stores/vs_citesearch/search"
    response = keyed.post(
        url, json={"query": "bread"}, headers={"Authorization": "Bearer wrong-key-wrong-key"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert response.headers["www-authenticate"].startswith("Bearer")
    ok = keyed.post(url, json={"query": "bread"}, headers={"Authorization": f"Bearer {KEY}"})
    assert ok.status_code == 200 and ok.json()["data"]


def test_context_needs_the_key(keyed: Client) -> None:
    body = {"query": "bread", "max_tokens": 100}
    assert keyed.post("/v1/context", json=body).status_code == 401
    assert keyed.post("/v1/context", json=body, headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
