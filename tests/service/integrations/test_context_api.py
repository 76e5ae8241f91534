"""``POST /v1/context`` through the test client: budgets, numbering, merged citations, bad input."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from litestar.testing import TestClient

from indexer.reading.encodings import get_encoding

Client = TestClient  # type: ignore[type-arg]
QUESTION = "What did the Secretary General call the war against Ukraine an example of?"


def context(client: Client, **body: Any) -> Any:
    response = client.post("/v1/context", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def tokens(text: str) -> int:
    return len(get_encoding("cl100k_base").encode(text, disallowed_special=()))


@pytest.mark.parametrize("max_tokens", [60, 120, 400, 5000])
def test_context_never_exceeds_the_budget_and_cites_exact_spans(client: Client, max_tokens: int) -> None:
    body = context(client, query=QUESTION, max_tokens=max_tokens)
    assert body["used_tokens"] == tokens(body["context"]) <= max_tokens
    citations = body["citations"]
    assert citations, body
    assert [c["number"] for c in citations] == list(range(1, len(citations) + 1))
    numbers = [int(n) for n in re.findall(r"^\[(\d+)\] ", body["context"], flags=re.MULTILINE)]
    assert numbers == [c["number"] for c in citations]
    for citation in citations:
        assert f"[{citation['number']}] {citation['title']}" in body["context"]
        assert citation["text"] in body["context"]
        document = client.get(citation["url"])
        assert document.status_code == 200, citation["url"]
        text = document.json()["text"]
        assert text[citation["char_start"] : citation["char_end"]] == citation["text"]
        assert citation["line_start"] == text.count("\n", 0, citation["char_start"]) + 1
        assert citation["line_end"] == text.count("\n", 0, citation["char_end"] - 1) + 1
        assert citation["url"].endswith(f"?start={citation['char_start']}&end={citation['char_end']}")


def test_the_answer_comes_first_and_a_larger_budget_adds_passages(client: Client) -> None:
    small = context(client, query=QUESTION, max_tokens=400, top_k=10, min_score=0)
    large = context(client, query=QUESTION, max_tokens=20_000, top_k=10, min_score=0)
    assert "The war against Ukraine is but one example of this" in small["citations"][0]["text"]
    assert large["citations"][0]["chunk_ids"][0] == small["citations"][0]["chunk_ids"][0]
    assert large["used_tokens"] > small["used_tokens"]


def test_overlapping_and_adjacent_chunks_are_merged_not_repeated(client: Client) -> None:
    body = context(client, query="NATO allies defence spending Ukraine", max_tokens=100_000, top_k=40)
    citations = body["citations"]
    assert any(len(c["chunk_ids"]) > 1 for c in citations), "expected merged chunks"
    by_doc: dict[str, list[Any]] = {}
    for citation in citations:
        by_doc.setdefault(citation["doc_id"], []).append(citation)
    for spans in by_doc.values():
        spans.sort(key=lambda c: c["char_start"])
        for before, after in itertools.pairwise(spans):
            assert before["char_end"] < after["char_start"], "passages of one document overlap or touch"
    chunk_ids = [chunk for c in citations for chunk in c["chunk_ids"]]
    assert len(chunk_ids) == len(set(chunk_ids))
    # The text of each passage appears exactly once in the context.
    for citation in citations:
        assert body["context"].count(citation["text"]) == 1


def test_a_budget_smaller_than_the_best_passage_cuts_it(client: Client) -> None:
    best = context(client, query=QUESTION, max_tokens=5000, top_k=1)["citations"][0]
    header = f"[1] {best['title']} ({best['date']})\n"
    budget = tokens(header) + 15
    body = context(client, query=QUESTION, max_tokens=budget)
    assert len(body["citations"]) == 1
    citation = body["citations"][0]
    assert citation["truncated"] is True and citation["chunk_ids"] == best["chunk_ids"][:1]
    assert budget - 3 <= body["used_tokens"] <= budget
    assert best["text"].startswith(citation["text"]) and len(citation["text"]) < len(best["text"])
    assert body["context"] == header + citation["text"]


def test_a_budget_too_small_for_any_header_gives_an_empty_context(client: Client) -> None:
    body = context(client, query=QUESTION, max_tokens=3)
    assert body["citations"] == [] and body["context"] == "" and body["used_tokens"] == 0


def test_unknown_encoding_is_refused_naming_the_available_ones(client: Client) -> None:
    response = client.post(
        "/v1/context", json={"query": QUESTION, "max_tokens": 100, "encoding": "o200k_base"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    detail = response.json()["detail"]
    assert "o200k_base" in detail and "cl100k_base" in detail


@pytest.mark.parametrize(
    "body",
    [
        {"query": QUESTION},
        {"query": QUESTION, "max_tokens": 0},
        {"query": QUESTION, "max_tokens": "100"},
        {"query": "   ", "max_tokens": 100},
        {"query": QUESTION, "max_tokens": 100, "top_k": 101},
        {"query": QUESTION, "max_tokens": 100, "budget": 3},
        {"query": "x" * 2001, "max_tokens": 100},
    ],
)
def test_bad_input_is_422(client: Client, body: dict[str, Any]) -> None:
    response = client.post("/v1/context", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_nothing_found_is_an_empty_context(client: Client) -> None:
    body = context(client, query="xylophone", max_tokens=100, mode="lexical")
    assert body == {**body, "context": "", "citations": [], "used_tokens": 0}
