"""Watch one source folder with watchfiles (inotify, FSEvents, ReadDirectoryChangesW: the operating
system's own change notifications) and hand on batches of the documents whose files changed and then
settled. A burst of changes (a copy of 500 files) arrives as a few batches, not 500."""

from __future__ import annotations

import bisect
import logging
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import watchfiles

from indexer.errors import SnapshotError
from indexer.snapshot.view import read_live_manifest
from indexer.watch.paths import SourcePaths
from indexer.watch.settle import Settling

log = logging.getLogger(__name__)

DEBOUNCE_MS = 1600
"""A burst of events is handed on at least this often while it lasts."""
STEP_MS = 50
"""A burst ends when no event came for this long."""


def indexed_under(index_dir: Path, folders: Iterable[str]) -> set[str]:
    """The documents the served snapshot holds (indexed or skipped) inside any of ``folders``."""
    try:
        manifest = read_live_manifest(index_dir)
    except SnapshotError:
        return set()
    ids = sorted({*manifest.documents, *manifest.skipped})
    found: set[str] = set()
    for folder in folders:
        prefix = folder + "/"
        start = bisect.bisect_left(ids, prefix)
        for doc_id in ids[start:]:
            if not doc_id.startswith(prefix):
                break
            found.add(doc_id)
    return found


def _identity(folder: Path) -> tuple[int, int] | None:
    try:
        info = folder.stat()
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


class FolderWatch:
    """The documents of one source folder that change: ``on_changes`` is called (from the thread
    that runs :meth:`run`) with each batch of settled doc_ids, deleted ones included. A folder moved
    or copied in counts as each file in it; a folder removed or moved out, as each document the index
    holds in it."""

    def __init__(
        self,
        root: Path,
        *,
        index_dir: Path,
        settle_seconds: float,
        on_changes: Callable[[frozenset[str]], None],
        ignore: Iterable[Path] = (),
    ) -> None:
        self.paths = SourcePaths(root, ignore=(index_dir, *ignore))
        self.index_dir = index_dir
        self.settling = Settling(settle_seconds)
        self.on_changes = on_changes
        self.tick_ms = int(min(500.0, max(50.0, settle_seconds * 250)))
        self.started = threading.Event()
        """Set once the operating system reports the folder's changes: what changes from then on is
        seen (a reconciliation started after it misses nothing)."""

    def _wanted(self, change: watchfiles.Change, path: str) -> bool:
        return self.paths.wanted(path)

    def run(self, stop: threading.Event) -> None:
        """Watch until ``stop`` is set (blocking: run it in a thread of its own)."""
        if not self.paths.root.is_dir():
            raise FileNotFoundError(f"source folder not found: {self.paths.root}")
        identity = _identity(self.paths.root)
        for changes in watchfiles.watch(
            self.paths.root,
            watch_filter=self._wanted,
            debounce=DEBOUNCE_MS,
            step=STEP_MS,
            stop_event=stop,
            rust_timeout=self.tick_ms,
            yield_on_timeout=True,
            ignore_permission_denied=True,
        ):
            self.started.set()
            if _identity(self.paths.root) != identity:  # its events no longer come: say so, never go quiet
                raise FileNotFoundError(f"the source folder was removed or replaced: {self.paths.root}")
            if changes:
                self._note(changes)
            ready = self.settling.ready()
            if ready:
                log.debug("%s: %d documents settled", self.paths.root, len(ready))
                self.on_changes(frozenset(ready))

    def _note(self, changes: set[tuple[watchfiles.Change, str]]) -> None:
        vanished: list[str] = []
        for change, name in changes:
            path = Path(name)
            if path.is_dir() and not path.is_symlink():
                if change == watchfiles.Change.added:  # moved in: its files bring no events of their own
                    for found in self.paths.files_under(path):
                        self._note_file(found)
                continue
            doc_id = self._note_file(path)
            if doc_id is not None and not os.path.lexists(path):
                vanished.append(doc_id)
        if vanished:  # any of them may have been a folder: what the index holds in it is gone too
            for doc_id in indexed_under(self.index_dir, vanished):
                self._note_file(self.paths.root / doc_id)

    def _note_file(self, path: Path) -> str | None:
        doc_id = self.paths.doc_id(path)
        if doc_id is not None:
            self.settling.note(path, doc_id)
        return doc_id
