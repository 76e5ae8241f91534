"""Scores that mean something, over HTTP: an index of the NATO seed article alone, asked a question
it cannot answer ("How long should bread dough rise?") and one it can. The chatbot endpoints answer
the first with nothing (the default threshold, ``retrieval.min_score``), ``/v1/search`` with low
scores and their parts; ``min_score`` filters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from indexer.build import Builder
from indexer.embedding import Embedder
from service.app import create_app
from service.settings import AppSettings
from tests.conftest import copy_seeds, make_settings

Client = TestClient  # type: ignore[type-arg]
OFF_TOPIC = "How long should bread dough rise?"
ON_TOPIC = "What did the Secretary General call the war against Ukraine an example of?"
ANSWER = "The war against Ukraine is but one example of this"


@pytest.fixture(scope="module")
def nato(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Client]:
    root = tmp_path_factory.mktemp("nato")
    copy_seeds(root / "seeds")
    settings: AppSettings = make_settings(root)
    Builder(settings, lambda: embedder).build()
    with TestClient(app=create_app(settings, embedder=embedder)) as client:
        yield client


def post(client: Client, path: str, body: dict[str, Any], status: int = 200) -> Any:
    response = client.post(path, json=body, headers={"Authorization": "Bearer any"})
    assert response.status_code == status, response.text
    return response.json()


def mcp_search(client: Client, query: str) -> list[dict[str, Any]]:
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "search", "arguments": {"query": query}},
    }
    headers = {"accept": "application/json, text/event-stream", "host": "127.0.0.1:8000"}
    response = client.post("/mcp", json=call, headers=headers)
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert not result.get("isError"), result
    found: list[dict[str, Any]] = result["structuredContent"]["results"]
    return found


def chatbot_answers(client: Client, query: str) -> dict[str, list[Any]]:
    """What each chatbot endpoint returns for ``query`` when the client sets no threshold."""
    return {
        "mcp": mcp_search(client, query),
        "openai": post(client, "/v1/vector_stores/vs_citesearch/search", {"query": query})["data"],
        "dify": post(
            client,
            "/retrieval",
            {"knowledge_id": "citesearch", "query": query, "retrieval_setting": {"top_k": 5}},
        )["records"],
        "context": post(client, "/v1/context", {"query": query, "max_tokens": 500})["citations"],
    }


def test_an_off_topic_question_gets_nothing_from_the_chatbot_endpoints(nato: Client) -> None:
    assert chatbot_answers(nato, OFF_TOPIC) == {"mcp": [], "openai": [], "dify": [], "context": []}
    assert post(nato, "/v1/context", {"query": OFF_TOPIC, "max_tokens": 500})["context"] == ""


def test_dify_with_its_threshold_switched_off_gets_the_default(nato: Client) -> None:
    """Dify sends ``score_threshold: 0.0`` when its threshold is off: the default applies then too."""
    body = {
        "knowledge_id": "citesearch",
        "query": OFF_TOPIC,
        "retrieval_setting": {"top_k": 5, "score_threshold": 0.0},
    }
    assert post(nato, "/retrieval", body)["records"] == []
    body["query"] = ON_TOPIC
    assert post(nato, "/retrieval", body)["records"]


def test_an_answerable_question_still_gets_its_answer(nato: Client) -> None:
    for endpoint, results in chatbot_answers(nato, ON_TOPIC).items():
        assert results, f"{endpoint} returned nothing for an answerable question"
    first = post(nato, "/v1/search", {"query": ON_TOPIC, "top_k": 1})["results"][0]
    assert ANSWER in first["text"] and first["score"] >= 0.2


def test_search_gives_low_calibrated_scores_with_their_parts(nato: Client) -> None:
    results = post(nato, "/v1/search", {"query": OFF_TOPIC, "top_k": 3})["results"]
    assert len(results) == 3  # /v1/search applies no default threshold
    for result in results:
        assert 0 <= result["score"] < 0.05
        assert set(result["scores"]) == {"dense", "lexical"}
        assert result["scores"]["dense"] < 0.2
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    dense = post(nato, "/v1/search", {"query": OFF_TOPIC, "top_k": 1, "mode": "dense"})["results"][0]
    assert dense["scores"]["lexical"] is None and dense["scores"]["dense"] is not None
    lexical = post(nato, "/v1/search", {"query": ON_TOPIC, "top_k": 1, "mode": "lexical"})["results"][0]
    assert lexical["scores"]["dense"] is None and lexical["scores"]["lexical"] > 0


def test_min_score_filters_search_and_context(nato: Client) -> None:
    everything = post(nato, "/v1/search", {"query": ON_TOPIC, "top_k": 10})["results"]
    cut = everything[1]["score"]
    kept = post(nato, "/v1/search", {"query": ON_TOPIC, "top_k": 10, "min_score": cut})["results"]
    assert kept and len(kept) < len(everything)
    assert all(r["score"] >= cut for r in kept) and kept == everything[: len(kept)]
    assert post(nato, "/v1/search", {"query": ON_TOPIC, "min_score": 1.0})["results"] == []
    context = post(nato, "/v1/context", {"query": OFF_TOPIC, "max_tokens": 500, "min_score": 0})
    assert context["citations"], "min_score 0 keeps everything"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/search", {"query": "x", "min_score": 1.5}),
        ("/v1/search", {"query": "x", "min_score": -0.1}),
        ("/v1/search", {"query": "x", "min_score": "high"}),
        ("/v1/context", {"query": "x", "max_tokens": 10, "min_score": 2}),
        (
            "/retrieval",
            {
                "knowledge_id": "citesearch",
                "query": "x",
                "retrieval_setting": {"top_k": 1, "score_threshold": 1.1},
            },
        ),
    ],
)
def test_a_threshold_outside_zero_one_is_refused(nato: Client, path: str, body: dict[str, Any]) -> None:
    response = nato.post(path, json=body, headers={"Authorization": "Bearer any"})
    assert response.status_code == 422, response.text


def test_client_thresholds_work_on_the_calibrated_score(nato: Client) -> None:
    dify = {
        "knowledge_id": "citesearch",
        "query": ON_TOPIC,
        "retrieval_setting": {"top_k": 10, "score_threshold": 0.9},
    }
    assert post(nato, "/retrieval", dify)["records"] == []
    dify["retrieval_setting"] = {"top_k": 10, "score_threshold": 0.001}
    assert len(post(nato, "/retrieval", dify)["records"]) > 1
    openai = {"query": ON_TOPIC, "max_num_results": 10, "ranking_options": {"score_threshold": 0.2}}
    data = post(nato, "/v1/vector_stores/vs_citesearch/search", openai)["data"]
    assert data and all(r["score"] >= 0.2 for r in data)
    assert ANSWER in data[0]["content"][0]["text"]


ANSWERED = [
    ON_TOPIC,
    "Who assured NATO of the US commitment?",
    "How much security assistance did allies pledge for Ukraine?",
    "Where was the press conference held?",
    "Which Indo-Pacific partners joined the meeting?",
    "What must Europe and Canada do about defence spending?",
    "Who reported on the situation on the ground in Ukraine?",
    "Which countries support Russia's war machine?",
    "Where is NATO's command for Ukraine support?",
    "What threats does NATO face?",
]
UNANSWERED = [
    OFF_TOPIC,
    "What is the boiling point of water at high altitude?",
    "How do I reset my router password?",
    "Who won the 2018 football World Cup?",
    "What is a good recipe for lasagna?",
    "How does photosynthesis work?",
    "What are the side effects of ibuprofen?",
    "How do I learn to play the guitar?",
    "What is the capital of Australia?",
    "How many moons does Jupiter have?",
]


def test_questions_the_article_answers_score_above_the_default_and_others_far_below(nato: Client) -> None:
    """Ten questions the NATO article answers and ten it does not (docs/retrieval-quality.md, "Scores"):
    the default threshold keeps the answers of most and the top passage of none of the others."""

    def top(query: str) -> float:
        score: float = post(nato, "/v1/search", {"query": query, "top_k": 1})["results"][0]["score"]
        return score

    answered = sorted(top(q) for q in ANSWERED)
    unanswered = sorted(top(q) for q in UNANSWERED)
    print(f"answered {[round(s, 4) for s in answered]}\nunanswered {[round(s, 4) for s in unanswered]}")
    assert max(unanswered) < 0.05
    assert sum(s >= 0.2 for s in answered) >= 8
