"""The Ray build benchmark (``python -m bench.ray_bench``) and the replica memory benchmark
(``python -m bench.replica_memory``): their comparisons and measures, on a small index."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import pytest

from bench.ray_bench import _cpus_per_actor, compare
from bench.replica_memory import files_per_chunk, memory
from indexer.build import Builder
from indexer.embedding import Embedder
from indexer.errors import NoSnapshotError
from service.settings import AppSettings


def test_actors_leave_room_for_reading_and_chunking() -> None:
    assert _cpus_per_actor(1, 2) == 1.0
    assert _cpus_per_actor(2, 2) == 0.75  # 2 x 0.75 + 0.25 reading + 0.25 chunking = 2 CPUs
    assert 4 * _cpus_per_actor(4, 2) + 0.5 <= 2


def test_memory_reads_this_process() -> None:
    mine = memory(os.getpid())
    assert 0 < mine["private_mib"] <= mine["rss_mib"] and 0 < mine["pss_mib"] <= mine["rss_mib"]


def test_compare_and_files_per_chunk(settings: AppSettings, embedder: Embedder, tmp_path: Path) -> None:
    (settings.seeds_dir / "a.txt").write_text("Tides follow the Moon.\n\nLava flows from volcanoes.")
    Builder(settings, lambda: embedder).build()
    other = msgspec.structs.replace(settings, index_dir=tmp_path / "other")
    Builder(other, lambda: embedder).build()
    assert compare(settings.index_dir, other.index_dir) == {"same_chunks": True, "max_vector_difference": 0.0}
    (settings.seeds_dir / "a.txt").write_text("Something else entirely.")
    Builder(other, lambda: embedder).build()
    assert compare(settings.index_dir, other.index_dir)["same_chunks"] is False
    files = files_per_chunk(settings.index_dir)
    assert files["chunks"] >= 1
    assert files["bytes_per_chunk"]["vectors.npy"] >= 384 * 4
    assert {"index.faiss", "store.sqlite", "manifest.json"} <= set(files["bytes_per_chunk"])
    with pytest.raises(NoSnapshotError):
        files_per_chunk(tmp_path / "none")
