"""Snapshots swapped while concurrent clients search over real HTTP: no request fails, results switch."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import msgspec

from indexer.embedding import Embedder
from service.app import create_app
from service.settings import AuthSettings
from tests.service.helpers import FIRST, SECOND, build, corpus_settings
from tests.service.server import serve

ADMIN_KEY = "load-admin-key-0123456789abcdef"
THIRD = {"glacier.txt": "The glacier carved a deep valley as the ice slowly moved towards the sea."}
CLIENTS = 8
MAX_REQUESTS = 400
"""Per client: bounds the test even if swaps take long."""


@dataclass
class Client:
    seen: list[tuple[str, str]] = field(default_factory=list)
    """(snapshot id, top document) of every answer, in order."""
    failures: list[str] = field(default_factory=list)


def run_client(base_url: str, stop: threading.Event, client: Client) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        while not stop.is_set() and len(client.seen) < MAX_REQUESTS:
            try:
                response = http.post("/v1/search", json={"query": "lava glacier lighthouse", "top_k": 1})
            except httpx.HTTPError as exc:
                client.failures.append(repr(exc))
                continue
            if response.status_code != 200:
                client.failures.append(f"{response.status_code}: {response.text[:300]}")
                continue
            body = response.json()
            top = body["results"][0]["citation"]["doc_id"] if body["results"] else ""
            client.seen.append((body["snapshot_id"], top))


def test_concurrent_searches_never_fail_while_snapshots_are_swapped(
    tmp_path: Path, embedder: Embedder
) -> None:
    settings = corpus_settings(tmp_path, reload_poll_seconds=0.2)
    first = build(settings, embedder, FIRST)
    settings = msgspec.structs.replace(settings, auth=AuthSettings(admin_keys=(ADMIN_KEY,)))
    with serve(create_app(settings, embedder=embedder)) as base_url:
        stop = threading.Event()
        clients = [Client() for _ in range(CLIENTS)]
        threads = [threading.Thread(target=run_client, args=(base_url, stop, c)) for c in clients]
        for thread in threads:
            thread.start()
        try:
            time.sleep(0.5)
            second = build(settings, embedder, SECOND)  # picked up by polling
            deadline = time.monotonic() + 20
            while not any(c.seen and c.seen[-1][0] == second for c in clients):
                assert time.monotonic() < deadline, "the published snapshot was not picked up"
                time.sleep(0.05)
            third = build(settings, embedder, THIRD)  # swapped on demand
            reload = httpx.post(
                f"{base_url}/v1/admin/reload", headers={"authorization": f"Bearer {ADMIN_KEY}"}, timeout=60
            )
            assert reload.status_code == 200, reload.text
            assert reload.json()["snapshot_id"] == third
            time.sleep(0.5)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)

    failures = [f for c in clients for f in c.failures]
    assert failures == [], failures[:5]
    expected = {first: "lighthouse.txt", second: "volcano.txt", third: "glacier.txt"}
    order = [first, second, third]
    for c in clients:
        assert len(c.seen) > 3
        # Every answer comes whole from one snapshot, and a client never goes back to an older one.
        assert all(expected[snapshot] == top for snapshot, top in c.seen)
        positions = [order.index(snapshot) for snapshot, _ in c.seen]
        assert positions == sorted(positions)
        assert c.seen[-1][0] == third
    served = {snapshot for c in clients for snapshot, _ in c.seen}
    assert served == {first, second, third}
