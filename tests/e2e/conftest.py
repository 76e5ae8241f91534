"""The fixture of the end-to-end tests: the seeds the project ships (copied into a temporary folder,
never the user's ``seeds/``), indexed by the real ``python -m indexer build`` and served by
``python -m service`` on a free port of 127.0.0.1, as a new user runs them after following the README."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import (
    REPO,
    Server,
    copy_seeds,
    free_port,
    make_settings,
    running_service,
    service_env,
    wait_for,
)


@dataclass(frozen=True)
class Shipped:
    """The shipped seeds' index served over real HTTP."""

    server: Server
    seeds: Path
    index: Path


def build(env: dict[str, str]) -> str:
    """``python -m indexer build`` as a user runs it; its output."""
    done = subprocess.run(
        [sys.executable, "-m", "indexer", "build", "--no-progress"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="package")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shipped]:
    root = tmp_path_factory.mktemp("shipped")
    copy_seeds(root / "seeds")
    settings = make_settings(root)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # The port in the environment too, as a user's config.yaml would hold it: other processes started
    # with this environment (the stdio MCP server) then link to this service.
    env = service_env(settings, service__port=str(port))
    assert "published snapshot" in build(env)
    with running_service(env, port) as proc:
        wait_for(proc, lambda: httpx.get(f"{base}/ready", timeout=1).status_code == 200)
        yield Shipped(Server(base, env), settings.seeds_dir, settings.index_dir)
