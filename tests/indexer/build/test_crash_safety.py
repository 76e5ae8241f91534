"""A build killed with SIGKILL at any moment leaves the previous snapshot intact and usable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from indexer.build import Builder
from indexer.config import load_settings
from indexer.embedding import Embedder
from indexer.errors import IndexWriteError
from indexer.snapshot import SNAPSHOTS_DIR, current_dir, open_current
from indexer.snapshot.publish import STAGING_PREFIX

REPO = Path(__file__).resolve().parents[3]


def _config(root: Path) -> Path:
    path = root / "config.yaml"
    path.write_text(f"seeds_dir: {root / 'seeds'}\nindex_dir: {root / 'index'}\n")
    return path


def _run_build(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "indexer", "--config", str(config), "build", "--no-progress"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _wait_for_staging(root: Path, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    snapshots = root / "index" / SNAPSHOTS_DIR
    while time.monotonic() < deadline:
        if snapshots.is_dir() and any(p.name.startswith(STAGING_PREFIX) for p in snapshots.iterdir()):
            return
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        time.sleep(0.02)
    raise AssertionError("the build never started staging")


@pytest.mark.parametrize("delay", [0.3, 4.0])  # while loading the model; while embedding
def test_sigkill_mid_build_keeps_previous_snapshot(tmp_path: Path, embedder: Embedder, delay: float) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "first.txt").write_text("The original document is about lighthouses on rocky coasts.")
    config = _config(tmp_path)
    settings = load_settings(config, environ={})
    Builder(settings, lambda: embedder).build()
    before = current_dir(settings.index_dir)

    # Enough new text that the build is still embedding when it is killed: 80 documents of ~20
    # chunks; the int8 model embeds ~130 chunks/s on 2 cores, so ~12 s of embedding.
    for i in range(80):
        (seeds / f"new{i:03}.txt").write_text(f"Paragraph {i} about ocean navigation. " * 400)
    proc = _run_build(config)
    _wait_for_staging(tmp_path, proc)
    time.sleep(delay)
    assert proc.poll() is None, "the build finished before it could be killed; make the corpus bigger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)

    assert current_dir(settings.index_dir) == before
    snapshot = open_current(settings.index_dir)  # verifies every file's sha256
    assert set(snapshot.manifest.documents) == {"first.txt"}
    snapshot.close()

    # The next build cleans up after the killed one and publishes.
    assert Builder(settings, lambda: embedder).build().published
    assert current_dir(settings.index_dir) != before
    assert open_current(settings.index_dir).manifest.counts.documents == 81
    leftovers = [
        p for p in (settings.index_dir / SNAPSHOTS_DIR).iterdir() if p.name.startswith(STAGING_PREFIX)
    ]
    assert leftovers == []


def test_failure_while_publishing_keeps_previous_snapshot(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "a.txt").write_text("First version.")
    settings = load_settings(_config(tmp_path), environ={})
    Builder(settings, lambda: embedder).build()
    before = current_dir(settings.index_dir)
    (seeds / "a.txt").write_text("Second version.")

    def broken_replace(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("indexer.snapshot.publish.os.replace", broken_replace)
    with pytest.raises(IndexWriteError, match="disk full"):
        Builder(settings, lambda: embedder).build()
    monkeypatch.undo()
    assert current_dir(settings.index_dir) == before
    assert Builder(settings, lambda: embedder).build().published
    doc = open_current(settings.index_dir).store.document("a.txt")
    assert doc is not None and doc.text == "Second version."
