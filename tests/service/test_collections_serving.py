"""Several collections served by one service: each its own snapshot and hot swap, one model; ``/ready``
lists each one's state (to the keys that may search it) and stays 200 while any collection answers;
``/metrics`` counts each collection under its ``collection`` label."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
from litestar.testing import TestClient

from indexer.embedding import Embedder
from service.app import create_app
from service.runtime.collections import Collections
from service.settings import AppSettings, AuthSettings, KeySettings
from tests.service.helpers import build_collection, with_collections
from tests.service.server import serve

Client = TestClient  # type: ignore[type-arg]
CORPORA = {
    "default": {"lighthouse.txt": "The old lighthouse on the rocky coast guides ships through the fog."},
    "papers": {"bees.txt": "Honey bees dance to tell the hive where the flowers are."},
    "private": {"salary.txt": "The salary table for next year is confidential."},
}
TEAM_KEY = "team-key-0123456789abcdef"


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[tuple[Client, AppSettings]]:
    settings = with_collections(tmp_path_factory.mktemp("collections"), reload_poll_seconds=0)
    for name in ("default", "papers"):  # private is configured but never built
        build_collection(settings, name, embedder, CORPORA[name])
    with TestClient(app=create_app(settings, embedder=embedder)) as client:
        yield client, settings


def test_each_collection_serves_its_own_snapshot_with_one_engine(served: tuple[Client, AppSettings]) -> None:
    client, _ = served
    collections: Collections = client.app.state.collections
    assert collections.names == ("default", "papers", "private")
    default, papers = collections.holders["default"].current, collections.holders["papers"].current
    assert default is not None and papers is not None and default.engine is papers.engine
    assert [d.doc_id for d in papers.snapshot.store.iter_documents()] == ["bees.txt"]
    assert collections.holders["private"].current is None


def test_ready_is_200_while_a_collection_answers_and_lists_each(served: tuple[Client, AppSettings]) -> None:
    client, _ = served
    response = client.get("/ready")
    assert response.status_code == 200
    states = {state["name"]: state for state in response.json()["collections"]}
    assert list(states) == ["default", "papers", "private"]
    assert states["papers"]["status"] == "ready" and states["papers"]["documents"] == 1
    assert states["private"]["status"] == "unavailable" and states["private"]["snapshot_id"] is None
    assert "no index snapshot" in states["private"]["detail"]


def test_metrics_count_each_collection(served: tuple[Client, AppSettings]) -> None:
    client, _ = served
    text = client.get("/metrics").text
    assert 'citesearch_collection_ready{collection="papers"} 1.0' in text
    assert 'citesearch_collection_ready{collection="private"} 0.0' in text
    assert 'citesearch_collection_documents{collection="default"} 1.0' in text
    assert "citesearch_documents 1.0" in text  # the default collection, unlabelled as before


def test_ready_lists_only_the_collections_a_key_may_search(tmp_path: Path, embedder: Embedder) -> None:
    settings = with_collections(tmp_path, reload_poll_seconds=0)
    build_collection(settings, "papers", embedder, CORPORA["papers"])
    key = KeySettings(name="team", key=TEAM_KEY, collections={"papers": ("search",)})
    settings = msgspec.structs.replace(settings, auth=AuthSettings(keys=(key,)))
    with TestClient(app=create_app(settings, embedder=embedder)) as client:
        anonymous = client.get("/ready")
        assert anonymous.status_code == 200 and anonymous.json()["collections"] == []
        keyed = client.get("/ready", headers={"authorization": f"Bearer {TEAM_KEY}"}).json()
        assert [state["name"] for state in keyed["collections"]] == ["papers"]


def test_no_collection_built_is_not_ready(tmp_path: Path, embedder: Embedder) -> None:
    settings = with_collections(tmp_path, ("default", "papers"), reload_poll_seconds=0)
    with TestClient(app=create_app(settings, embedder=embedder)) as client:
        assert client.get("/ready").status_code == 503


def test_a_rebuild_swaps_only_its_collection(tmp_path: Path, embedder: Embedder) -> None:
    settings = with_collections(tmp_path, ("default", "papers"), reload_poll_seconds=0)
    first = {
        name: build_collection(settings, name, embedder, CORPORA[name]) for name in ("default", "papers")
    }
    with TestClient(app=create_app(settings, embedder=embedder)) as client:
        collections: Collections = client.app.state.collections
        served_default = collections.holders["default"].current
        second = build_collection(settings, "papers", embedder, {"ants.txt": "Ants follow pheromone trails."})
        collections.reload()
        assert collections.holders["default"].current is served_default
        papers = collections.holders["papers"].current
        assert papers is not None and papers.snapshot_id == second != first["papers"]
        assert collections.holders["papers"].loads == 2 and collections.holders["default"].loads == 1


def test_a_rebuild_under_load_leaves_the_other_collections_serving(
    tmp_path: Path, embedder: Embedder
) -> None:
    """Clients search the default collection over real HTTP while papers is rebuilt twice and picked
    up by polling: none of their requests fails and the default's snapshot never changes."""
    settings = with_collections(tmp_path, ("default", "papers"), reload_poll_seconds=0.05)
    served = build_collection(settings, "default", embedder, CORPORA["default"])
    build_collection(settings, "papers", embedder, CORPORA["papers"])
    stop = threading.Event()
    seen: list[str] = []
    failures: list[str] = []

    def client(base: str) -> None:
        with httpx.Client(base_url=base, timeout=30) as http:
            while not stop.is_set() and len(seen) < 2000:
                response = http.post("/v1/search", json={"query": "lighthouse", "collections": ["default"]})
                if response.status_code != 200:
                    failures.append(response.text)
                else:
                    seen.append(response.json()["snapshot_id"])

    with serve(create_app(settings, embedder=embedder)) as base:
        threads = [threading.Thread(target=client, args=(base,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        try:
            for text in ("Ants follow pheromone trails.", "Wasps build paper nests."):
                rebuilt = build_collection(settings, "papers", embedder, {"insects.txt": text})
                deadline = time.monotonic() + 20
                while httpx.get(f"{base}/v1/collections/papers", timeout=10).json()["snapshot_id"] != rebuilt:
                    assert time.monotonic() < deadline, "the rebuilt collection was not picked up"
                    time.sleep(0.05)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
    assert not failures, failures[:3]
    assert seen and set(seen) == {served}


def test_a_search_over_many_collections_is_charged_for_each_but_runs_among_ordinary_ones(
    tmp_path: Path, embedder: Embedder
) -> None:
    names = ("default", "c1", "c2", "c3", "c4")
    settings = with_collections(tmp_path, names, reload_poll_seconds=0, rate_limit=6)
    for name in names:
        build_collection(
            settings, name, embedder, {f"{name}.txt": f"Honey bees of {name} visit the lighthouse."}
        )
    with TestClient(app=create_app(settings, embedder=embedder)) as client:
        body = {"query": "honey bees", "collections": ["*"], "top_k": 10}
        answer = client.post("/v1/search", json=body)
        assert answer.status_code == 200, answer.text
        assert {r["citation"]["collection"] for r in answer.json()["results"]} == set(names)
        # Five plain searches, not one expensive one: the pool of expensive work was not used (it
        # would now rest as long as the search took) ...
        assert client.app.state.work.expensive.rest_until == 0.0
        # ... but the rate limiter charged a unit per collection: 5 of the 6 allowed this minute.
        assert client.post("/v1/search", json={"query": "honey bees"}).status_code == 200
        refused = client.post("/v1/search", json={"query": "honey bees"})
        assert refused.status_code == 429, refused.text
