"""Fixtures for the chatbot-facing APIs: an in-process test client, and a real server over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import msgspec
import pytest
from litestar.testing import TestClient

from indexer.config import AuthSettings, Settings
from indexer.embedder import Embedder
from service.app import create_app

REPO = Path(__file__).resolve().parents[2]
KEY = "chatbot-test-key-0001"


@pytest.fixture(scope="module")
def client(seeded_settings: Settings, embedder: Embedder) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with TestClient(app=create_app(seeded_settings, embedder=embedder)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def keyed(seeded_settings: Settings, embedder: Embedder) -> Iterator[TestClient]:  # type: ignore[type-arg]
    """A test client of an app that requires the API key ``KEY``."""
    settings = msgspec.structs.replace(seeded_settings, auth=AuthSettings(api_keys=(KEY,)))
    with TestClient(app=create_app(settings, embedder=embedder)) as test_client:
        yield test_client


@dataclass(frozen=True)
class Server:
    base_url: str
    env: dict[str, str]
    """The environment the server runs with (config, index, public URL), for other processes."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def server(seeded_settings: Settings) -> Iterator[Server]:
    """``python -m service`` on a free port, serving the seeded index, as a user starts it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "CITESEARCH_CONFIG": str(REPO / "config.yaml"),
        "CITESEARCH__SEEDS_DIR": str(seeded_settings.seeds_dir),
        "CITESEARCH__INDEX_DIR": str(seeded_settings.index_dir),
        "CITESEARCH__INTEGRATIONS__PUBLIC_BASE_URL": base,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "service", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "server did not become healthy"
            time.sleep(0.2)
        yield Server(base, env)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
