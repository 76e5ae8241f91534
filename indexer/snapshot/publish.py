"""Write side of the snapshot layout: stage a snapshot, then switch ``current`` in one atomic step.

A build killed at any moment leaves ``current`` pointing at the previous complete snapshot: the new
one is written under ``.staging-<id>``, fsynced, renamed into place, and only then is ``current``
replaced (``rename(2)`` of a fresh symlink over the old one, atomic on POSIX).
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

from indexer.errors import BuildLockedError
from indexer.snapshot.layout import CURRENT_LINK, SNAPSHOTS_DIR

log = logging.getLogger(__name__)

STAGING_PREFIX = ".staging-"
LOCK_NAME = ".lock"


def new_snapshot_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(3)


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the index folder for the duration of a build (released on crash)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / LOCK_NAME).open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise BuildLockedError(f"another build is running on {index_dir}") from exc
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def staging_dir(index_dir: Path, snapshot_id: str) -> Path:
    """A fresh staging folder; leftovers of killed builds are removed first (we hold the lock)."""
    root = index_dir / SNAPSHOTS_DIR
    root.mkdir(parents=True, exist_ok=True)
    for leftover in root.glob(STAGING_PREFIX + "*"):
        log.info("removing leftover staging folder %s", leftover)
        shutil.rmtree(leftover, ignore_errors=True)
    path = root / (STAGING_PREFIX + snapshot_id)
    path.mkdir()
    return path


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    for child in path.iterdir():
        if child.is_dir():
            _fsync_tree(child)
        elif child.is_file():
            with child.open("rb") as fh:
                os.fsync(fh.fileno())
    _fsync_dir(path)


def publish(index_dir: Path, staged: Path, snapshot_id: str, keep: int) -> Path:
    """Move a complete staged snapshot into place and point ``current`` at it."""
    root = index_dir / SNAPSHOTS_DIR
    final = root / snapshot_id
    _fsync_tree(staged)
    os.rename(staged, final)
    _fsync_dir(root)
    tmp_link = index_dir / f".{CURRENT_LINK}.{snapshot_id}"
    os.symlink(Path(SNAPSHOTS_DIR) / snapshot_id, tmp_link)
    os.replace(tmp_link, index_dir / CURRENT_LINK)
    _fsync_dir(index_dir)
    prune(index_dir, keep)
    return final


def prune(index_dir: Path, keep: int) -> None:
    """Delete all but the ``keep`` newest published snapshots; the current one is always kept."""
    root = index_dir / SNAPSHOTS_DIR
    current = (index_dir / CURRENT_LINK).resolve()
    published = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True)
    for old in published[keep:]:
        if old.resolve() != current:
            log.info("removing old snapshot %s", old.name)
            shutil.rmtree(old, ignore_errors=True)
