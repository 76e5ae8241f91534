"""Three collections and four keys over real HTTP: each door refuses with 404 what a key may not
search (exactly as a collection that does not exist) and serves what it may; ``["*"]`` merges the
key's collections by calibrated score, each citation exact against its collection's document."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest

from indexer.embedding import Embedder
from service.app import create_app
from service.settings import AuthSettings, KeySettings
from tests.service.helpers import build_collection, with_collections
from tests.service.server import serve

CORPORA = {
    "default": {
        "lighthouse.txt": "The old lighthouse on the rocky coast guides ships through the fog.",
        "garden.txt": "Bees visit the lighthouse keeper's garden of lavender every summer.",
    },
    "papers": {"bees.txt": "Honey bees dance to tell the hive where the flowers and nectar are."},
    "private": {"salary.txt": "Confidential: the beekeepers' salary table, bees and hives budget."},
}
API = "api-key-0123456789abcdef"  # auth.api_keys: every collection
TEAM = "team-key-0123456789abcdef"  # default and papers
PAPERS = "papers-key-0123456789abcdef"  # papers only
ADMIN = "admin-key-0123456789abcdef"
QUERY = "honey bees"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    settings = with_collections(tmp_path_factory.mktemp("access"), reload_poll_seconds=0)
    for name, documents in CORPORA.items():
        build_collection(settings, name, embedder, documents)
    keys = (
        KeySettings(name="team", key=TEAM, collections={"default": ("search",), "papers": ("search",)}),
        KeySettings(name="papers", key=PAPERS, collections={"papers": ("search",)}),
    )
    auth = AuthSettings(keys=keys, api_keys=(API,), admin_keys=(ADMIN,))
    settings = msgspec.structs.replace(settings, auth=auth)
    with serve(create_app(settings, embedder=embedder)) as base:
        yield base


def call(site: str, key: str, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"}
    return httpx.request(method, site + path, json=body, headers=headers, timeout=30)


def search(site: str, key: str, collections: list[str] | None, path: str = "/v1/search") -> httpx.Response:
    body: dict[str, Any] = {"query": QUERY, "top_k": 10}
    if path == "/v1/context":
        body |= {"max_tokens": 2000, "min_score": 0}
    if collections is not None:
        body["collections"] = collections
    return call(site, key, "POST", path, body)


def names(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["collections"]]


def test_each_key_lists_the_collections_it_may_search(site: str) -> None:
    assert names(call(site, API, "GET", "/v1/collections")) == ["default", "papers", "private"]
    assert names(call(site, TEAM, "GET", "/v1/collections")) == ["default", "papers"]
    assert names(call(site, PAPERS, "GET", "/v1/collections")) == ["papers"]
    papers = call(site, PAPERS, "GET", "/v1/collections/papers").json()
    assert papers["documents"] == 1 and papers["permissions"] == ["search"] and not papers["default"]
    assert papers["description"] == "The papers documents" and papers["formats"] == {"text": 1}
    admin = call(site, ADMIN, "GET", "/v1/collections/private").json()
    assert admin["permissions"] == ["search", "write"]


@pytest.mark.parametrize(
    ("key", "path"),
    [
        (TEAM, "/v1/collections/private"),
        (TEAM, "/v1/collections/private/documents/salary.txt"),
        (PAPERS, "/v1/collections/default"),
        (PAPERS, "/v1/documents/lighthouse.txt"),
        (PAPERS, "/v1/collections/default/documents/lighthouse.txt"),
    ],
)
def test_what_a_key_may_not_search_is_404_as_if_it_did_not_exist(site: str, key: str, path: str) -> None:
    refused = call(site, key, "GET", path)
    missing = call(site, API, "GET", path.replace("private", "nope").replace("default", "nope"))
    if path.startswith("/v1/documents/"):
        missing = call(site, API, "GET", "/v1/collections/nope")
    assert refused.status_code == missing.status_code == 404
    assert "salary" not in refused.text and "lighthouse" not in refused.text.replace(path, "")


@pytest.mark.parametrize("path", ["/v1/search", "/v1/context"])
def test_searching_a_collection_the_key_may_not_search_is_404(site: str, path: str) -> None:
    for key, collections in ((TEAM, ["private"]), (TEAM, ["papers", "private"]), (PAPERS, None)):
        refused = search(site, key, collections, path)
        assert refused.status_code == 404, refused.text
        assert "salary" not in refused.text and "bees" not in refused.text.lower()
        nope = search(site, API, ["nope"], path)
        assert nope.status_code == 404
        assert refused.json()["detail"].split("'")[0] == nope.json()["detail"].split("'")[0]


def _exact(site: str, key: str, citation: dict[str, Any], text: str) -> None:
    document = call(site, key, "GET", citation["url"].split("?")[0])
    assert document.status_code == 200, document.text
    assert document.json()["text"][citation["char_start"] : citation["char_end"]] == text


def test_every_collection_merges_by_score_within_the_keys_reach(site: str) -> None:
    response = search(site, TEAM, ["*"])
    assert response.status_code == 200, response.text
    body = response.json()
    results = body["results"]
    assert {r["citation"]["collection"] for r in results} == {"default", "papers"}
    assert set(body["snapshot_ids"]) == {"default", "papers"}
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True) and [r["rank"] for r in results] == list(
        range(1, len(results) + 1)
    )
    assert results[0]["citation"]["doc_id"] == "bees.txt"
    for result in results:
        citation = result["citation"]
        expected = (
            "/v1/documents/" if citation["collection"] == "default" else "/v1/collections/papers/documents/"
        )
        assert citation["url"].startswith(expected)
        _exact(site, TEAM, citation, result["text"])
    everything = search(site, API, ["*"]).json()["results"]
    assert "private" in {r["citation"]["collection"] for r in everything}


def test_results_across_collections_highlight_the_query_words(site: str) -> None:
    results = search(site, API, ["*"]).json()["results"]
    assert {r["citation"]["collection"] for r in results} == {"default", "papers", "private"}
    assert sum(bool(r["highlights"]) for r in results) >= 3
    for result in results:
        words = {result["text"][start:end].lower() for start, end in result["highlights"]}
        assert words == {"bees", "honey"} & set(result["text"].lower().replace(".", "").split()), words


def test_a_collection_search_serves_only_that_collection(site: str) -> None:
    results = search(site, PAPERS, ["papers"]).json()["results"]
    assert [r["citation"]["doc_id"] for r in results] == ["bees.txt"]
    _exact(site, PAPERS, results[0]["citation"], results[0]["text"])
    default = search(site, TEAM, None).json()["results"]  # no collections: the default one
    assert {r["citation"]["collection"] for r in default} == {"default"}


def test_context_across_collections_cites_each_in_its_collection(site: str) -> None:
    response = search(site, TEAM, ["default", "papers"], "/v1/context")
    assert response.status_code == 200, response.text
    citations = response.json()["citations"]
    assert {c["collection"] for c in citations} == {"default", "papers"}
    for citation in citations:
        _exact(site, TEAM, citation, citation["text"])


def vector_store(site: str, key: str, store: str) -> httpx.Response:
    return call(site, key, "POST", f"/v1/vector_stores/{store}/search", {"query": QUERY})


def dify(site: str, key: str, knowledge: str) -> httpx.Response:
    body = {
        "knowledge_id": knowledge,
        "query": QUERY,
        "retrieval_setting": {"top_k": 5, "score_threshold": 0},
    }
    return call(site, key, "POST", "/retrieval", body)


def test_openai_vector_store_id_is_a_collection(site: str) -> None:
    papers = vector_store(site, TEAM, "papers")
    assert papers.status_code == 200, papers.text
    assert [r["filename"] for r in papers.json()["data"]] == ["bees.txt"]
    assert papers.json()["data"][0]["attributes"]["collection"] == "papers"
    alias = vector_store(site, TEAM, "vs_citesearch").json()["data"]
    assert {r["attributes"]["collection"] for r in alias} == {"default"}
    for key, store in ((TEAM, "private"), (PAPERS, "vs_citesearch"), (PAPERS, "default"), (API, "nope")):
        refused = vector_store(site, key, store)
        assert refused.status_code == 404 and "salary" not in refused.text
        assert refused.json()["error"]["message"] == f"No vector store found with id {store!r}."


def test_dify_knowledge_id_is_a_collection(site: str) -> None:
    papers = dify(site, PAPERS, "papers")
    assert papers.status_code == 200, papers.text
    assert [r["metadata"]["doc_id"] for r in papers.json()["records"]] == ["bees.txt"]
    assert {r["metadata"]["collection"] for r in dify(site, TEAM, "citesearch").json()["records"]} == {
        "default"
    }
    for key, knowledge in ((TEAM, "private"), (PAPERS, "citesearch"), (API, "nope")):
        refused = dify(site, key, knowledge)
        assert refused.status_code == 404 and refused.json()["error_code"] == 2001


def mcp(site: str, key: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }
    headers = {"authorization": f"Bearer {key}", "accept": "application/json, text/event-stream"}
    response = httpx.post(f"{site}/mcp", json=body, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["result"]
    return result


def test_mcp_searches_and_fetches_within_the_keys_reach(site: str) -> None:
    found = mcp(site, TEAM, "search", {"query": QUERY, "collections": ["*"]})
    results = found["structuredContent"]["results"]
    ids = [r["id"] for r in results]
    assert "papers::bees.txt#0" in ids and not any(i.startswith("private::") for i in ids)
    fetched = mcp(site, TEAM, "fetch", {"id": "papers::bees.txt#0"})["structuredContent"]
    assert (
        fetched["metadata"]["doc_id"] == "bees.txt" and "/v1/collections/papers/documents/" in fetched["url"]
    )
    refused = mcp(site, TEAM, "search", {"query": QUERY, "collections": ["private"]})
    assert refused["isError"] and "salary" not in str(refused)
    hidden = mcp(site, TEAM, "fetch", {"id": "private::salary.txt#0"})
    assert hidden["isError"] and "Confidential" not in str(hidden)
    default = mcp(site, PAPERS, "search", {"query": QUERY})  # no collections: the default, not this key's
    assert default["isError"]


def test_admin_reloads_a_named_collection(site: str) -> None:
    reloaded = call(site, ADMIN, "POST", "/v1/admin/reload?collection=papers")
    assert reloaded.status_code == 200 and reloaded.json()["status"] == "unchanged"
    assert call(site, ADMIN, "POST", "/v1/admin/reload?collection=nope").status_code == 404
    assert call(site, TEAM, "POST", "/v1/admin/reload?collection=papers").status_code == 403


def test_each_collection_describes_its_own_index(site: str) -> None:
    papers = call(site, TEAM, "GET", "/v1/collections/papers/index")
    assert papers.status_code == 200 and papers.json()["documents"] == 1
    team = call(site, TEAM, "GET", "/v1/index").json()
    assert team["documents"] == 2 and team["collection"] == "default" and team["default"]
    assert team["collections"] == ["default", "papers"]
    assert call(site, TEAM, "GET", "/v1/collections/private/index").status_code == 404


def test_the_index_of_a_key_without_the_default_is_its_own_collection(site: str) -> None:
    papers = call(site, PAPERS, "GET", "/v1/index")
    assert papers.status_code == 200, papers.text
    body = papers.json()
    assert body["collection"] == "papers" and body["collections"] == ["papers"] and not body["default"]
    assert body["documents"] == 1 and body["formats"] == {"text": 1}
    assert "lighthouse" not in papers.text and "salary" not in papers.text
    assert call(site, API, "GET", "/v1/index").json()["collections"] == ["default", "papers", "private"]
