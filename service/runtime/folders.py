"""Watched source folders: a collection's ``watch: true`` (or ``watch.service``) has the service apply
what changes in its folder, through the same per-collection writer as writes over HTTP
(:meth:`~service.runtime.writes.Writes.changed`): the same queue, statuses and jobs, one publish per
batch. What changed while the service was down is queued at start. One process watches a folder (of
``--workers N``, the first to claim it; another takes over if it stops)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from functools import partial

import anyio.to_thread

from indexer.config import Settings
from indexer.watch.claim import WatchClaim
from indexer.watch.folder import FolderWatch
from indexer.watch.reconcile import differences
from service.runtime.writes import Writes
from service.settings import AppSettings

log = logging.getLogger(__name__)


class FolderWatching:
    """One watcher thread per watched collection, their batches handed to the writers in order."""

    def __init__(self, settings: AppSettings, writes: Writes) -> None:
        self.settings = settings
        self.writes = writes
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._queue: asyncio.Queue[tuple[str, frozenset[str]]] = asyncio.Queue()
        self._feeder: asyncio.Task[None] | None = None
        self._starting: list[asyncio.Task[None]] = []
        """Per collection: claim its folder (waiting while another process watches it), watch it,
        queue what changed while nobody watched."""
        self._claims: list[WatchClaim] = []

    @property
    def names(self) -> tuple[str, ...]:
        """The configured collections whose folders are watched."""
        return tuple(name for name in self.settings.collection_names if self.settings.watched(name))

    async def start(self) -> None:
        """Watch each folder no other process watches (the others: as soon as it stops), then queue
        what changed in it while nobody watched; in the background: the service answers meanwhile."""
        self._feeder = asyncio.create_task(self._feed(), name="watched-folders")
        for name in self.names:
            collection = self.settings.collection(name)
            if not collection.seeds_dir.is_dir():
                log.error(
                    "collection %s: seeds folder not found, not watched: %s", name, collection.seeds_dir
                )
                continue
            claim = WatchClaim(collection.index_dir)
            self._claims.append(claim)
            self._starting.append(asyncio.create_task(self._claim_and_watch(name, collection, claim)))

    async def _claim_and_watch(self, name: str, collection: Settings, claim: WatchClaim) -> None:
        try:
            if not await anyio.to_thread.run_sync(claim.acquire):
                log.info("collection %s: watched by another process; taking over when it stops", name)
                while not await anyio.to_thread.run_sync(claim.acquire):
                    await asyncio.sleep(self.settings.watch.retry_seconds)
            await self._watch_folder(name, collection)
        except Exception:  # e.g. the index folder cannot be written: the other collections go on
            log.exception("collection %s: its folder cannot be watched", name)

    async def _watch_folder(self, name: str, collection: Settings) -> None:
        watch = FolderWatch(
            collection.seeds_dir,
            index_dir=collection.index_dir,
            ignore=(self.settings.index_dir,),
            settle_seconds=self.settings.watch.settle_seconds,
            on_changes=partial(self._from_thread, asyncio.get_running_loop(), name),
        )
        thread = threading.Thread(target=self._watch, args=(name, watch), name=f"watch-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)
        await anyio.to_thread.run_sync(watch.started.wait)
        log.info("collection %s: watching %s", name, collection.seeds_dir)
        missed = await anyio.to_thread.run_sync(differences, collection)
        if missed:
            log.info("collection %s: %d documents changed while not watched", name, len(missed))
            self._queue.put_nowait((name, frozenset(missed)))

    def _from_thread(self, loop: asyncio.AbstractEventLoop, name: str, doc_ids: frozenset[str]) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed: the service is stopping
            loop.call_soon_threadsafe(self._queue.put_nowait, (name, doc_ids))

    def _watch(self, name: str, watch: FolderWatch) -> None:
        try:
            watch.run(self._stop)
        except Exception:  # the others go on; the writes over HTTP too
            log.exception("collection %s: its folder cannot be watched any more", name)
        finally:
            watch.started.set()

    async def _feed(self) -> None:
        while True:
            name, doc_ids = await self._queue.get()
            try:
                jobs = await self.writes.changed(name, doc_ids)
            except Exception:  # a collection gone meanwhile, a folder unreadable: the next batch goes on
                log.exception("collection %s: queueing %d changed documents failed", name, len(doc_ids))
                continue
            if jobs:  # (none: the folder changed by this service's own writes)
                log.info("collection %s: %d documents changed in its folder, queued", name, len(jobs))

    async def close(self) -> None:
        self._stop.set()
        for task in (*self._starting, self._feeder):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for thread in self._threads:
            await anyio.to_thread.run_sync(thread.join, 5)
        for claim in self._claims:
            claim.release()
