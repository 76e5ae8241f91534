"""Dify's External Knowledge API (``POST /retrieval``) through the test client."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

Client = TestClient  # type: ignore[type-arg]
QUESTION = "What did the Secretary General call the war against Ukraine an example of?"


def retrieve(client: Client, **body: Any) -> Any:
    body = {"knowledge_id": "citesearch", "retrieval_setting": {"top_k": 3, "score_threshold": 0.001}, **body}
    response = client.post("/retrieval", json=body, headers={"Authorization": "Bearer any"})
    assert response.status_code == 200, response.text
    return response.json()


def test_records_carry_content_score_title_and_metadata(client: Client) -> None:
    records = retrieve(client, query=QUESTION)["records"]
    assert len(records) == 3
    first = records[0]
    assert set(first) == {"content", "score", "title", "metadata"}
    assert "The war against Ukraine is but one example of this" in first["content"]
    assert first["title"].startswith("NATO Secretary General Mark Rutte")
    metadata = first["metadata"]
    assert metadata["doc_id"] == "000_9d8dce6cf410ff07.txt" and metadata["date"] == "2025-04-04"
    assert metadata["url"].endswith(f"?start={metadata['char_start']}&end={metadata['char_end']}")
    assert all(isinstance(r["metadata"], dict) for r in records)
    scores = [r["score"] for r in records]
    assert scores == sorted(scores, reverse=True)


def test_score_threshold_and_no_hits(client: Client) -> None:
    assert retrieve(client, query=QUESTION, retrieval_setting={"top_k": 5, "score_threshold": 1.0}) == {
        "records": []
    }
    records = retrieve(client, query="bread", retrieval_setting={"top_k": 50, "score_threshold": 0.5})[
        "records"
    ]
    assert records and all(r["score"] >= 0.5 for r in records)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (
            {"conditions": [{"name": ["doc_id"], "comparison_operator": "is", "value": "notes/cooking.md"}]},
            {"notes/cooking.md"},
        ),
        (
            {"conditions": [{"name": "title", "comparison_operator": "contains", "value": "bread"}]},
            {"notes/cooking.md"},
        ),
        (
            {"conditions": [{"name": ["date"], "comparison_operator": "after", "value": "2025-01-01"}]},
            {"000_9d8dce6cf410ff07.txt"},
        ),
        (
            {"conditions": [{"name": ["date"], "comparison_operator": "empty"}]},
            {"notes/cooking.md", "notes/astronomy.txt"},
        ),
        (
            {
                "logical_operator": "or",
                "conditions": [
                    {"name": ["source"], "comparison_operator": "end with", "value": ".md"},
                    {"name": ["line_start"], "comparison_operator": ">", "value": 100},
                ],
            },
            {"notes/cooking.md"},
        ),
    ],
)
def test_metadata_condition_filters(client: Client, condition: Any, expected: set[str]) -> None:
    body = retrieve(
        client,
        query="bread tides NATO",
        retrieval_setting={"top_k": 50, "score_threshold": 0.001},
        metadata_condition=condition,
    )
    assert {r["metadata"]["doc_id"] for r in body["records"]} == expected


def test_unknown_knowledge_id_is_error_2001(client: Client) -> None:
    response = client.post(
        "/retrieval",
        json={
            "knowledge_id": "nope",
            "query": QUESTION,
            "retrieval_setting": {"top_k": 3, "score_threshold": 0.001},
        },
    )
    assert response.status_code == 404
    assert response.json() == {"error_code": 2001, "error_msg": "The knowledge does not exist."}


@pytest.mark.parametrize(
    "body",
    [
        {"knowledge_id": "citesearch", "query": QUESTION},
        {"knowledge_id": "citesearch", "query": " ", "retrieval_setting": {"top_k": 3}},
        {"knowledge_id": "citesearch", "query": QUESTION, "retrieval_setting": {"top_k": 0}},
        {
            "knowledge_id": "citesearch",
            "query": QUESTION,
            "retrieval_setting": {"top_k": 3, "score_threshold": 2},
        },
        {
            "knowledge_id": "citesearch",
            "query": QUESTION,
            "retrieval_setting": {"top_k": 3},
            "metadata_condition": {
                "conditions": [{"name": ["doc_id"], "comparison_operator": "like", "value": "x"}]
            },
        },
    ],
)
def test_bad_input_is_422(client: Client, body: Any) -> None:
    response = client.post("/retrieval", json=body)
    assert response.status_code == 422, response.text
