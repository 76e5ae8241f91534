"""``python -m indexer watch`` against a real folder (real watchfiles events, real updates, the hash
embedder for the model): additions, changes and deletions reach the published snapshot; a file still
being written is not read half-written; a burst goes into a few updates; a blocked or failing update
does not end the watch."""

from __future__ import annotations

import hashlib
import logging
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from indexer import cli
from indexer.build import Builder
from indexer.config import Settings, load_settings
from indexer.errors import NoSnapshotError
from indexer.snapshot.manifest import Manifest
from indexer.snapshot.publish import build_lock
from indexer.snapshot.view import read_live_manifest
from indexer.watch.claim import WatchClaim
from indexer.watch.loop import WatchLoop
from tests.hash_embedder import HashEmbedder

REPO = Path(__file__).resolve().parents[3]
T = TypeVar("T")
TIMEOUT = 60.0
"""Generous: the machine may be busy; a working watcher takes a second or two."""


def _settings(tmp_path: Path, *, settle: float = 0.3, index: str = "index", extra: str = "") -> Settings:
    seeds = tmp_path / "seeds"
    seeds.mkdir(exist_ok=True)
    config = tmp_path / "config.yaml"
    config.write_text(
        f"seeds_dir: seeds\nindex_dir: {index}\n"
        f"watch: {{settle_seconds: {settle}, retry_seconds: 0.2}}\n{extra}",
        encoding="utf-8",
    )
    return load_settings(config, environ={})


@pytest.fixture
def watching(tmp_path: Path) -> Iterator[Callable[[Settings], WatchLoop]]:
    """Start a watch loop (in a thread) on settings; stopped, and its result checked, afterwards."""
    started: list[tuple[WatchLoop, threading.Thread, list[int]]] = []

    def start(settings: Settings) -> WatchLoop:
        loop = WatchLoop(settings, settings.collection_names, HashEmbedder)
        result: list[int] = []
        thread = threading.Thread(target=lambda: result.append(loop.run()), daemon=True)
        thread.start()
        started.append((loop, thread, result))
        return loop

    yield start
    for loop, thread, result in started:
        loop.stop()
        thread.join(TIMEOUT)
        assert not thread.is_alive(), "the watch did not stop"
        assert result == [0]


def _manifest(index: Path) -> Manifest | None:
    try:
        return read_live_manifest(index)
    except NoSnapshotError:
        return None


def eventually(check: Callable[[], T | None], what: str) -> T:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    pytest.fail(f"not within {TIMEOUT:g} s: {what}")


def _documents(index: Path) -> dict[str, str]:
    manifest = _manifest(index)
    return {} if manifest is None else {d: e.sha256 for d, e in manifest.documents.items()}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_additions_changes_and_deletions_reach_the_snapshot(
    tmp_path: Path, watching: Callable[[Settings], WatchLoop], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="indexer.watch")
    settings = _settings(tmp_path)
    seeds, index = settings.seeds_dir, settings.index_dir
    (seeds / "old.md").write_text("# Old\n\nThe lighthouse keeper lit the lamp.", encoding="utf-8")
    watching(settings)
    # what was there before the watch started is applied first
    eventually(lambda: "old.md" in _documents(index), "the document present at start indexed")

    (seeds / "reports").mkdir()
    (seeds / "reports" / "bees.md").write_text("# Bees\n\nHoney bees dance.", encoding="utf-8")
    eventually(lambda: "reports/bees.md" in _documents(index), "an added file indexed")

    (seeds / "old.md").write_text("# Old\n\nThe keeper now reads by candle light.", encoding="utf-8")
    new = _sha(seeds / "old.md")
    eventually(lambda: _documents(index).get("old.md") == new, "a changed file indexed again")

    (seeds / "reports" / "bees.md").unlink()
    eventually(lambda: "reports/bees.md" not in _documents(index), "a deleted file removed")
    assert set(_documents(index)) == {"old.md"}

    def logged(counts: str) -> bool | None:  # the line follows the publish: it may come a moment later
        lines = [r.getMessage() for r in caplog.records if r.name == "indexer.watch.apply"]
        return any(counts in line for line in lines) or None

    for counts in ("1 added, 0 changed", "0 added, 1 changed", "0 added, 0 changed, 1 deleted"):
        eventually(lambda counts=counts: logged(counts), f"the log line {counts!r}")  # type: ignore[misc]


