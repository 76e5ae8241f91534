"""``python -m indexer watch``: a watcher thread per collection's source folder, their batches applied
one update at a time (one model for all) until Ctrl-C or SIGTERM; an update in progress is finished,
never cut short (a second Ctrl-C does cut it short: the published snapshot stays as it was)."""

from __future__ import annotations

import logging
import queue
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from types import FrameType

from indexer.build.builder import EmbedderFactory
from indexer.config import Settings
from indexer.errors import IndexerError
from indexer.watch.apply import Applier
from indexer.watch.claim import WatchClaim
from indexer.watch.folder import FolderWatch

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
"""How often the loop looks whether it was asked to stop while nothing arrives."""

Item = tuple[str, frozenset[str] | BaseException]


class WatchLoop:
    """Watch the named collections' source folders and apply their changes until :meth:`stop`."""

    def __init__(self, settings: Settings, names: Sequence[str], embedder_factory: EmbedderFactory) -> None:
        self.appliers: dict[str, Applier] = {}
        self.watches: dict[str, FolderWatch] = {}
        self.claims: dict[str, WatchClaim] = {}
        self.queue: queue.SimpleQueue[Item] = queue.SimpleQueue()
        self.stopping = False
        """Set by :meth:`stop` (from a signal handler or another thread): a plain flag, no lock."""
        for name in dict.fromkeys(names):
            collection = settings.collection(name)
            if not collection.seeds_dir.is_dir():
                raise IndexerError(f"seeds folder not found: {collection.seeds_dir}")
            self.claims[name] = WatchClaim(collection.index_dir)
            self.appliers[name] = Applier(
                name, collection, embedder_factory, retry_seconds=settings.watch.retry_seconds
            )
            self.watches[name] = FolderWatch(
                collection.seeds_dir,
                index_dir=collection.index_dir,
                ignore=(settings.index_dir,),
                settle_seconds=settings.watch.settle_seconds,
                on_changes=partial(self._changed, name),
            )

    def stop(self) -> None:
        """Stop after the update in progress (safe from a signal handler and from any thread)."""
        self.stopping = True

    def _changed(self, name: str, doc_ids: frozenset[str]) -> None:
        self.queue.put((name, doc_ids))

    def _watch(self, name: str, watch: FolderWatch, stop: threading.Event) -> None:
        try:
            watch.run(stop)
        except BaseException as exc:  # handed to the loop, which stops and says why
            self.queue.put((name, exc))
        finally:
            watch.started.set()

    def run(self) -> int:
        """Watch until stopped (0) or until a folder cannot be watched any more (1)."""
        stop = threading.Event()
        threads = [
            threading.Thread(target=self._watch, args=(name, watch, stop), name=f"watch-{name}", daemon=True)
            for name, watch in self.watches.items()
        ]
        try:
            self._claim()
            for thread in threads:
                thread.start()
            for name, watch in self.watches.items():
                watch.started.wait()
                log.info("%s: watching %s", name, watch.paths.root)
            for applier in self.appliers.values():
                applier.add(None)  # what changed while nobody watched
            return self._loop()
        finally:
            stop.set()
            for thread in threads:
                if thread.is_alive():
                    thread.join(timeout=5)
            for claim in self.claims.values():
                claim.release()

    def _claim(self) -> None:
        """Claim every collection, or fail: one that another process watches is not watched twice."""
        for name, claim in self.claims.items():
            if not claim.acquire():
                raise IndexerError(
                    f"collection {name} is already watched by another process (python -m indexer watch, "
                    f"or the service with watch: true): {claim.path} is locked"
                )

    def _loop(self) -> int:
        while not self.stopping:
            for name, item in self._take():
                if isinstance(item, BaseException):
                    log.error("%s: the folder cannot be watched any more: %s", name, item)
                    return 1
                self.appliers[name].add(item)
            for applier in self.appliers.values():
                if self.stopping:
                    break
                if applier.due_in() == 0:
                    applier.apply()
        log.info("stopped")
        return 0

    def _take(self) -> list[Item]:
        """What the watchers handed on, waiting at most until an update is due (or ``POLL_SECONDS``)."""
        waits = [due for applier in self.appliers.values() if (due := applier.due_in()) is not None]
        try:
            items = [self.queue.get(timeout=min([POLL_SECONDS, *waits]))]
        except queue.Empty:
            return []
        while True:
            try:
                items.append(self.queue.get_nowait())
            except queue.Empty:
                return items


@contextmanager
def stop_on_signals(loop: WatchLoop) -> Iterator[None]:
    """Ctrl-C and SIGTERM stop ``loop`` after the update in progress; a second one acts as usual
    (Ctrl-C raises KeyboardInterrupt, SIGTERM ends the process)."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, frame: FrameType | None) -> None:
        log.warning("stopping after the update in progress (again to stop at once)")
        loop.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, action in previous.items():
            signal.signal(sig, action)
