"""A collection's ``watch: true``: the service applies what changes in its folder, over real HTTP:
what was there at start, a file dropped in, a file removed (``python -m service`` with the real
model); through the same writer, statuses and jobs as uploads (the hash embedder)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import msgspec
import pytest

from indexer.config import WatchSettings
from indexer.embedding import Embedder
from indexer.watch.claim import WatchClaim
from service.app import create_app
from tests.conftest import free_port, make_settings, running_service, service_env, wait_for
from tests.hash_embedder import HashEmbedder
from tests.service.server import serve
from tests.service.test_writes_api import auth, put, search, writes_settings

TIMEOUT = 120.0
"""Generous: the model loads in the service first, and the machine may be busy."""


def _hits(base: str, query: str) -> list[str]:
    response = httpx.post(
        f"{base}/v1/search", json={"query": query, "top_k": 5, "mode": "lexical"}, timeout=30
    )
    response.raise_for_status()
    return [hit["citation"]["doc_id"] for hit in response.json()["results"]]


def _eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail(f"not within {TIMEOUT:g} s: {what}")


def test_a_file_dropped_into_a_watched_folder_becomes_searchable(tmp_path: Path, embedder: Embedder) -> None:
    del embedder  # the service loads the same model; this marks the test as one that uses it
    settings = make_settings(tmp_path)
    seeds = settings.seeds_dir
    seeds.mkdir()
    (seeds / "harbour.md").write_text(
        "# Harbour\n\nThe harbourmaster counts the fishing boats at dawn.", encoding="utf-8"
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = service_env(settings, watch__service="true", watch__settle_seconds="0.3")
    with running_service(env, port) as proc:
        wait_for(proc, lambda: httpx.get(f"{base}/ready", timeout=1).status_code == 200, timeout=TIMEOUT)
        # nothing was built: what the folder held at start was applied by the service itself
        assert _hits(base, "harbourmaster fishing boats") == ["harbour.md"]

        (seeds / "reports").mkdir()
        (seeds / "reports" / "zeppelin.txt").write_text(
            "The zeppelin hangar at Friedrichshafen was built in 1909.", encoding="utf-8"
        )
        _eventually(
            lambda: _hits(base, "zeppelin hangar Friedrichshafen") == ["reports/zeppelin.txt"],
            "the dropped file searchable",
        )
        (seeds / "reports" / "zeppelin.txt").unlink()
        _eventually(lambda: _hits(base, "zeppelin hangar Friedrichshafen") == [], "the removed file gone")
        assert _hits(base, "harbourmaster fishing boats") == ["harbour.md"]
        assert proc.poll() is None


def test_a_watched_folder_feeds_the_same_writer_as_uploads(tmp_path: Path) -> None:
    settings = msgspec.structs.replace(
        writes_settings(tmp_path), watch=WatchSettings(service=True, settle_seconds=0.2)
    )
    seeds = settings.seeds_dir
    with serve(create_app(settings, embedder=HashEmbedder())) as base:
        status_url = f"{base}/v1/collections/default/status"
        uploaded = put(base, "up/load.txt", b"Okapis live in the Ituri rainforest.", wait="true")
        assert uploaded.status_code == 201, uploaded.text
        job = uploaded.json()["job"]["id"]

        (seeds / "dropped").mkdir()
        (seeds / "dropped" / "zebra.txt").write_text("Zebra stripes confuse biting flies.", encoding="utf-8")
        _eventually(
            lambda: (
                httpx.get(f"{status_url}/dropped/zebra.txt", headers=auth()).json().get("status") == "indexed"
            ),
            "the dropped file indexed, with a status like an upload's",
        )
        assert [r["citation"]["doc_id"] for r in search(base, "zebra stripes biting flies")][:1] == [
            "dropped/zebra.txt"
        ]
        time.sleep(1)  # the watcher has seen the upload's own files by now: not queued a second time
        assert httpx.get(f"{status_url}/up/load.txt", headers=auth()).json()["job_id"] == job

        (seeds / "dropped" / "zebra.txt").unlink()
        _eventually(
            lambda: httpx.get(f"{status_url}/dropped/zebra.txt", headers=auth()).status_code == 404,
            "the removed file gone",
        )
        assert search(base, "zebra stripes biting flies") == []


def test_a_folder_another_process_watches_is_taken_over_when_it_stops(tmp_path: Path) -> None:
    settings = msgspec.structs.replace(
        writes_settings(tmp_path), watch=WatchSettings(service=True, settle_seconds=0.2, retry_seconds=0.2)
    )
    other = WatchClaim(settings.index_dir)  # python -m indexer watch, or another worker of the service
    assert other.acquire()
    with serve(create_app(settings, embedder=HashEmbedder())) as base:
        status_url = f"{base}/v1/collections/default/status/early.txt"
        (settings.seeds_dir / "early.txt").write_text("Narwhals have one long tusk.", encoding="utf-8")
        time.sleep(1.5)  # the other watcher would have applied it; this one must not (twice)
        assert httpx.get(status_url, headers=auth()).status_code == 404
        other.release()  # it stopped: the service takes over and applies what it missed
        _eventually(
            lambda: httpx.get(status_url, headers=auth()).json().get("status") == "indexed",
            "the file written before the take-over indexed",
        )
