"""``python -m service --workers 2``: two processes on one port over one index folder. A snapshot
published while clients search is picked up by both within ``reload_poll_seconds``, no request fails,
and a worker killed is replaced."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from indexer.embedding import Embedder
from service.__main__ import main
from tests.conftest import REPO, free_port, service_env, wait_for
from tests.service.helpers import FIRST, SECOND, build, corpus_settings

POLL_SECONDS = 0.5
CLIENTS = 6


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()]


def _search(base_url: str) -> tuple[int, str]:
    """One search on a new connection (the kernel picks the process): status and snapshot id."""
    response = httpx.post(f"{base_url}/v1/search", json={"query": "lava lighthouse", "top_k": 1}, timeout=30)
    return response.status_code, response.json().get("snapshot_id", "") if response.status_code == 200 else ""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_two_workers_swap_to_a_published_snapshot_under_load_without_a_failed_request(
    tmp_path: Path, embedder: Embedder
) -> None:
    settings = corpus_settings(tmp_path)
    first = build(settings, embedder, FIRST)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = service_env(settings, service__reload_poll_seconds=str(POLL_SECONDS))
    log = (tmp_path / "service.log").open("wb")  # a file, not a pipe: the access log would fill it
    proc = subprocess.Popen(
        [sys.executable, "-m", "service", "--workers", "2", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        wait_for(proc, lambda: len(_children(proc.pid)) == 2)
        workers = _children(proc.pid)
        # Both workers ready: 20 fresh connections all answered (each lands on either process).
        wait_for(proc, lambda: all(_search(base) == (200, first) for _ in range(20)))

        stop = threading.Event()
        seen: list[tuple[float, int, str]] = []
        lock = threading.Lock()

        def client() -> None:
            while not stop.is_set():
                try:
                    status, snapshot = _search(base)
                except httpx.HTTPError as exc:
                    status, snapshot = -1, repr(exc)
                with lock:
                    seen.append((time.monotonic(), status, snapshot))

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(1.0)
            second = build(settings, embedder, SECOND)
            published = time.monotonic()
            time.sleep(
                POLL_SECONDS + 3.0
            )  # a poll period, plus opening the snapshot and slack on 2 busy cores
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
        assert _children(proc.pid) == workers, "a worker died and was replaced"
        os.kill(workers[0], signal.SIGKILL)  # out of memory, say: the supervisor starts another
        wait_for(
            proc,
            lambda: (
                len(set(_children(proc.pid)) - {workers[1]}) == 1 and workers[0] not in _children(proc.pid)
            ),
        )
        wait_for(proc, lambda: all(_search(base) == (200, second) for _ in range(20)))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()
    assert proc.returncode == 0, (tmp_path / "service.log").read_text()[-2000:]

    failures = [
        (round(at - published, 2), status, snapshot) for at, status, snapshot in seen if status != 200
    ]
    assert failures == [], failures[:5]
    assert {snapshot for _, _, snapshot in seen} == {first, second}
    settled = published + POLL_SECONDS + 2.0
    late = [snapshot for at, _, snapshot in seen if at > settled]
    assert len(late) >= 20 and set(late) == {second}
    assert not Path(f"/proc/{workers[1]}").exists()


def test_workers_argument_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    for bad in ("0", "-1", "many", "100000"):
        with pytest.raises(SystemExit) as exit_info:
            main(["--workers", bad])
        assert exit_info.value.code == 2
        assert "--workers" in capsys.readouterr().err