def test_a_file_still_being_written_is_not_indexed_half_written(
    tmp_path: Path, watching: Callable[[Settings], WatchLoop]
) -> None:
    settings = _settings(tmp_path, settle=1.5)
    seeds, index = settings.seeds_dir, settings.index_dir
    (seeds / "other.md").write_text("# Other\n\nSomething else entirely.", encoding="utf-8")
    watching(settings)
    eventually(lambda: "other.md" in _documents(index), "the watch running")
    path = seeds / "growing.md"
    with path.open("w", encoding="utf-8") as out:
        for part in range(8):  # a slow copy: a piece every 0.3 s, each gap well within the settle time
            out.write(f"Part {part} of the slowly written report about tides and harbours.\n\n")
            out.flush()
            time.sleep(0.3)
            assert "growing.md" not in _documents(index), f"indexed while being written (part {part})"
    whole = _sha(path)
    assert eventually(lambda: _documents(index).get("growing.md"), "the written file indexed") == whole


def test_a_burst_of_files_goes_into_a_few_updates(
    tmp_path: Path, watching: Callable[[Settings], WatchLoop], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="indexer.watch")
    settings = _settings(tmp_path, settle=0.5)
    seeds, index = settings.seeds_dir, settings.index_dir
    watching(settings)
    eventually(lambda: any("watching" in r.getMessage() for r in caplog.records), "the watch running")
    staging = tmp_path / "copy"
    staging.mkdir()
    for n in range(200):
        (staging / f"note-{n:03}.txt").write_text(f"Note number {n} about topic {n % 7}.", encoding="utf-8")
    staging.rename(seeds / "notes")  # a folder moved in: one event for 200 files
    for n in range(200, 300):
        (seeds / f"loose-{n}.txt").write_text(f"Loose note {n}.", encoding="utf-8")
    eventually(lambda: len(_documents(index)) == 300, "all 300 files indexed")
    updates = [r for r in caplog.records if r.name == "indexer.watch.apply" and " added, " in r.getMessage()]
    assert len(updates) <= 10, [r.getMessage() for r in updates]


def test_folders_moved_out_in_and_renamed(tmp_path: Path, watching: Callable[[Settings], WatchLoop]) -> None:
    settings = _settings(tmp_path)
    seeds, index = settings.seeds_dir, settings.index_dir
    (seeds / "keep.md").write_text("# Keep\n\nStays.", encoding="utf-8")
    (seeds / "old" / "deep").mkdir(parents=True)
    (seeds / "old" / "a.md").write_text("# A\n\nFirst.", encoding="utf-8")
    (seeds / "old" / "deep" / "b.md").write_text("# B\n\nSecond.", encoding="utf-8")
    watching(settings)
    eventually(lambda: len(_documents(index)) == 3, "the folder indexed")
    (seeds / "old").rename(tmp_path / "moved-out")  # one event for the folder, none for its files
    eventually(lambda: set(_documents(index)) == {"keep.md"}, "the moved-out folder's documents removed")
    (tmp_path / "moved-out").rename(seeds / "back")  # moved in: one event for the folder
    eventually(
        lambda: set(_documents(index)) == {"keep.md", "back/a.md", "back/deep/b.md"},
        "the moved-in folder's documents added",
    )
    (seeds / "back").rename(seeds / "renamed")
    eventually(
        lambda: set(_documents(index)) == {"keep.md", "renamed/a.md", "renamed/deep/b.md"},
        "the renamed folder's documents under their new ids",
    )


def test_the_index_folder_inside_the_seeds_folder_starts_no_update(
    tmp_path: Path, watching: Callable[[Settings], WatchLoop]
) -> None:
    settings = _settings(tmp_path, index="seeds/index")
    seeds, index = settings.seeds_dir, settings.index_dir
    (seeds / "doc.md").write_text("# Doc\n\nA document.", encoding="utf-8")
    watching(settings)
    eventually(lambda: "doc.md" in _documents(index), "the document indexed")
    (seeds / "last.md").write_text("# Last\n\nA second document.", encoding="utf-8")
    eventually(lambda: "last.md" in _documents(index), "the second document indexed")
    manifest = _manifest(index)
    time.sleep(2)  # were the index's own writes watched, each publish would start another update
    assert _manifest(index) == manifest


