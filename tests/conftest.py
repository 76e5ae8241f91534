"""Shared fixtures: the real packaged model (loaded once), settings for throwaway corpora, an index
built from the shipped seeds, and ``python -m service`` running on it over real HTTP.

No test reads the repository's ``seeds/`` or ``index/``: those are the user's. The seeds the project
ships are kept as a fixture in ``tests/fixtures/seeds/`` (:data:`SEEDS`) and copied into a temporary
folder by whichever test needs them (:func:`copy_seeds`).

Tests that use the real model (the ``embedder`` fixture, directly or through another fixture) are
marked ``model`` automatically: ``pytest -m "not model"`` runs the rest in well under a minute.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import msgspec
import pytest

from indexer.build import Builder
from indexer.config import ModelSettings
from indexer.embedding import Embedder, load_embedder
from service.settings import AppSettings, load_app_settings

REPO = Path(__file__).resolve().parent.parent
SEEDS = Path(__file__).resolve().parent / "fixtures" / "seeds"
"""The seeds the project ships (README's examples are answered from them), never the user's ``seeds/``."""
SEED_DOC = "000_9d8dce6cf410ff07.txt"
MODEL_FIXTURES = {"embedder", "torch_embedder", "seeded_settings", "server", "shipped"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that loads the real model (or starts the service, which does) ``model``."""
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.model)


def copy_seeds(target: Path) -> Path:
    """The shipped seeds (:data:`SEEDS`) copied into ``target`` (created); ``target``."""
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real packaged all-MiniLM-L6-v2 in config.yaml's variant, loaded once per test session."""
    return load_embedder(load_app_settings(REPO / "config.yaml", environ={}).model)


@pytest.fixture(scope="session")
def torch_embedder(embedder: Embedder) -> Embedder:
    """The packaged model on torch (sentence-transformers), the reference for the other variants."""
    if embedder.variant == "torch":
        return embedder
    return load_embedder(ModelSettings(name="all-MiniLM-L6-v2", variant="torch"))


TEST_HOSTS = ("localhost", "127.0.0.1", "::1", "testserver.local")
"""The default Host allow-list plus the name Litestar's TestClient sends."""


def make_settings(root: Path, **sections: object) -> AppSettings:
    """Settings from the repo's config.yaml with seeds and index inside ``root`` (Host allow-list:
    :data:`TEST_HOSTS`)."""
    base = load_app_settings(REPO / "config.yaml", environ={})
    service = msgspec.structs.replace(base.service, allowed_hosts=TEST_HOSTS)
    base = msgspec.structs.replace(base, service=service)
    return msgspec.structs.replace(base, seeds_dir=root / "seeds", index_dir=root / "index", **sections)


@pytest.fixture
def settings(tmp_path: Path) -> AppSettings:
    (tmp_path / "seeds").mkdir()
    return make_settings(tmp_path)


@pytest.fixture(scope="session")
def seeded_settings(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[AppSettings]:
    """An index built once from the shipped seeds plus two small documents (nested folder, Markdown)."""
    root = tmp_path_factory.mktemp("seeded")
    copy_seeds(root / "seeds")
    extra = root / "seeds" / "notes"
    extra.mkdir()
    (extra / "cooking.md").write_text(
        "# Bread baking\n\nKnead the dough for ten minutes, then let it rise for an hour.\n"
        "Bake at 220 degrees until the crust is golden.\n",
        encoding="utf-8",
    )
    (extra / "astronomy.txt").write_text(
        "The Moon orbits the Earth roughly every 27 days.\nIts gravity causes the ocean tides.\n",
        encoding="utf-8",
    )
    settings = make_settings(root)
    Builder(settings, lambda: embedder).build()
    yield settings


@dataclass(frozen=True)
class Server:
    base_url: str
    env: dict[str, str]
    """The environment the server runs with (config, index, public URL), for other processes."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_env(settings: AppSettings, **overrides: str) -> dict[str, str]:
    """The environment a user's ``python -m service`` or ``python -m indexer`` runs with: this
    repository's config.yaml, ``settings``' seeds and index folders, and ``overrides`` as
    ``CITESEARCH__<KEY>`` (``service__reload_poll_seconds="0.5"``)."""
    env = {
        **os.environ,
        "CITESEARCH_CONFIG": str(REPO / "config.yaml"),
        "CITESEARCH__SEEDS_DIR": str(settings.seeds_dir),
        "CITESEARCH__INDEX_DIR": str(settings.index_dir),
    }
    env.update({f"CITESEARCH__{key.upper()}": value for key, value in overrides.items()})
    return env


@contextlib.contextmanager
def running_service(env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m service --port <port>`` with ``env``, as a user starts it; stopped afterwards."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "service", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def wait_for(proc: subprocess.Popen[bytes], ready: Callable[[], bool], timeout: float = 120) -> None:
    """Wait until ``ready()`` (HTTP errors count as not yet); fail if ``proc`` exits first."""
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        try:
            if ready():
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


@pytest.fixture(scope="session")
def server(seeded_settings: AppSettings) -> Iterator[Server]:
    """``python -m service`` on a free port, serving the seeded index, as a user starts it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = service_env(seeded_settings, integrations__public_base_url=base)
    with running_service(env, port) as proc:
        wait_for(proc, lambda: httpx.get(f"{base}/ready", timeout=1).status_code == 200)
        yield Server(base, env)
