"""bench/common.py: the heavy-job lock check and the small shared helpers."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pytest

from bench.common import ancestors, first_documents, lock_holders, warn_unless_locked, write_json
from indexer.evaluation import Collection


def test_a_run_outside_the_lock_is_warned_about(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lock = tmp_path / "heavy.lock"
    lock.touch()
    warn_unless_locked(lock)
    assert "not run under `flock" in capsys.readouterr().err


def test_a_run_under_the_lock_is_not_warned_about(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lock = tmp_path / "heavy.lock"
    lock.touch()
    fd = os.open(lock, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # held by this process, as `flock` holds it for its child
        assert os.getpid() in lock_holders(lock)
        warn_unless_locked(lock)
    finally:
        os.close(fd)
    assert capsys.readouterr().err == ""
    assert lock_holders(lock) == set()


def test_ancestors_end_at_the_first_process() -> None:
    chain = ancestors()
    assert chain[0] == os.getpid() and chain[1] == os.getppid() and chain[-1] in (0, 1)


def test_first_documents_keeps_file_order_and_the_queries() -> None:
    corpus = {f"d{i}": (f"t{i}", f"text {i}") for i in range(5)}
    collection = Collection("c", corpus, {"q": "query"}, {"q": {"d4": 1}})
    small = first_documents(collection, 2)
    assert list(small.corpus) == ["d0", "d1"] and small.queries == {"q": "query"}


def test_write_json_replaces_the_file_whole(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    out.write_text("old")
    write_json(out, {"rps": 1.5})
    assert json.loads(out.read_text()) == {"rps": 1.5}
    assert [p.name for p in tmp_path.iterdir()] == ["figures.json"]
