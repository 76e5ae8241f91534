"""Write side of the snapshot layout: stage a snapshot, then switch ``current`` in one atomic step.

A build killed at any moment leaves ``current`` pointing at the previous complete snapshot: the new
one is written under ``.staging-<id>``, fsynced, renamed into place, and only then is ``current``
replaced (``rename(2)`` of a fresh symlink over the old one, atomic on POSIX).

Pruning removes old snapshots, never the current one nor one a process still serves: readers hold a
shared ``flock`` on a snapshot's manifest (:mod:`indexer.snapshot.locks`), and a snapshot whose lock
cannot be taken exclusively is left alone. Intact snapshots (manifest readable, every file of its
size) are kept in preference to newer damaged ones.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from indexer.errors import BuildLockedError, IndexWriteError, SnapshotError
from indexer.snapshot.durable import fsync_dir
from indexer.snapshot.layout import CURRENT_LINK, SEGMENTS_DIR, SNAPSHOTS_DIR
from indexer.snapshot.locks import remove_unless_read
from indexer.snapshot.manifest import read_manifest
from indexer.snapshot.reader import verify_files

log = logging.getLogger(__name__)

STAGING_PREFIX = ".staging-"
LOCK_NAME = ".lock"


def new_snapshot_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(3)


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the index folder for the duration of a build (released on crash)."""
    with _writing(index_dir):
        index_dir.mkdir(parents=True, exist_ok=True)
        fh = (index_dir / LOCK_NAME).open("a")
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise BuildLockedError(f"another build is running on {index_dir}") from exc
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextlib.contextmanager
def _writing(index_dir: Path) -> Iterator[None]:
    """Report a failed write to the index folder as one clear :class:`IndexWriteError`."""
    try:
        yield
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        raise IndexWriteError(
            f"cannot write the index folder {index_dir}: {exc.strerror or exc}{where}"
        ) from exc


def staging_dir(index_dir: Path, snapshot_id: str) -> Path:
    """A fresh staging folder; leftovers of killed builds are removed first (we hold the lock)."""
    root = index_dir / SNAPSHOTS_DIR
    with _writing(index_dir):
        root.mkdir(parents=True, exist_ok=True)
        for leftover in root.glob(STAGING_PREFIX + "*"):
            log.info("removing leftover staging folder %s", leftover)
            shutil.rmtree(leftover, ignore_errors=True)
        path = root / (STAGING_PREFIX + snapshot_id)
        path.mkdir()
    return path


def segment_staging_dir(index_dir: Path, segment_id: str) -> Path:
    """A fresh staging folder for a delta segment (leftovers of killed updates are removed when the
    live state is next published: :func:`indexer.snapshot.state.prune_segments`)."""
    root = index_dir / SEGMENTS_DIR
    with _writing(index_dir):
        root.mkdir(parents=True, exist_ok=True)
        path = root / (STAGING_PREFIX + segment_id)
        path.mkdir()
    return path


def publish_segment(index_dir: Path, staged: Path, segment_id: str) -> Path:
    """Move a complete staged segment into place (fsynced); the live state names it afterwards."""
    return _move_into_place(index_dir, staged, index_dir / SEGMENTS_DIR / segment_id)


def _move_into_place(index_dir: Path, staged: Path, final: Path) -> Path:
    """Rename the complete folder ``staged`` to ``final`` once every file in it is on disk."""
    with _writing(index_dir):
        _fsync_tree(staged)
        os.rename(staged, final)
        fsync_dir(final.parent)
    return final


def _fsync_tree(path: Path) -> None:
    for child in path.iterdir():
        if child.is_dir():
            _fsync_tree(child)
        elif child.is_file():
            with child.open("rb") as fh:
                os.fsync(fh.fileno())
    fsync_dir(path)


def publish(index_dir: Path, staged: Path, snapshot_id: str) -> Path:
    """Move a complete staged snapshot into place and point ``current`` at it. If only switching
    ``current`` fails, the complete snapshot stays in ``snapshots/`` and the next build reuses it."""
    final = _move_into_place(index_dir, staged, index_dir / SNAPSHOTS_DIR / snapshot_id)
    switch_current(index_dir, snapshot_id)
    return final


def switch_current(index_dir: Path, snapshot_id: str) -> None:
    """Point ``current`` at ``snapshots/<snapshot_id>`` in one atomic rename."""
    tmp_link = index_dir / f".{CURRENT_LINK}.{snapshot_id}"
    with _writing(index_dir):
        with contextlib.suppress(FileNotFoundError):
            tmp_link.unlink()
        os.symlink(Path(SNAPSHOTS_DIR) / snapshot_id, tmp_link)
        os.replace(tmp_link, index_dir / CURRENT_LINK)
        fsync_dir(index_dir)


def intact(directory: Path) -> bool:
    """Whether a snapshot's manifest reads and every file it lists has its size (no checksums: cheap)."""
    try:
        verify_files(directory, read_manifest(directory), checksums=False)
    except SnapshotError:
        return False
    return True


def prune(index_dir: Path, keep: int) -> list[str]:
    """Delete published snapshots beyond the ``keep`` to keep: the current one, then the newest intact
    ones; damaged ones go first. A snapshot some process still reads or serves is skipped. The names
    of the deleted snapshots."""
    root = index_dir / SNAPSHOTS_DIR
    current = (index_dir / CURRENT_LINK).resolve()
    published = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True)
    good = [p for p in published if p == current or intact(p)]
    kept = ([current] if current in published else []) + [p for p in good if p != current]
    removed = []
    for old in (p for p in published if p not in kept[:keep]):
        if remove_unless_read(old):
            removed.append(old.name)
    return removed
