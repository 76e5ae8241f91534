"""Locks on a snapshot folder: readers (the service, a build reusing vectors) hold a shared ``flock`` on
its manifest while they use it; pruning removes a snapshot only if it can lock it exclusively."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

from indexer.errors import SnapshotError
from indexer.snapshot.layout import MANIFEST_NAME

log = logging.getLogger(__name__)


@contextlib.contextmanager
def reading_lock(directory: Path) -> Iterator[None]:
    """A shared lock on a snapshot while it is read or served, so that pruning leaves it alone
    (:class:`SnapshotError` if the snapshot is incomplete or being removed)."""
    try:
        fh = (directory / MANIFEST_NAME).open("rb")
    except OSError as exc:
        raise SnapshotError(f"{directory.name}: no readable {MANIFEST_NAME} (incomplete snapshot)") from exc
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise SnapshotError(f"{directory.name} is being removed") from exc
        yield


def remove_unless_read(directory: Path) -> bool:
    """Delete a snapshot folder unless some process holds its reading lock; whether it was deleted."""
    try:
        fh = (directory / MANIFEST_NAME).open("rb")
    except FileNotFoundError:  # no manifest: nobody can have opened it
        shutil.rmtree(directory, ignore_errors=True)
        return True
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("keeping old snapshot %s: a running process still reads it", directory.name)
            return False
        log.info("removing old snapshot %s", directory.name)
        shutil.rmtree(directory, ignore_errors=True)
    return True
