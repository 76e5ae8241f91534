"""Apply one collection's changed documents to its index through :func:`indexer.build.update`, the
one write path: what arrives while an update runs goes together into the next one; a build that holds
the lock, or an update that fails, is tried again later; one log line per update."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

from indexer.build import update
from indexer.build.builder import BuildReport, EmbedderFactory
from indexer.config import Settings
from indexer.errors import BuildLockedError, IndexerError, SnapshotError
from indexer.reading.names import printable
from indexer.snapshot.view import read_live_manifest

log = logging.getLogger(__name__)

MAX_BACKOFF = 16
"""A failing update is tried again after ``retry_seconds``, doubled after each failure in a row up
to this many times ``retry_seconds``."""


@dataclass(frozen=True)
class Served:
    """What the served snapshot holds: each indexed document's sha256, each skipped one's reason."""

    documents: dict[str, str]
    skipped: dict[str, str]

    @classmethod
    def read(cls, settings: Settings) -> Served:
        try:
            manifest = read_live_manifest(settings.index_dir)
        except SnapshotError:
            return cls({}, {})
        return cls(
            {doc_id: entry.sha256 for doc_id, entry in manifest.documents.items()},
            {doc_id: entry.reason for doc_id, entry in manifest.skipped.items()},
        )


@dataclass(frozen=True)
class Outcome:
    """What one update did to the documents it was given."""

    added: int
    changed: int
    deleted: int
    failed: dict[str, str]

    @classmethod
    def between(cls, before: Served, after: Served, doc_ids: Collection[str] | None) -> Outcome:
        names = set(doc_ids) if doc_ids is not None else {*before.documents, *after.documents}
        old, new = before.documents, after.documents
        added = sum(1 for d in names if d in new and d not in old)
        changed = sum(1 for d in names if d in new and d in old and old[d] != new[d])
        deleted = sum(1 for d in names if d in old and d not in new and d not in after.skipped)
        failed = {
            d: reason
            for d, reason in after.skipped.items()
            if (d in names if doc_ids is not None else before.skipped.get(d) != reason)
        }
        return cls(added, changed, deleted, failed)


class Applier:
    """The documents of one collection waiting to be applied, and their application."""

    def __init__(
        self,
        name: str,
        settings: Settings,
        embedder_factory: EmbedderFactory,
        *,
        retry_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.settings = settings
        self.embedder_factory = embedder_factory
        self.retry_seconds = retry_seconds
        self.clock = clock
        self.pending: set[str] = set()
        self.everything = False
        """An update of the whole folder is due (at start: what changed while nobody watched)."""
        self.not_before = 0.0
        self.failures = 0
        self.locked = False

    def add(self, doc_ids: Collection[str] | None) -> None:
        """Documents to apply (None: every difference between the folder and the index)."""
        if doc_ids is None:
            self.everything = True
        else:
            self.pending.update(doc_ids)

    def due_in(self) -> float | None:
        """Seconds until the next update may run (None: nothing waits)."""
        if not self.pending and not self.everything:
            return None
        return max(0.0, self.not_before - self.clock())

    def apply(self) -> BuildReport | None:
        """Apply what waits, in one update; on failure it waits again (tried after ``retry_seconds``)."""
        doc_ids = None if self.everything else frozenset(self.pending)
        self.pending, self.everything = set(), False
        started = self.clock()
        try:
            before = Served.read(self.settings)
            report = update(self.settings, self.embedder_factory, doc_ids)
            after = Served.read(self.settings)
        except Exception as exc:  # the watch goes on: this batch is tried again later
            self.add(doc_ids)
            self._failed(exc)
            return None
        if self.locked or self.failures:
            log.info("%s: updating again", self.name)
        self.failures, self.locked = 0, False
        self._log(report, Outcome.between(before, after, doc_ids), self.clock() - started)
        return report

    def _failed(self, exc: Exception) -> None:
        if isinstance(exc, BuildLockedError):
            if not self.locked:
                log.warning("%s: %s; trying again every %g s", self.name, exc, self.retry_seconds)
            self.locked = True
            self.not_before = self.clock() + self.retry_seconds
            return
        self.failures += 1
        delay = self.retry_seconds * min(MAX_BACKOFF, 2 ** (self.failures - 1))
        self.not_before = self.clock() + delay
        if isinstance(exc, OSError | IndexerError):  # a failure a user can fix: its message says it
            log.error("%s: update failed: %s; trying again in %g s", self.name, exc, delay)
        else:
            log.exception("%s: update failed; trying again in %g s", self.name, delay)

    def _log(self, report: BuildReport, outcome: Outcome, seconds: float) -> None:
        what = f"snapshot {report.snapshot_id}" if report.published else "up to date"
        log.info(
            "%s: %d added, %d changed, %d deleted, %d failed in %.2f s (%s: %d documents, %d chunks)",
            self.name,
            outcome.added,
            outcome.changed,
            outcome.deleted,
            len(outcome.failed),
            seconds,
            what,
            report.documents,
            report.chunks,
        )
        for doc_id, reason in sorted(outcome.failed.items()):
            log.warning("%s: %s not indexed: %s", self.name, printable(doc_id), printable(reason))
