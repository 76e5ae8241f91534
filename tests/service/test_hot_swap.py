"""Hot snapshot swaps: published snapshots are picked up, bad ones refused, in-flight requests unharmed."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from indexer.embedding import Embedder
from indexer.search import SearchEngine
from service.app import create_app
from service.runtime.hot_swap import Outcome, SnapshotHolder
from tests.service.helpers import FIRST, SECOND, build, corpus_settings, publish_copy

Client = TestClient  # type: ignore[type-arg]


def top_doc(client: Client, query: str) -> tuple[str, str]:
    response = client.post("/v1/search", json={"query": query, "top_k": 1, "mode": "lexical"})
    assert response.status_code == 200, response.text
    body = response.json()
    return (body["results"][0]["citation"]["doc_id"] if body["results"] else ""), body["snapshot_id"]


def wait_for(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def holder(client: Client) -> SnapshotHolder:
    snapshots: SnapshotHolder = client.app.state.snapshots
    return snapshots


def test_published_snapshot_is_picked_up_by_polling(tmp_path: Path, embedder: Embedder) -> None:
    settings = corpus_settings(tmp_path, reload_poll_seconds=0.1)
    first = build(settings, embedder, FIRST)
    with TestClient(app=create_app(settings, embedder=embedder)) as client:
        assert top_doc(client, "lighthouse") == ("lighthouse.txt", first)
        second = build(settings, embedder, SECOND)
        wait_for(lambda: client.get("/ready").json()["snapshot"]["snapshot_id"] == second)
        assert top_doc(client, "volcano lava") == ("volcano.txt", second)
        assert top_doc(client, "lighthouse") == ("", second)
        ready = client.get("/ready").json()
        assert ready["loads"] == 2 and ready["refusals"] == 0
        assert ready["snapshot"]["documents"] == 1 and ready["snapshot"]["age_seconds"] < 60


@pytest.mark.parametrize("damage", ["corrupt", "incomplete", "other-model"])
def test_bad_snapshot_is_refused_and_the_old_one_keeps_serving(
    tmp_path: Path, embedder: Embedder, damage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = corpus_settings(tmp_path, reload_poll_seconds=0.1)
    first = build(settings, embedder, FIRST)
    with TestClient(app=create_app(settings, embedder=embedder)) as client:
        publish_copy(settings, "00000000T000000000000Z-bad", damage)
        wait_for(lambda: client.get("/ready").json()["refusals"] == 1)
        ready = client.get("/ready")
        assert ready.status_code == 200
        body = ready.json()
        assert body["snapshot"]["snapshot_id"] == first
        refusal = body["last_refusal"]
        assert refusal["snapshot"] == "00000000T000000000000Z-bad"
        expected = {"corrupt": "sha256", "incomplete": "missing", "other-model": "all-mpnet-base-v2"}[damage]
        assert expected in refusal["reason"]
        assert str(tmp_path) not in refusal["reason"]
        assert top_doc(client, "lighthouse") == ("lighthouse.txt", first)
        # The refused snapshot is not retried on every poll: three polls later it was not opened again.
        snapshots, polls, opened = holder(client), [], []
        reload, open_snapshot = snapshots.reload, snapshots.engine.open

        def counted_reload(**options: Any) -> Any:
            result = reload(**options)
            polls.append(result.outcome)
            return result

        def counted_open(target: Path, *args: Any, **kwargs: Any) -> Any:
            opened.append(target.name)
            return open_snapshot(target, *args, **kwargs)

        monkeypatch.setattr(snapshots, "reload", counted_reload)
        monkeypatch.setattr(snapshots.engine, "open", counted_open)
        wait_for(lambda: len(polls) >= 3)
        assert opened == [] and set(polls) == {Outcome.REFUSED}, (opened, polls)
        assert client.get("/ready").json()["refusals"] == 1
        # ...and the next good publish is served.
        second = build(settings, embedder, SECOND)
        wait_for(lambda: client.get("/ready").json()["snapshot"]["snapshot_id"] == second)
        assert top_doc(client, "volcano") == ("volcano.txt", second)


def test_service_starts_without_a_snapshot_and_becomes_ready(tmp_path: Path, embedder: Embedder) -> None:
    settings = corpus_settings(tmp_path, reload_poll_seconds=0.1)
    with TestClient(app=create_app(settings, embedder=embedder)) as client:
        assert client.get("/health").status_code == 200
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["status"] == "unavailable" and "indexer build" in ready.json()["detail"]
        search = client.post("/v1/search", json={"query": "lighthouse"})
        assert search.status_code == 503
        assert search.json()["title"] == "Service Unavailable"
        first = build(settings, embedder, FIRST)
        wait_for(lambda: client.get("/ready").status_code == 200)
        assert top_doc(client, "lighthouse") == ("lighthouse.txt", first)


def test_requests_in_flight_keep_their_snapshot_until_they_finish(tmp_path: Path, embedder: Embedder) -> None:
    settings = corpus_settings(tmp_path, reload_poll_seconds=0)
    first = build(settings, embedder, FIRST)
    snapshots = SnapshotHolder(SearchEngine(settings, embedder))
    assert snapshots.reload().outcome is Outcome.LOADED
    with snapshots.lease() as old:
        second = build(settings, embedder, SECOND)
        result = snapshots.reload()
        assert result.outcome is Outcome.LOADED
        assert (result.snapshot_id, result.previous_snapshot_id) == (second, first)
        # The swapped-out snapshot still answers the request that holds it.
        assert old.snapshot_id == first
        assert old.search("lighthouse", 1, "lexical")[0].document.doc_id == "lighthouse.txt"
        assert old.snapshot.store.document("lighthouse.txt") is not None
        with snapshots.lease() as new:
            assert new.snapshot_id == second
    # Returned: now it is closed.
    with pytest.raises(Exception, match="closed"):
        old.snapshot.store.document("lighthouse.txt")
    assert snapshots.reload().outcome is Outcome.UNCHANGED
    snapshots.close()


def test_polling_can_be_switched_off(tmp_path: Path, embedder: Embedder) -> None:
    settings = corpus_settings(tmp_path, reload_poll_seconds=0)
    first = build(settings, embedder, FIRST)
    with TestClient(app=create_app(settings, embedder=embedder)) as client:
        build(settings, embedder, SECOND)
        time.sleep(0.3)
        body: dict[str, Any] = client.get("/ready").json()
        assert body["snapshot"]["snapshot_id"] == first
