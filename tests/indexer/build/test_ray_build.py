"""``build --ray``: a build on a local Ray (2 CPUs) publishes the same index as a local build, reuses
unchanged documents' vectors, and survives (or fails cleanly on) an embedding actor killed mid-build.

One Ray is started for the module (the builds keep a connection they did not open); the corpus is
small so the module stays within a minute or so."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest

from indexer.build import Builder, BuildReport
from indexer.config import RaySettings, Settings
from indexer.embedding import Embedder
from indexer.errors import RayUnavailableError
from indexer.search import SearchEngine
from indexer.snapshot import current_dir, open_current
from tests.conftest import REPO, make_settings
from tests.indexer.build.ray_helpers import corpus as _corpus
from tests.indexer.build.ray_helpers import rows as _rows

ray = pytest.importorskip("ray", reason="the Ray build needs pip install -e '.[ray]' (in the dev extra)")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """A local Ray with 2 CPUs for the module's builds, started as ``--ray local`` starts one."""
    from indexer.build.ray.cluster import connected
    from indexer.build.ray.target import parse_target

    if ray.is_initialized():
        yield
        return
    with connected(parse_target("local"), RaySettings(local_cpus=2)):
        yield


def _settings(root: Path, seeds: Path, **ray_options: Any) -> Settings:
    settings = make_settings(root)
    return msgspec.structs.replace(
        settings, seeds_dir=seeds, index_dir=root / "index", ray=RaySettings(local_cpus=2, **ray_options)
    )


def _top(settings: Settings, embedder: Embedder, queries: list[str]) -> list[list[tuple[str, int, int]]]:
    searcher = SearchEngine(settings, embedder).open_current()
    try:
        return [
            [(h.chunk.doc_id, h.chunk.char_start, h.chunk.char_end) for h in searcher.search(q, 5, mode)]
            for q in queries
            for mode in ("dense", "hybrid")
        ]
    finally:
        searcher.close()


def test_ray_build_publishes_the_same_index_as_a_local_build(
    tmp_path: Path, embedder: Embedder, local_ray: None
) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    _corpus(seeds, 30)
    local = _settings(tmp_path / "local", seeds)
    on_ray = _settings(tmp_path / "ray", seeds, batch_size=64, documents_per_batch=4)
    local_report = Builder(local, lambda: embedder).build()
    ray_report = Builder(on_ray, lambda: embedder, ray="local").build()

    assert ray_report.published and ray_report.documents == local_report.documents == 30
    assert ray_report.chunks == local_report.chunks > 100
    assert ray_report.skipped == local_report.skipped
    assert {"broken.pdf", "empty.txt"} <= set(ray_report.skipped)
    local_chunks, local_vectors, local_skipped = _rows(local)
    ray_chunks, ray_vectors, ray_skipped = _rows(on_ray)
    assert ray_chunks == local_chunks and ray_skipped == local_skipped
    np.testing.assert_allclose(ray_vectors, local_vectors, atol=2e-3)
    assert np.all(np.sum(ray_vectors * local_vectors, axis=1) > 0.999)
    queries = ["lava from a volcano", "the moon pulls the tides", "neurons in the cortex signal"]
    assert _top(on_ray, embedder, queries) == _top(local, embedder, queries)
    ray_manifest, local_manifest = open_current(on_ray.index_dir), open_current(local.index_dir)
    try:
        assert ray_manifest.manifest.model == local_manifest.manifest.model
        assert ray_manifest.manifest.documents == local_manifest.manifest.documents
    finally:
        ray_manifest.close()
        local_manifest.close()


def test_ray_rebuild_embeds_only_changed_documents(
    tmp_path: Path, embedder: Embedder, local_ray: None
) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    _corpus(seeds, 12)
    settings = _settings(tmp_path, seeds)
    first = Builder(settings, lambda: embedder, ray="local").build()
    chunks_before, vectors_before, _ = _rows(settings)
    (seeds / "doc001.txt").write_text(
        "Glaciers carve valleys. The ice moves slowly downhill.", encoding="utf-8"
    )
    (seeds / "added.txt").write_text("Comets orbit the sun on long elliptic paths.", encoding="utf-8")

    second = Builder(settings, lambda: embedder, ray="local").build()
    assert second.embedded_documents == 2 and second.reused_documents == first.embedded_documents - 1
    chunks_after, vectors_after, _ = _rows(settings)
    before = {c[0]: v for c, v in zip(chunks_before, vectors_before, strict=True) if c[1] != "doc001.txt"}
    after = {c[0]: v for c, v in zip(chunks_after, vectors_after, strict=True)}
    assert all(np.array_equal(after[chunk_id], vector) for chunk_id, vector in before.items())
    assert any(c[1] == "added.txt" for c in chunks_after)


