"""Wait until a changed file stops changing before it is read: a file still being copied, downloaded
or written is not indexed half-written."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

Signature = tuple[int, int, int] | None
"""A file's size, modification time (ns) and inode; None when it is not there."""


def signature(path: Path) -> Signature:
    try:
        info = os.stat(path)
    except OSError:  # gone (a deletion), or a broken link: the build decides what it is
        return None
    return (info.st_size, info.st_mtime_ns, info.st_ino)


class Settling:
    """Changed files waiting to settle: each is ready once its size, modification time and inode have
    stayed the same for ``seconds`` (a file that is gone is ready when it has stayed gone as long).
    Files are kept in the order they last changed, so a check looks only at those whose time is up."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._pending: dict[Path, tuple[str, Signature, float]] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def note(self, path: Path, doc_id: str) -> None:
        """``path`` (the file of document ``doc_id``) changed now: its wait starts again."""
        self._pending.pop(path, None)
        self._pending[path] = (doc_id, signature(path), self.clock())

    def ready(self) -> set[str]:
        """The documents whose files have settled, taken out of the wait."""
        now = self.clock()
        settled: list[Path] = []
        changed: list[Path] = []
        for path, (_, seen, since) in self._pending.items():
            if now - since < self.seconds:
                break  # the rest changed later still
            (settled if signature(path) == seen else changed).append(path)
        done = {self._pending.pop(path)[0] for path in settled}
        for path in changed:  # it changed without an event reaching us yet: its wait starts again
            self.note(path, self._pending[path][0])
        # a document whose sidecar (or file) is still changing waits for it: it is read once, whole
        return done - {doc_id for doc_id, _, _ in self._pending.values()}

    def next_due(self) -> float | None:
        """Seconds until the oldest waiting file may be ready (None when none waits)."""
        for _, _, since in self._pending.values():
            return max(0.0, since + self.seconds - self.clock())
        return None
