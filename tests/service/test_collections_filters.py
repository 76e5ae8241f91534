"""Filters across collections over real HTTP: a field only some of the searched collections have is no
error; in the others a comparison on it means what it means for a document without the field (``ne``
and ``nin`` match, the rest do not), exactly as for a document of the same collection that lacks it; a
field none of the searched collections has is a 422 naming it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from indexer.embedding import Embedder
from service.app import create_app
from tests.service.helpers import build_collection, with_collections
from tests.service.server import serve

CORPORA = {
    "default": {
        "lighthouse.md": "---\nteam: harbour\n---\nThe lighthouse keeper watches the bees and the fog.\n",
        "fog.txt": "Fog rolls over the lighthouse and the bees stay in the hive.",
    },
    "papers": {"bees.txt": "Honey bees dance near the lighthouse in the fog."},
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    settings = with_collections(
        tmp_path_factory.mktemp("filters"), ("default", "papers"), reload_poll_seconds=0
    )
    for name, documents in CORPORA.items():
        build_collection(settings, name, embedder, documents)
    with serve(create_app(settings, embedder=embedder)) as base:
        yield base


def found(
    site: str, filters: dict[str, Any], collections: list[str], path: str = "/v1/search"
) -> httpx.Response:
    body = {"query": "lighthouse bees fog", "top_k": 10, "filters": filters, "collections": collections}
    if path == "/v1/context":
        body |= {"min_score": 0, "max_tokens": 2000}
    return httpx.post(site + path, json=body, timeout=30)


def docs(response: httpx.Response) -> set[tuple[str, str]]:
    assert response.status_code == 200, response.text
    return {(r["citation"]["collection"], r["citation"]["doc_id"]) for r in response.json()["results"]}


TEAM = {"type": "eq", "key": "team", "value": "harbour"}


def test_a_positive_comparison_on_a_field_a_collection_lacks_matches_nothing_there(site: str) -> None:
    assert docs(found(site, TEAM, ["*"])) == {("default", "lighthouse.md")}
    assert docs(found(site, {"type": "in", "key": "team", "value": ["harbour"]}, ["papers", "default"])) == {
        ("default", "lighthouse.md")
    }


def test_a_negative_comparison_matches_the_documents_without_the_field_in_every_collection(site: str) -> None:
    expected = {("default", "fog.txt"), ("papers", "bees.txt")}
    assert docs(found(site, {"type": "ne", "key": "team", "value": "harbour"}, ["*"])) == expected
    assert docs(found(site, {"type": "nin", "key": "team", "value": ["harbour"]}, ["*"])) == expected


def test_compounds_combine_the_fields_each_collection_has(site: str) -> None:
    either = {"type": "or", "filters": [TEAM, {"type": "eq", "key": "doc_id", "value": "bees.txt"}]}
    assert docs(found(site, either, ["*"])) == {("default", "lighthouse.md"), ("papers", "bees.txt")}
    both = {"type": "and", "filters": [TEAM, {"type": "eq", "key": "format", "value": "markdown"}]}
    assert docs(found(site, both, ["*"])) == {("default", "lighthouse.md")}
    context = found(site, either, ["*"], "/v1/context")
    assert context.status_code == 200, context.text
    assert {c["doc_id"] for c in context.json()["citations"]} == {"lighthouse.md", "bees.txt"}


@pytest.mark.parametrize(
    ("filters", "collections", "named"),
    [
        ({"type": "eq", "key": "nope", "value": "x"}, ["*"], "nope"),
        (TEAM, ["papers"], "team"),  # only searched collections count
        ({"type": "and", "filters": [TEAM, {"type": "eq", "key": "nope", "value": 1}]}, ["*"], "nope"),
        ({"type": "eq", "key": "team", "value": 3}, ["*"], "string"),  # a wrong type where it is known
    ],
)
def test_a_field_no_searched_collection_has_is_422_naming_it(
    site: str, filters: dict[str, Any], collections: list[str], named: str
) -> None:
    refused = found(site, filters, collections)
    assert refused.status_code == 422, refused.text
    assert named in refused.json()["detail"]
