"""A build killed with SIGKILL half-way leaves the running service on the previous snapshot; the next
build succeeds and is served."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from indexer.build import Builder
from indexer.embedding import Embedder
from indexer.snapshot import SNAPSHOTS_DIR
from indexer.snapshot.publish import STAGING_PREFIX
from service.app import create_app
from tests.service.helpers import FIRST, build, corpus_settings
from tests.service.server import serve

REPO = Path(__file__).resolve().parents[2]


def start_build(root: Path) -> subprocess.Popen[bytes]:
    """``python -m indexer build`` in its own process, as an operator (or cron) runs it."""
    config = root / "config.yaml"
    config.write_text(f"seeds_dir: {root / 'seeds'}\nindex_dir: {root / 'index'}\n")
    return subprocess.Popen(
        [sys.executable, "-m", "indexer", "--config", str(config), "build", "--no-progress"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait_for_staging(root: Path, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    snapshots = root / "index" / SNAPSHOTS_DIR
    deadline = time.monotonic() + timeout
    while not any(p.name.startswith(STAGING_PREFIX) for p in snapshots.iterdir()):
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        assert time.monotonic() < deadline, "the build never started staging"
        time.sleep(0.02)


def test_killed_build_leaves_the_service_serving_and_the_next_build_is_picked_up(
    tmp_path: Path, embedder: Embedder
) -> None:
    settings = corpus_settings(tmp_path, reload_poll_seconds=0.1)
    first = build(settings, embedder, FIRST)
    with serve(create_app(settings, embedder=embedder)) as base_url, httpx.Client(base_url=base_url) as http:

        def top() -> tuple[str, str]:
            response = http.post("/v1/search", json={"query": "paragraph on ocean navigation", "top_k": 1})
            assert response.status_code == 200, response.text
            body = response.json()
            return body["snapshot_id"], body["results"][0]["citation"]["doc_id"]

        assert top() == (first, "lighthouse.txt")
        for i in range(40):  # enough text that the build is still embedding when it is killed
            (settings.seeds_dir / f"new{i:03}.txt").write_text(f"Paragraph {i} about ocean navigation. " * 80)
        proc = start_build(tmp_path)
        wait_for_staging(tmp_path, proc)
        time.sleep(1.0)
        assert proc.poll() is None, "the build finished before it could be killed; make the corpus bigger"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

        time.sleep(0.5)  # a few polls of index/current
        ready = http.get("/ready").json()
        assert ready["snapshot"]["snapshot_id"] == first and ready["refusals"] == 0
        assert top() == (first, "lighthouse.txt")

        report = Builder(settings, lambda: embedder).build()
        assert report.published and report.documents == 41
        deadline = time.monotonic() + 20
        while http.get("/ready").json()["snapshot"]["snapshot_id"] != report.snapshot_id:
            assert time.monotonic() < deadline, "the next build was not picked up"
            time.sleep(0.05)
        snapshot_id, doc_id = top()
        assert snapshot_id == report.snapshot_id and doc_id.startswith("new")
        snapshots = settings.index_dir / SNAPSHOTS_DIR
        assert [p for p in snapshots.iterdir() if p.name.startswith(STAGING_PREFIX)] == []
