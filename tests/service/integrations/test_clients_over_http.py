"""The real clients chatbots use, against ``python -m service`` over HTTP on 127.0.0.1."""

from __future__ import annotations

import pytest

from tests.conftest import Server

QUESTION = "What did the Secretary General call the war against Ukraine an example of?"


def test_openai_client_searches_our_vector_store(server: Server) -> None:
    from openai import NotFoundError, OpenAI

    client = OpenAI(base_url=f"{server.base_url}/v1", api_key="unused", max_retries=0, timeout=30)
    page = client.vector_stores.search(
        "vs_citesearch",
        query=QUESTION,
        max_num_results=3,
        filters={"type": "eq", "key": "date", "value": "2025-04-04"},
        ranking_options={"score_threshold": 0.1},
    )
    results = list(page)
    assert 1 <= len(results) <= 3
    assert results[0].file_id == "000_9d8dce6cf410ff07.txt"
    assert "The war against Ukraine is but one example of this" in results[0].content[0].text
    assert results[0].attributes is not None and results[0].attributes["date"] == "2025-04-04"
    with pytest.raises(NotFoundError, match="vs_missing"):
        client.vector_stores.search("vs_missing", query=QUESTION)
