"""Issue 24, a port of our own: ``python -m service`` refuses a port another process listens on (it
used to share it with ``SO_REUSEPORT`` and take most of its requests), its own ``--workers`` share one
listening socket, and a worker killed loses only the requests it was answering (with one accept
queue per worker, the connections waiting in a killed worker's queue were reset with it)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.worker_fault import children, stop_while_serving
from indexer.embedding import Embedder
from service.runtime import listener
from tests.conftest import REPO, free_port, service_env, wait_for
from tests.service.helpers import FIRST, build, corpus_settings

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX sockets and signals")

CLIENTS = 8
MAX_CONNECTIONS = 2
"""Per worker: with 8 clients, connections always wait in the kernel's accept queue."""


@contextlib.contextmanager
def _occupied(port: int, *, reuse_port: bool) -> Iterator[None]:
    """A socket of this process listening on 127.0.0.1:``port`` (``reuse_port``: as granian's own did)."""
    with socket.socket() as sock:
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(8)
        yield


def _start(env: dict[str, str], port: int, *extra: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "service", "--port", str(port), *extra],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE if log is None else log.open("wb"),
    )


def _refused(env: dict[str, str], port: int) -> str:
    """Start a service on ``port``, which must exit at once with an error: its stderr."""
    proc = _start(env, port)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, err.decode()
    return err.decode()


@pytest.mark.parametrize("reuse_port", [False, True])
def test_a_service_on_a_port_in_use_exits_with_the_reason(tmp_path: Path, reuse_port: bool) -> None:
    env = service_env(corpus_settings(tmp_path))
    port = free_port()
    with _occupied(port, reuse_port=reuse_port):
        err = _refused(env, port)
    assert err.strip().splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port}: the port is in use by another process"
    ]


def test_a_listen_fd_that_is_not_a_listening_socket_is_refused() -> None:
    with socket.socket() as unbound, pytest.raises(listener.ListenError, match="not a listening TCP socket"):
        listener.inherited({listener.LISTEN_FD_ENV: str(unbound.fileno())})
    with pytest.raises(listener.ListenError, match="not an open socket"):
        listener.inherited({listener.LISTEN_FD_ENV: "nine"})


class _Load:
    """``CLIENTS`` threads searching, each request on a new connection, until stopped: the outcomes."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.outcomes: list[int | str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client) for _ in range(CLIENTS)]

    def _client(self) -> None:
        while not self._stop.is_set():
            try:
                body = {"query": "lighthouse fog", "top_k": 1}
                answer = httpx.post(f"{self.base_url}/v1/search", json=body, timeout=30)
                outcome: int | str = answer.status_code
            except httpx.HTTPError as exc:
                outcome = type(exc).__name__
            self.outcomes.append(outcome)

    def __enter__(self) -> _Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_share_one_socket_and_a_killed_worker_loses_only_its_requests_in_flight(
    tmp_path: Path, embedder: Embedder
) -> None:
    settings = corpus_settings(tmp_path)
    build(settings, embedder, FIRST)
    env = service_env(settings, service__max_connections=str(MAX_CONNECTIONS))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start(env, port, "--workers", "2", log=tmp_path / "service.log")
    try:
        wait_for(proc, lambda: len(children(proc.pid)) == 2)
        wait_for(
            proc, lambda: all(httpx.get(f"{base}/ready", timeout=5).status_code == 200 for _ in range(6))
        )
        # A second service on the port the workers share is refused, and takes nothing from them.
        assert "the port is in use by another process" in _refused(env, port)
        victim, survivor = children(proc.pid)
        with _Load(base) as load:
            time.sleep(1.0)
            held = stop_while_serving(victim, port)
            before = len(load.outcomes)
            time.sleep(1.0)  # new connections wait in the one queue for the survivor, not for the victim
            os.kill(victim, signal.SIGKILL)
            time.sleep(1.5)
        assert survivor in children(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0, (tmp_path / "service.log").read_text()[-2000:]
    lost = [outcome for outcome in load.outcomes if outcome != 200]
    assert held <= MAX_CONNECTIONS, held
    assert all(isinstance(outcome, str) for outcome in lost), lost  # connections cut, never a 5xx
    assert len(lost) <= held, (lost, held)
    assert len(load.outcomes) - before >= 2 * CLIENTS, "the survivor served on alone"