@contextlib.contextmanager
def _killing_embedding_actor() -> Iterator[list[int]]:
    """SIGKILL the first embedding actor's process as soon as it is up (its model loaded), as a node
    losing a worker would; yields the pids killed."""
    killed: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set() and not killed:
            for actor in ray._private.state.actors().values():  # GCS's table: no dashboard needed
                if actor["State"] == "ALIVE" and "EmbedStage" in actor["ActorClassName"]:
                    os.kill(actor["Pid"], signal.SIGKILL)
                    killed.append(actor["Pid"])
                    break
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield killed
    finally:
        stop.set()
        watcher.join()


def _build_while_killing(settings: Settings, embedder: Embedder) -> BuildReport:
    with _killing_embedding_actor() as killed:
        try:
            return Builder(settings, lambda: embedder, ray="local").build()
        finally:
            assert killed, "the embedding actor was never seen alive"


def test_killed_embedding_actor_is_restarted_and_the_build_completes(
    tmp_path: Path, embedder: Embedder, local_ray: None
) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    _corpus(seeds, 40, seed=11)
    settings = _settings(tmp_path, seeds, batch_size=16, max_retries=2)
    report = _build_while_killing(settings, embedder)
    assert report.published and report.embedded_chunks == report.chunks > 100
    local = _settings(tmp_path / "local", seeds)
    Builder(local, lambda: embedder).build()
    assert _rows(settings)[0] == _rows(local)[0]


def _descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


EMBED_ACTOR_TITLE = b"ray::MapWorker(MapBatches(EmbedStage))"


def _kill_embedding_actor_of(proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    """SIGKILL the embedding actor of the Ray that ``proc`` (a ``build --ray local``) started, once it
    has loaded the model."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[0].decode()
        for pid in _descendants(proc.pid):
            with contextlib.suppress(OSError):
                # Its title once the model is loaded (".__init__" while loading).
                if Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0 ") == EMBED_ACTOR_TITLE:
                    os.kill(pid, signal.SIGKILL)
                    return
        time.sleep(0.05)
    raise AssertionError("the embedding actor was never seen")


def test_actor_dying_for_good_fails_the_build_cleanly_and_the_next_build_finishes(
    tmp_path: Path, embedder: Embedder, local_ray: None
) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "first.txt").write_text("Lighthouses stand on rocky coasts.", encoding="utf-8")
    settings = _settings(tmp_path, seeds)
    Builder(settings, lambda: embedder).build()
    served = current_dir(settings.index_dir)
    _corpus(seeds, 40, seed=13)
    env = {
        **os.environ,
        "CITESEARCH__SEEDS_DIR": str(seeds),
        "CITESEARCH__INDEX_DIR": str(settings.index_dir),
        "CITESEARCH__RAY__MAX_RETRIES": "0",
        "CITESEARCH__RAY__STALL_SECONDS": "15",
        "CITESEARCH__RAY__LOCAL_CPUS": "2",
    }
    command = [sys.executable, "-m", "indexer", "build", "--ray", "local", "--no-progress"]
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _kill_embedding_actor_of(proc)
        output = proc.communicate(timeout=180)[0].decode()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, output
    assert "ray.stall_seconds" in output and "Traceback" not in output and len(output.splitlines()) <= 3, (
        output
    )
    assert current_dir(settings.index_dir) == served

    report = Builder(settings, lambda: embedder, ray="local").build()
    assert report.published and report.documents == 41 and current_dir(settings.index_dir) != served


def test_ray_flag_without_ray_says_how_to_install_it(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    from indexer.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a)
    )
    with pytest.raises(RayUnavailableError, match=r"pip install -e '\.\[ray\]'"):
        Builder(settings, ray="local")
    monkeypatch.setenv("CITESEARCH__SEEDS_DIR", str(settings.seeds_dir))
    monkeypatch.setenv("CITESEARCH__INDEX_DIR", str(settings.index_dir))
    assert main(["build", "--ray", "local"]) == 1
    assert "pip install -e '.[ray]'" in capsys.readouterr().err


def test_ray_flag_refuses_an_address_ray_does_not_understand(settings: Settings) -> None:
    with pytest.raises(RayUnavailableError, match="ray://host:port"):
        Builder(settings, ray="http://cluster:8265")
