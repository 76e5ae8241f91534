"""Updates published by ``indexer.build.update`` are served within a poll: added documents are found,
deleted ones are gone from search, the documents endpoint and the counts; the base is not reopened."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from litestar.testing import TestClient

from indexer.build import update
from indexer.embedding import Embedder
from service.app import create_app
from service.runtime.hot_swap import Outcome, SnapshotHolder
from tests.service.helpers import FIRST, build, corpus_settings

Client = TestClient  # type: ignore[type-arg]


def wait_for(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def found(client: Client, query: str, mode: str = "lexical") -> list[str]:
    response = client.post("/v1/search", json={"query": query, "top_k": 5, "mode": mode})
    assert response.status_code == 200, response.text
    return [hit["citation"]["doc_id"] for hit in response.json()["results"]]


def test_updates_are_served_and_deletions_vanish_from_every_door(tmp_path: Path, embedder: Embedder) -> None:
    settings = corpus_settings(tmp_path, reload_poll_seconds=0.1)
    build(settings, embedder, {**FIRST, "volcano.txt": "The volcano erupted and lava flowed to the village."})
    with TestClient(app=create_app(settings, embedder=embedder)) as client:
        snapshots: SnapshotHolder = client.app.state.snapshots
        base = snapshots.current.snapshot.parts()[0].snapshot  # type: ignore[union-attr]
        (settings.seeds_dir / "glacier.txt").write_text(
            "Glaciers carve deep valleys of ice.", encoding="utf-8"
        )
        (settings.seeds_dir / "volcano.txt").unlink()
        report = update(settings, lambda: embedder, ["glacier.txt", "volcano.txt"])
        wait_for(lambda: client.get("/ready").json()["snapshot"]["snapshot_id"] == report.snapshot_id)

        assert found(client, "glaciers valleys ice") == ["glacier.txt"]
        assert found(client, "volcano lava", "hybrid").count("volcano.txt") == 0
        assert client.get("/v1/documents/volcano.txt").status_code == 404
        glacier = client.get("/v1/documents/glacier.txt")
        assert glacier.status_code == 200 and glacier.json()["text"].startswith("Glaciers")
        assert client.get("/ready").json()["snapshot"]["documents"] == 2
        assert snapshots.current.snapshot.parts()[0].snapshot is base  # type: ignore[union-attr]
        assert snapshots.reload().outcome == Outcome.UNCHANGED
