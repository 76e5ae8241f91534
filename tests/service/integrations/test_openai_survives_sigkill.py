"""Nothing the OpenAI endpoints acknowledged is lost: ``python -m service`` killed with SIGKILL after
answering an upload (``files.create``) and an attach (``vector_stores.files.create``, not yet published:
a build holds the lock) keeps the file and publishes the attached document after a restart, with its
attributes."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from indexer.snapshot.publish import build_lock
from service.settings import AppSettings
from tests.conftest import free_port, make_settings, running_service, service_env, wait_for

pytestmark = pytest.mark.model  # python -m service loads the real model

ADMIN = "admin-key-openai-sigkill-01"
TEXT = b"Basalt columns form when thick lava flows cool and contract slowly.\n"


def _start(settings: AppSettings, port: int) -> Any:
    env = service_env(settings, auth__admin_keys=f'["{ADMIN}"]', service__reload_poll_seconds="0.2")
    return running_service(env, port)


def _client(base: str) -> Any:
    from openai import OpenAI

    return OpenAI(base_url=f"{base}/v1", api_key=ADMIN, max_retries=0, timeout=30)


def test_an_upload_and_an_attach_answered_before_a_sigkill_survive_it(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    settings = make_settings(tmp_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with _start(settings, port) as proc:
        wait_for(proc, lambda: httpx.get(f"{base}/health", timeout=1).status_code == 200)
        client = _client(base)
        uploaded = client.files.create(file=("basalt.txt", TEXT), purpose="assistants")
        with build_lock(settings.index_dir):  # a CLI build holds the lock: nothing can be published
            attached = client.vector_stores.files.create(
                vector_store_id="default", file_id=uploaded.id, attributes={"rock": "basalt"}
            )
            assert attached.status == "in_progress"
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
    with _start(settings, port) as proc:
        wait_for(proc, lambda: httpx.get(f"{base}/health", timeout=1).status_code == 200)
        client = _client(base)
        assert client.files.retrieve(uploaded.id).bytes == len(TEXT)
        assert client.files.content(uploaded.id).read() == TEXT
        done = client.vector_stores.files.poll(uploaded.id, vector_store_id="default", max_wait_seconds=120)
        assert done.status == "completed" and done.attributes == {"rock": "basalt"}
        (hit,) = client.vector_stores.search(
            "default", query="How do basalt columns form?", max_num_results=1
        )
        assert (
            hit.file_id == uploaded.id and hit.attributes is not None and hit.attributes["rock"] == "basalt"
        )
