"""Nothing acknowledged is lost: ``python -m service`` (the real packaged model) killed with SIGKILL
after answering 202 to an upload and to a deletion publishes both after a restart, and the restored
document is cited exactly. A build holding the index lock keeps the writes unpublished at the kill;
an upload cut short by the kill leaves nothing behind."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from indexer.snapshot.publish import build_lock
from service.settings import AppSettings
from tests.conftest import free_port, make_settings, running_service, service_env, wait_for

pytestmark = pytest.mark.model  # python -m service loads the real model

ADMIN = "admin-key-000000000001"
HEADERS = {"Authorization": f"Bearer {ADMIN}"}


def start(settings: AppSettings, port: int) -> Any:
    env = service_env(
        settings,
        auth__admin_keys=f'["{ADMIN}"]',
        service__reload_poll_seconds="0.2",
    )
    return running_service(env, port)


def search(base: str, query: str) -> list[dict[str, Any]]:
    body = {"query": query, "top_k": 3}
    response = httpx.post(f"{base}/v1/search", json=body, headers=HEADERS, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["results"]  # type: ignore[no-any-return]


def job_status(base: str, location: str) -> str:
    response = httpx.get(f"{base}{location}", headers=HEADERS, timeout=10)
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


def upload_slowly(url: str) -> None:
    def body() -> Iterator[bytes]:
        yield b"The first half of a document "
        time.sleep(5)
        yield b"and its second half."

    with contextlib.suppress(httpx.HTTPError):
        httpx.put(url, content=body(), headers=HEADERS, timeout=30)


def test_writes_acknowledged_before_a_sigkill_are_published_after_restart(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    settings = make_settings(tmp_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    documents = f"{base}/v1/collections/default/documents"
    with start(settings, port) as proc:
        wait_for(proc, lambda: httpx.get(f"{base}/health", timeout=1).status_code == 200)
        kept = httpx.put(
            f"{documents}/old.txt",
            content=b"Glaciers carve U-shaped valleys.",
            headers=HEADERS,
            params={"wait": "true"},
            timeout=120,
        )
        assert kept.status_code == 201, kept.text
        with build_lock(settings.index_dir):  # a CLI build holds the lock: nothing can be published
            added = httpx.put(
                f"{documents}/new.txt",
                content=b"Volcanic islands form over hot spots.",
                headers=HEADERS,
                timeout=30,
            )
            removed = httpx.delete(f"{documents}/old.txt", headers=HEADERS, timeout=30)
            assert (added.status_code, removed.status_code) == (202, 202), (added.text, removed.text)
            cut_short = threading.Thread(target=upload_slowly, args=(f"{documents}/half.txt",))
            cut_short.start()  # an upload still arriving when the service dies: never acknowledged
            time.sleep(0.5)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            cut_short.join(timeout=30)
    assert (settings.seeds_dir / "new.txt").is_file() and not (settings.seeds_dir / "old.txt").exists()
    assert not (settings.seeds_dir / "half.txt").exists()
    with start(settings, port) as proc:
        wait_for(proc, lambda: httpx.get(f"{base}/health", timeout=1).status_code == 200)
        deadline = time.monotonic() + 120
        while job_status(base, added.headers["location"]) != "indexed":
            assert time.monotonic() < deadline, "the acknowledged upload was not published after restart"
            time.sleep(0.2)
        assert job_status(base, removed.headers["location"]) == "indexed"
        results = search(base, "how do volcanic islands form")
        assert results[0]["citation"]["doc_id"] == "new.txt"
        citation = results[0]["citation"]
        text = httpx.get(f"{documents}/new.txt", headers=HEADERS, timeout=10).json()["text"]
        assert text[citation["char_start"] : citation["char_end"]] == results[0]["text"]
        assert all(r["citation"]["doc_id"] != "old.txt" for r in search(base, "glaciers valleys"))
        assert httpx.get(f"{documents}/old.txt", headers=HEADERS, timeout=10).status_code == 404
        listed = httpx.get(documents, headers=HEADERS, timeout=10).json()["documents"]
        assert [d["doc_id"] for d in listed] == ["new.txt"]
