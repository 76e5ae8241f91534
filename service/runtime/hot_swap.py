"""Hot snapshot swaps: the one object that owns the served snapshot and replaces it atomically.

Requests take a *lease* on the current :class:`~indexer.search.Searcher` once, at their start, and
keep using that object until they finish: a swap only changes what the *next* request gets. A snapshot
that was swapped out is closed when its last lease is returned. A new snapshot is opened and fully verified
(every file's sha256, the model) off the event loop before it replaces the old one (an update's
delta segments are opened beside the base already served, which is not read again); one that fails is
refused, reported (log, metrics, ``/ready``) and the current one keeps serving.

The query engine (model, batcher, query cache) is shared by every snapshot; only the index changes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from indexer.errors import IndexerError, NoSnapshotError, SnapshotError
from indexer.search import SearchEngine, Searcher
from indexer.snapshot import Manifest, read_state
from service.errors import UnavailableError

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    LOADED = "loaded"
    UNCHANGED = "unchanged"
    REFUSED = "refused"


@dataclass(frozen=True)
class Refusal:
    """A snapshot the service would not serve, and why."""

    snapshot: str
    """The snapshot folder's name (or ``current`` when the link itself is broken)."""
    reason: str
    at: float
    """Unix time of the refusal."""

    @property
    def at_iso(self) -> str:
        return dt.datetime.fromtimestamp(self.at, dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ReloadResult:
    outcome: Outcome
    snapshot_id: str | None
    """The snapshot served after the reload (None if there is none)."""
    previous_snapshot_id: str | None = None
    refusal: Refusal | None = None


class SnapshotObserver(Protocol):
    """Told about every swap and refusal (the metrics implement it)."""

    def snapshot_loaded(self, manifest: Manifest) -> None: ...

    def snapshot_refused(self, at: float) -> None: ...


class SnapshotHolder:
    """Owns the served snapshot; thread-safe."""

    def __init__(
        self,
        engine: SearchEngine,
        observer: SnapshotObserver | None = None,
        *,
        index_dir: Path | None = None,
        name: str = "",
    ) -> None:
        """``index_dir``: the collection's folder (default: the engine's ``index_dir``); ``name``: the
        collection's, in log lines (when the service has several)."""
        self.engine = engine
        self.name = name
        self.index_dir = engine.settings.index_dir if index_dir is None else index_dir
        self.observer = observer
        self._lock = threading.Lock()  # guards _current, _leases, _retired
        self._reload_lock = threading.Lock()  # one reload at a time
        self._current: Searcher | None = None
        self._leases: dict[int, int] = {}
        self._retired: dict[int, Searcher] = {}
        self.loaded_at: float | None = None
        self.last_refusal: Refusal | None = None
        self.last_error: str | None = None
        """Why nothing is served, when nothing is (no snapshot published yet, ...)."""
        self.loads = 0
        self.refusals = 0

    # -- reading ------------------------------------------------------------------------------

    @property
    def current(self) -> Searcher | None:
        return self._current

    @contextlib.contextmanager
    def lease(self) -> Iterator[Searcher]:
        """The current searcher, kept open until the ``with`` block ends even if swapped out."""
        with self._lock:
            searcher = self._current
            if searcher is None:
                raise UnavailableError(
                    "no index snapshot is loaded" + (f": {self.last_error}" if self.last_error else "")
                )
            key = id(searcher)
            self._leases[key] = self._leases.get(key, 0) + 1
        try:
            yield searcher
        finally:
            self._release(searcher)

    def _release(self, searcher: Searcher) -> None:
        key = id(searcher)
        with self._lock:
            count = self._leases[key] - 1
            if count:
                self._leases[key] = count
                return
            del self._leases[key]
            retired = self._retired.pop(key, None)
        if retired is not None:
            self._close(retired)

    # -- swapping -----------------------------------------------------------------------------

    def reload(self, *, retry_refused: bool = True) -> ReloadResult:
        """Serve the collection's live state (the base ``index/current`` points to and the delta
        segments updates published since), if it is not the one being served. Parts already served
        are reused as they are: a new base is opened and verified in full, an update's new segments
        only.

        Blocking (verifies every new file); run it off the event loop. With ``retry_refused=False`` a
        snapshot that was already refused is not tried again (the watcher's polling)."""
        with self._reload_lock:
            served = self._current
            served_id = served.snapshot_id if served is not None else None
            try:
                target = read_state(self.index_dir)
            except NoSnapshotError as exc:
                self.last_error = self.relative(str(exc))
                return ReloadResult(Outcome.UNCHANGED if served else Outcome.REFUSED, served_id)
            except SnapshotError as exc:
                return self._refuse("current", self.relative(str(exc)), served_id, retry_refused)
            if served is not None and served_id == target.name:
                return ReloadResult(Outcome.UNCHANGED, served_id)
            if (
                not retry_refused
                and self.last_refusal is not None
                and self.last_refusal.snapshot == target.name
            ):
                return ReloadResult(Outcome.REFUSED, served_id, refusal=self.last_refusal)
            started = time.perf_counter()
            try:
                searcher = self.engine.open_view(target, previous=served)
            except IndexerError as exc:
                return self._refuse(target.name, self.relative(str(exc)), served_id, True)
            self._swap(searcher)
            log.info(
                "%sserving snapshot %s (%d documents, %d chunks, model %s; verified in %.2fs)%s",
                f"collection {self.name}: " if self.name else "",
                searcher.snapshot_id,
                searcher.snapshot.manifest.counts.documents,
                searcher.snapshot.manifest.counts.chunks,
                searcher.snapshot.manifest.model.name,
                time.perf_counter() - started,
                f", replacing {served_id}" if served_id else "",
            )
            return ReloadResult(Outcome.LOADED, searcher.snapshot_id, served_id)

    def _refuse(self, name: str, reason: str, served_id: str | None, report: bool) -> ReloadResult:
        repeated = self.last_refusal is not None and self.last_refusal.snapshot == name
        refusal = Refusal(name, reason, time.time())
        if report or not repeated:
            self.last_refusal = refusal
            self.refusals += 1
            log.error(
                "%srefused snapshot %s: %s; %s",
                f"collection {self.name}: " if self.name else "",
                name,
                reason,
                f"still serving {served_id}" if served_id else "no snapshot is served",
            )
            if self.observer is not None:
                self.observer.snapshot_refused(refusal.at)
        if served_id is None:
            self.last_error = f"snapshot {name} was refused: {reason}"
        return ReloadResult(Outcome.REFUSED, served_id, refusal=self.last_refusal)

    def _swap(self, searcher: Searcher) -> None:
        with self._lock:
            old = self._current
            self._current = searcher
            self.loaded_at = time.time()
            self.loads += 1
            self.last_error = None
            close_now = False
            if old is not None:
                if self._leases.get(id(old)):
                    self._retired[id(old)] = old
                else:
                    close_now = True
        if self.observer is not None:
            self.observer.snapshot_loaded(searcher.manifest)
        if old is not None and close_now:
            self._close(old)

    @staticmethod
    def _close(searcher: Searcher) -> None:
        log.debug("closing snapshot %s", searcher.snapshot_id)
        searcher.close()

    def relative(self, text: str) -> str:
        """``text`` with the index folder's paths made relative to it: clients (``/ready``, the admin
        409) learn what is wrong, not where the server keeps its files."""
        for root in {str(self.index_dir.resolve()), str(self.index_dir)}:
            text = text.replace(root + "/", "").replace(root, "the index folder")
        return text

    def damage(self) -> str | None:
        """Why the served snapshot can no longer be trusted (a file removed or truncated since it was
        loaded; cheap: one stat per file), or None."""
        searcher = self._current
        if searcher is None:
            return None
        try:
            searcher.snapshot.check_files()
        except SnapshotError as exc:
            return self.relative(str(exc))
        return None

    def not_ready(self) -> str | None:
        """Why searches cannot be answered now (no snapshot served, or the served one damaged on
        disk), or None when they can: ``/ready`` and the ``citesearch_ready`` gauge both ask this."""
        damage = self.damage()
        if damage is not None:
            return f"the served snapshot's files changed on disk: {damage}"
        if self._current is None:
            return self.last_error or "no snapshot is loaded"
        return None

    def close(self) -> None:
        """Close the served snapshot (at shutdown); leased ones close when returned."""
        with self._lock:
            current, self._current = self._current, None
            if current is not None and self._leases.get(id(current)):
                self._retired[id(current)] = current
                current = None
        if current is not None:
            self._close(current)