def test_a_locked_build_is_waited_for_and_a_failing_document_is_reported(
    tmp_path: Path, watching: Callable[[Settings], WatchLoop], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="indexer.watch")
    settings = _settings(tmp_path)
    seeds, index = settings.seeds_dir, settings.index_dir
    (seeds / "first.md").write_text("# First\n\nOne.", encoding="utf-8")
    watching(settings)
    eventually(lambda: "first.md" in _documents(index), "the watch running")
    with build_lock(index):  # a build from the CLI holds the collection
        (seeds / "second.md").write_text("# Second\n\nTwo.", encoding="utf-8")
        eventually(lambda: any("trying again" in r.getMessage() for r in caplog.records), "the lock noticed")
        assert "second.md" not in _documents(index)
    eventually(lambda: "second.md" in _documents(index), "indexed once the lock is free")
    (seeds / "broken.txt").write_bytes(b"\xff\xfe\x00 not text at all \xc3\x28")
    (seeds / "third.md").write_text("# Third\n\nThree.", encoding="utf-8")
    eventually(lambda: "third.md" in _documents(index), "the watch going on after a failing file")
    failed = eventually(
        lambda: [r.getMessage() for r in caplog.records if "broken.txt not indexed" in r.getMessage()],
        "the failing file logged with the reason",
    )
    assert ": " in failed[0].split("not indexed", 1)[1]


def test_every_collection_is_watched_in_its_own_folder(
    tmp_path: Path, watching: Callable[[Settings], WatchLoop]
) -> None:
    for name in ("papers", "notes"):
        (tmp_path / name).mkdir()
    settings = _settings(
        tmp_path,
        extra="collections: {papers: {seeds_dir: papers}, notes: {seeds_dir: notes}}\n"
        "default_collection: papers\n",
    )
    watching(settings)
    (tmp_path / "papers" / "bees.md").write_text("# Bees\n\nHoney bees dance.", encoding="utf-8")
    (tmp_path / "notes" / "ants.md").write_text("# Ants\n\nAnts follow trails.", encoding="utf-8")
    eventually(lambda: set(_documents(settings.index_dir / "papers")) == {"bees.md"}, "papers indexed")
    eventually(lambda: set(_documents(settings.index_dir / "notes")) == {"ants.md"}, "notes indexed")


def _cli_config(tmp_path: Path) -> Path:
    settings = _settings(tmp_path)
    (settings.seeds_dir / "doc.md").write_text("# Doc\n\nA document.", encoding="utf-8")
    Builder(settings, HashEmbedder).build()  # up to date: the command needs no model
    return tmp_path / "config.yaml"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_the_command_stops_cleanly_on_ctrl_c_and_sigterm(tmp_path: Path, sig: signal.Signals) -> None:
    config = _cli_config(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "indexer", "--config", str(config), "watch"],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        lines: list[str] = []
        for line in proc.stderr:  # the initial reconciliation is logged once the folder is watched
            lines.append(line)
            if "up to date" in line:
                break
        assert any("default: watching" in line for line in lines), lines
        proc.send_signal(sig)
        assert proc.wait(timeout=TIMEOUT) == 0
        assert "stopped" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_an_unknown_collection_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _cli_config(tmp_path)
    assert cli.main(["--config", str(config), "watch", "--collection", "nope"]) == 1
    assert "no collection 'nope'" in capsys.readouterr().err


def test_a_collection_another_process_watches_is_not_watched_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _cli_config(tmp_path)
    other = WatchClaim(tmp_path / "index")  # e.g. the service with watch: true
    assert other.acquire()
    assert not WatchClaim(tmp_path / "index").acquire()
    assert cli.main(["--config", str(config), "watch"]) == 1
    assert "default is already watched by another process" in capsys.readouterr().err
    other.release()
    assert WatchClaim(tmp_path / "index").acquire()


def test_a_removed_seeds_folder_ends_the_watch_with_the_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(tmp_path)
    (settings.seeds_dir / "doc.md").write_text("# Doc\n\nA document.", encoding="utf-8")
    loop = WatchLoop(settings, settings.collection_names, HashEmbedder)
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(loop.run()), daemon=True)
    thread.start()
    eventually(lambda: "doc.md" in _documents(settings.index_dir), "the watch running")
    shutil.rmtree(settings.seeds_dir)
    thread.join(TIMEOUT)
    assert result == [1]
    assert any("removed or replaced" in r.getMessage() for r in caplog.records)
