"""OpenAI-compatible vector store search through the test client: shapes, filters, errors."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

Client = TestClient  # type: ignore[type-arg]
URL = "/v1/vector_stores/vs_citesearch/search"
QUESTION = "What did the Secretary General call the war against Ukraine an example of?"


ALL = {"score_threshold": 0.0}
"""Ranking options that keep every result (the default threshold drops weak ones)."""


def search(client: Client, **body: Any) -> Any:
    response = client.post(URL, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_page_has_openai_fields_and_our_passages(client: Client) -> None:
    page = search(client, query=QUESTION, max_num_results=3, ranking_options=ALL)
    assert page["object"] == "vector_store.search_results.page"
    assert page["search_query"] == [QUESTION]
    assert page["has_more"] is False and page["next_page"] is None
    assert len(page["data"]) == 3
    first = page["data"][0]
    assert set(first) == {"file_id", "filename", "score", "attributes", "content"}
    assert first["file_id"] == "000_9d8dce6cf410ff07.txt"
    assert first["content"][0]["type"] == "text"
    assert "The war against Ukraine is but one example of this" in first["content"][0]["text"]
    attributes = first["attributes"]
    assert len(attributes) <= 16
    assert attributes["date"] == "2025-04-04" and attributes["doc_id"] == first["file_id"]
    document = client.get(f"/v1/documents/{first['file_id']}").json()
    assert document["text"][attributes["char_start"] : attributes["char_end"]] == first["content"][0]["text"]
    scores = [r["score"] for r in page["data"]]
    assert scores == sorted(scores, reverse=True)


def test_max_num_results_defaults_to_ten(client: Client) -> None:
    chunks = len(search(client, query="the", max_num_results=50, ranking_options=ALL)["data"])
    assert len(search(client, query="the", ranking_options=ALL)["data"]) == min(10, chunks)
    assert len(search(client, query="the", max_num_results=2, ranking_options=ALL)["data"]) == 2


@pytest.mark.parametrize(
    ("filters", "expected_docs"),
    [
        ({"type": "eq", "key": "doc_id", "value": "notes/cooking.md"}, {"notes/cooking.md"}),
        (
            {"type": "ne", "key": "doc_id", "value": "000_9d8dce6cf410ff07.txt"},
            {"notes/cooking.md", "notes/astronomy.txt"},
        ),
        ({"type": "in", "key": "doc_id", "value": ["notes/astronomy.txt", "nope"]}, {"notes/astronomy.txt"}),
        ({"type": "gte", "key": "date", "value": "2025-01-01"}, {"000_9d8dce6cf410ff07.txt"}),
        ({"type": "lt", "key": "date", "value": "2025-01-01"}, set()),
        (
            {
                "type": "or",
                "filters": [
                    {"type": "eq", "key": "title", "value": "Bread baking"},
                    {
                        "type": "and",
                        "filters": [
                            {"type": "eq", "key": "line_start", "value": 1},
                            {"type": "eq", "key": "doc_id", "value": "notes/astronomy.txt"},
                        ],
                    },
                ],
            },
            {"notes/cooking.md", "notes/astronomy.txt"},
        ),
    ],
)
def test_filters_select_on_attributes(client: Client, filters: Any, expected_docs: set[str]) -> None:
    page = search(client, query="bread tides NATO", max_num_results=50, filters=filters, ranking_options=ALL)
    assert {r["file_id"] for r in page["data"]} == expected_docs


def test_score_threshold_and_several_queries(client: Client) -> None:
    everything = search(client, query=QUESTION, max_num_results=50, ranking_options=ALL)["data"]
    cut = everything[len(everything) // 2]["score"]
    above = search(client, query=QUESTION, max_num_results=50, ranking_options={"score_threshold": cut})[
        "data"
    ]
    assert above and all(r["score"] >= cut for r in above) and len(above) < len(everything)
    both = search(client, query=["bread dough", "ocean tides"], max_num_results=2)
    assert both["search_query"] == ["bread dough", "ocean tides"]
    assert {r["file_id"] for r in both["data"]} == {"notes/cooking.md", "notes/astronomy.txt"}


def test_unknown_vector_store_is_404_in_openai_shape(client: Client) -> None:
    response = client.post("/v1/vector_stores/vs_other/search", json={"query": "x"})
    assert response.status_code == 404
    error = response.json()["error"]
    assert "vs_other" in error["message"] and error["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"query": "x", "max_num_results": 51}, None),
        ({"query": "x", "max_num_results": 0}, None),
        ({"query": "   "}, "query"),
        ({"query": []}, "query"),
        ({"query": "x", "filters": {"type": "eq", "key": "doc_id"}}, "filters"),
        ({"query": "x", "filters": {"type": "like", "key": "doc_id", "value": "x"}}, "filters"),
        ({"query": "x", "ranking_options": {"score_threshold": 2}}, None),
    ],
)
def test_bad_input_is_400_in_openai_shape(client: Client, body: Any, param: str | None) -> None:
    response = client.post(URL, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"]
    if param:
        assert error["param"] == param
