"""One watcher per collection: whoever watches a collection's folder holds ``.watch.lock`` in its
index folder (released when it stops, or dies), so the service's workers, and ``python -m indexer
watch`` beside them, never apply the same changes twice."""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import TextIO

WATCH_LOCK = ".watch.lock"


class WatchClaim:
    """The claim on one collection's folder (``index_dir`` is the collection's index folder)."""

    def __init__(self, index_dir: Path) -> None:
        self.path = index_dir / WATCH_LOCK
        self._file: TextIO | None = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def acquire(self) -> bool:
        """Take the claim if no other process holds it; whether this one now does."""
        if self._file is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        file = self.path.open("a")
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.close()
            return False
        self._file = file
        return True

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
