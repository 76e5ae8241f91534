"""Writes to collections: documents added, replaced and deleted while the service serves, and
collections created and deleted at run time.

A write is durable before it is acknowledged: the bytes (and the metadata sidecar) are fsynced into
the collection's source folder, and the document named in the collection's pending-writes journal,
before :meth:`Writes.put` returns; a deletion is unlinked and the folder fsynced before
:meth:`Writes.delete` returns. One writer task per collection then takes everything queued, publishes it
with one :func:`indexer.build.update` call (on a worker thread, with the engine's loaded model) and
swaps the new snapshot in; searches are served from the current snapshot throughout. At start every
collection with pending writes is brought up to date, so nothing acknowledged is lost to a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol

import anyio.to_thread

from indexer.build.updates import update
from indexer.config import Settings
from indexer.errors import BuildLockedError, IndexerError
from indexer.search import Embedder
from service.errors import ConflictError, NotFoundError
from service.runtime import intake
from service.runtime.collections import Collections
from service.runtime.listing import SortedIds, page
from service.runtime.registry import CollectionRegistry
from service.settings import AppSettings

if TYPE_CHECKING:
    from indexer.build.builder import BuildReport

log = logging.getLogger(__name__)

Status = Literal["queued", "indexing", "indexed", "failed"]
"""A document's (or a job's) state: written and waiting; being published; searchable (a deletion:
gone from every door); not indexed, with the reason."""
Action = Literal["put", "delete"]
STATUSES: tuple[Status, ...] = ("queued", "indexing", "indexed", "failed")
LOCKED_RETRY_SECONDS = 2.0
"""How long a writer waits before trying again while a build from the CLI holds the collection's lock."""
FAILED_RETRY_SECONDS = 10.0
"""How long a writer waits before trying again after the index could not be written (disk full...)."""


Metadata = Mapping[str, Any] | Callable[[], Mapping[str, Any] | None] | None
"""A put's metadata: a mapping, or a callable giving it once the data has been read (multipart bodies
whose ``metadata`` part follows the file)."""


@dataclass(frozen=True, slots=True)
class Job:
    """One acknowledged write and how far it got."""

    id: str
    collection: str
    doc_id: str
    action: Action
    status: Status
    reason: str | None = None
    """Why it failed (``failed``), e.g. ``no text layer``, ``over reading.max_pages``."""
    created_at: float = 0.0
    finished_at: float | None = None
    snapshot_id: str | None = None
    """The snapshot that published it (``indexed``)."""
    created: bool = False
    """A put that added a document the collection did not have (else it replaced one)."""
    unchanged: bool = False
    """A put of the bytes and metadata the document already has: nothing to do (already ``indexed``)."""

    @property
    def done(self) -> bool:
        return self.status in ("indexed", "failed")


@dataclass(frozen=True, slots=True)
class DocumentStatus:
    """A document of a collection as the write API shows it."""

    doc_id: str
    status: Status
    reason: str | None = None
    sha256: str | None = None
    bytes: int | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """The upload's metadata (its sidecar), merged over the document's own when it is indexed."""
    job_id: str | None = None
    """The last job that wrote it (None: found in the folder or the index, not written over HTTP since
    the service started)."""
    updated_at: float | None = None


@dataclass(frozen=True, slots=True)
class DocumentPage:
    documents: list[DocumentStatus]
    next_after: str | None
    """Pass as ``after`` for the next page; None: this was the last."""


class WriteObserver(Protocol):
    """Told of writes and publishes (the service's metrics)."""

    def write_queued(self, collection: str, action: str, queued: int) -> None: ...

    def batch_published(self, collection: str, seconds: float, failed: int, queued: int) -> None: ...


@dataclass
class _Writer:
    """One collection's queue: the documents written and not yet published, and its task."""

    name: str
    settings: Settings
    pending: dict[str, list[str]] = field(default_factory=dict)
    """doc_id -> ids of the jobs waiting for it (in order)."""
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while a document of this collection is written to its folder (and its journal)."""
    task: asyncio.Task[None] | None = None
    full: bool = False
    """The next publish compares the whole folder with the index (at start, for a collection created
    over HTTP), not only the pending documents."""


class Writes:
    """The write side of the service, one per app (``app.state.writes``); async methods run on the
    event loop, file and index work goes to worker threads."""

    def __init__(
        self,
        settings: AppSettings,
        collections: Collections,
        embedder: Callable[[], Embedder],
        registry: CollectionRegistry,
        observer: WriteObserver | None = None,
    ) -> None:
        self.settings = settings
        self.observer = observer
        self.collections = collections
        self.embedder = embedder
        self.registry = registry
        self.limits = settings.writes
        self._writers: dict[str, _Writer] = {}
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._docs: dict[str, dict[str, DocumentStatus | None]] = {}
        """Per collection, the documents written since start: their latest status, None for a deletion
        acknowledged and not yet published (already gone from the write API, still found by search)."""
        self._changed = asyncio.Condition()
        self._sorted: dict[str, SortedIds] = {}
        self._counter = itertools.count()

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start a writer for every collection and bring those with pending writes up to date."""
        for name in self.collections.names:
            await self._start_writer(name)

    async def close(self) -> None:
        """Stop the writers (what is queued stays in the journals, published at the next start)."""
        tasks = [w.task for w in self._writers.values() if w.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._writers.clear()

    async def watch(self, interval: float) -> None:
        """Every ``interval`` seconds, serve the collections other service processes (``--workers``)
        created or deleted over HTTP."""
        while True:
            await anyio.sleep(interval)
            try:
                await self.sync_collections()
            except Exception:  # a damaged registry file leaves the collections as they are
                log.exception("reading %s failed", self.registry.path)

    async def sync_collections(self) -> None:
        """Serve the collections ``<index_dir>/collections.json`` lists now, and no others of its."""
        if not await anyio.to_thread.run_sync(self.registry.reload):
            return
        configured = set(self.settings.collection_names)
        listed = set(self.registry.names) - configured
        for name in sorted(listed - set(self.collections.names)):
            entry = self.registry.get(name)
            folder = self.registry.settings_of(self.settings, name).index_dir
            self.collections.add(name, folder, entry.description if entry is not None else "")
            await self._start_writer(name)
        for name in sorted(set(self.collections.names) - listed - configured):
            await self._stop_writer(name)
            self.collections.remove(name)

    async def _stop_writer(self, name: str) -> None:
        writer = self._writers.pop(name, None)
        if writer is not None and writer.task is not None:
            writer.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer.task

    async def _start_writer(self, name: str) -> None:
        settings = self.collection_settings(name)
        writer = _Writer(name, settings)
        try:
            recovered = await anyio.to_thread.run_sync(intake.pending, settings)
        except OSError as exc:  # the collection is still served; its writes wait for the journal
            log.error("collection %s: cannot read its journal of writes: %s", name, exc)
            recovered = []
        for job_id, doc_id in recovered:  # queued again, and shown as queued until published
            action: Action = "put" if (settings.seeds_dir / doc_id).is_file() else "delete"
            job = Job(job_id, name, doc_id, action, "queued", created_at=time.time())
            self._jobs[job_id] = job
            self._enqueue(writer, job)
        if recovered:
            log.info(
                "collection %s: %d writes acknowledged before the last stop, publishing", name, len(recovered)
            )
        if self._created(name):
            writer.full = True  # its folder is the service's own: whatever is in it gets indexed
            writer.wake.set()
        writer.task = asyncio.create_task(self._run(writer), name=f"writer-{name}")
        self._writers[name] = writer

    def collection_settings(self, name: str) -> Settings:
        """Collection ``name`` as the indexer sees it (its source folder and index folder)."""
        if self._created(name):
            return self.registry.settings_of(self.settings, name)
        return self.settings.collection(name)

    def _created(self, name: str) -> bool:
        """Whether collection ``name`` was created over HTTP (a name ``config.yaml`` gives is its)."""
        return name not in self.settings.collection_names and self.registry.get(name) is not None

    # -- writing ------------------------------------------------------------------------------

    async def put(
        self,
        collection: str,
        doc_id: str,
        data: intake.Data,
        *,
        media_type: str | None = None,
        metadata: Metadata = None,
    ) -> Job:
        """Write document ``doc_id`` of ``collection`` (new or replacing) and queue it for publishing.
        Durable when it returns (bytes and sidecar fsynced, renamed into place, journal fsynced).

        Raises :class:`~service.errors.ServiceError` subclasses: 404 unknown collection, 400/422 bad
        ``doc_id`` or metadata, 415 a type no reader reads (or a ``media_type`` at odds with the
        suffix), 413 more than ``writes.max_upload_mb``, 409 over ``writes.max_documents``."""
        writer = self._writer(collection)
        doc_id = intake.check_doc_id(doc_id)
        intake.check_media_type(doc_id, media_type)
        meta = None if callable(metadata) else intake.check_metadata(metadata, self.settings.reading)
        if self._known(collection, doc_id) is None:
            self._check_room(collection)  # before the body is read; again below, under the lock
        # streamed in without the lock: one slow upload never holds up the collection's others
        staged = await intake.stage(writer.settings.seeds_dir, doc_id, data, self.limits.max_upload_bytes)
        try:
            if meta is None:  # given once the body is read (a multipart part after the file)
                meta = intake.check_metadata(
                    metadata() if callable(metadata) else None, self.settings.reading
                )
            async with writer.lock:
                return await self._commit(writer, doc_id, staged, meta)
        finally:
            await anyio.to_thread.run_sync(staged.discard)

    async def _commit(
        self, writer: _Writer, doc_id: str, staged: intake.Staged, meta: Mapping[str, Any]
    ) -> Job:
        """Under the collection's lock: ``staged`` into place as ``doc_id``, journalled, queued."""
        known = self._known(writer.name, doc_id)
        if known is None:
            self._check_room(writer.name)
        if await self._unchanged(writer, doc_id, staged.sha256, meta):
            job = self._new_job(writer.name, doc_id, "put", status="indexed", unchanged=True)
            return self._finish_now(job)
        job = self._new_job(writer.name, doc_id, "put", created=known is None)
        try:
            await anyio.to_thread.run_sync(intake.commit, writer.settings, doc_id, staged, meta, job.id)
        except BaseException:
            self._jobs.pop(job.id, None)
            raise
        self._enqueue(writer, job, sha256=staged.sha256, size=staged.size, metadata=meta)
        return job

    async def _unchanged(
        self, writer: _Writer, doc_id: str, sha256: str, metadata: Mapping[str, Any]
    ) -> bool:
        """Whether ``doc_id`` is indexed, nothing of it is pending, and the folder holds these bytes
        and this metadata: a put of it again is a no-op."""
        current = self._docs.get(writer.name, {}).get(doc_id, self._from_snapshot(writer.name, doc_id))
        if doc_id in writer.pending or current is None or current.status != "indexed":
            return False
        seeds = writer.settings.seeds_dir
        return await anyio.to_thread.run_sync(intake.same_as_stored, seeds, doc_id, sha256, metadata)

    async def delete(self, collection: str, doc_id: str) -> Job:
        """Remove document ``doc_id`` (its file and sidecar, the folder fsynced) and queue the
        deletion for publishing; :class:`~service.errors.NotFoundError` if the collection has no such
        document."""
        writer = self._writer(collection)
        doc_id = intake.check_doc_id(doc_id, check_suffix=False)
        async with writer.lock:
            if self._known(collection, doc_id) is None and not (writer.settings.seeds_dir / doc_id).is_file():
                raise NotFoundError(f"no document with id {doc_id[:200]!r} in collection {collection!r}")
            job = self._new_job(collection, doc_id, "delete")
            try:
                await anyio.to_thread.run_sync(intake.remove, writer.settings, doc_id, job.id)
            except BaseException:
                self._jobs.pop(job.id, None)
                raise
            self._enqueue(writer, job)
            return job

    async def changed(self, collection: str, doc_ids: Iterable[str]) -> list[Job]:
        """Queue documents changed in the source folder by other means (a folder watcher): each is
        published as the folder now has it (a missing file is a deletion), with the writes over HTTP
        in the same batches. Nothing is journalled: the folder itself says what changed (a watcher
        queues what changed while the service was down at start). What this API wrote itself (the same
        bytes and metadata queued or indexed, a deletion it made) is not queued again."""
        writer = self._writer(collection)
        jobs = []
        async with writer.lock:
            for doc_id in dict.fromkeys(doc_ids):
                exists = await anyio.to_thread.run_sync((writer.settings.seeds_dir / doc_id).is_file)
                if await self._own_write(writer, doc_id, present=exists):
                    continue
                job = self._new_job(collection, doc_id, "put" if exists else "delete")
                self._enqueue(writer, job)
                jobs.append(job)
        return jobs

    async def _own_write(self, writer: _Writer, doc_id: str, *, present: bool) -> bool:
        """Whether the folder holds ``doc_id`` as this API last left it."""
        known = self._known(writer.name, doc_id)
        if not present:  # deleted over HTTP, or unknown: nothing to publish unless a write is queued
            return known is None and doc_id not in writer.pending
        written = self._docs.get(writer.name, {}).get(doc_id)
        if written is None or written.sha256 is None or written.status == "failed":
            return False
        try:
            return await anyio.to_thread.run_sync(
                intake.same_as_stored, writer.settings.seeds_dir, doc_id, written.sha256, written.metadata
            )
        except IndexerError:  # its sidecar no longer reads: a change (the build says why it fails)
            return False

    # -- reading ------------------------------------------------------------------------------

    def job(self, collection: str, job_id: str) -> Job | None:
        job = self._jobs.get(job_id)
        return job if job is not None and job.collection == collection else None

    async def wait(self, collection: str, job_id: str, timeout: float) -> Job:
        """The job once it is done, or as it is after ``timeout`` seconds."""
        job = self.job(collection, job_id)
        if job is None:
            raise NotFoundError(f"no job {job_id[:80]!r} in collection {collection!r}")
        with anyio.move_on_after(timeout):
            async with self._changed:
                while not self._jobs[job_id].done:
                    await self._changed.wait()
        return self._jobs[job_id]

    def document_status(self, collection: str, doc_id: str) -> DocumentStatus | None:
        """Document ``doc_id``'s status: the latest write of it since start, else what the served
        snapshot says (indexed, or failed with the reason the build gave); None if unknown."""
        self._writer(collection)
        written = self._docs.get(collection, {})
        if doc_id in written:
            return written[doc_id]
        return self._from_snapshot(collection, doc_id)

    def counts(self, collection: str) -> dict[Status, int]:
        """How many documents of ``collection`` are in each status: the served snapshot's counts with
        the writes since start over them (costs the writes since start, not the collection's size)."""
        self._writer(collection)
        documents, skipped = self._manifest_entries(collection)
        counts: dict[Status, int] = {
            "queued": 0,
            "indexing": 0,
            "indexed": len(documents),
            "failed": len(skipped),
        }
        for doc_id, doc in self._docs.get(collection, {}).items():
            if doc_id in documents:
                counts["indexed"] -= 1
            elif doc_id in skipped:
                counts["failed"] -= 1
            if doc is not None:
                counts[doc.status] += 1
        return counts

    def documents(
        self, collection: str, status: Status | None = None, after: str | None = None, limit: int = 100
    ) -> DocumentPage:
        """A page of the collection's documents by id (after ``after``), only those in ``status``
        when given: the served snapshot's documents and failures, with the writes since start over
        them."""
        self._writer(collection)
        holder = self.collections.get(collection)
        searcher = holder.current if holder is not None else None
        ids = self._sorted.setdefault(collection, SortedIds())
        if searcher is None:
            ids.refresh(None, (), ())
        else:
            manifest = searcher.manifest
            ids.refresh(manifest.snapshot_id, manifest.documents, manifest.skipped)
        written = self._docs.get(collection, {})
        found, next_after = page(
            ids,
            written,
            lambda doc_id: self.document_status(collection, doc_id),
            status=status,
            after=after,
            limit=limit,
        )
        return DocumentPage(found, next_after)

    # -- collections --------------------------------------------------------------------------

    async def create_collection(self, name: str, description: str = "") -> None:
        """A new, empty collection served from now on (and after a restart): its source folder is
        ``<index_dir>/<name>/sources``. :class:`ConflictError` if the name is taken."""
        if name in self.collections.names:
            raise ConflictError(f"collection {name!r} already exists")
        await anyio.to_thread.run_sync(self.registry.create, self.settings, name, description)
        self.collections.add(name, self.registry.settings_of(self.settings, name).index_dir, description)
        await self._start_writer(name)

    async def delete_collection(self, name: str) -> None:
        """Stop serving collection ``name`` and remove its folder (sources and index); 404 unknown,
        409 for a collection of ``config.yaml``."""
        if name not in self.collections.names:
            raise NotFoundError(f"no collection {name[:80]!r}")
        if not self._created(name):
            raise ConflictError(f"collection {name!r} is configured in config.yaml; remove it there")
        await self._stop_writer(name)
        self.collections.remove(name)
        await anyio.to_thread.run_sync(self.registry.delete, self.settings, name)
        self._docs.pop(name, None)
        async with self._changed:
            for job_id, job in list(self._jobs.items()):
                if job.collection == name and not job.done:
                    self._jobs[job_id] = replace(
                        job, status="failed", reason="the collection was deleted", finished_at=time.time()
                    )
            self._changed.notify_all()

    # -- internals ----------------------------------------------------------------------------

    def _writer(self, collection: str) -> _Writer:
        writer = self._writers.get(collection)
        if writer is None:
            raise NotFoundError(f"no collection {collection[:80]!r}")
        return writer

    def _new_job(
        self,
        collection: str,
        doc_id: str,
        action: Action,
        *,
        status: Status = "queued",
        created: bool = False,
        unchanged: bool = False,
    ) -> Job:
        job_id = f"job_{int(time.time() * 1000):x}{next(self._counter):04x}{secrets.token_hex(4)}"
        job = Job(
            job_id,
            collection,
            doc_id,
            action,
            status,
            created_at=time.time(),
            created=created,
            unchanged=unchanged,
        )
        self._jobs[job_id] = job
        while len(self._jobs) > self.limits.max_jobs:
            oldest, kept = next(iter(self._jobs.items()))
            if not kept.done:
                break
            del self._jobs[oldest]
        return job

    def _finish_now(self, job: Job) -> Job:
        done = replace(job, finished_at=time.time(), snapshot_id=self._served_id(job.collection))
        self._jobs[job.id] = done
        return done

    def _enqueue(
        self,
        writer: _Writer,
        job: Job,
        *,
        sha256: str | None = None,
        size: int | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        writer.pending.setdefault(job.doc_id, []).append(job.id)
        docs = self._docs.setdefault(writer.name, {})
        if job.action == "delete":
            docs[job.doc_id] = None
        else:
            docs[job.doc_id] = DocumentStatus(
                job.doc_id,
                "queued",
                sha256=sha256,
                bytes=size,
                metadata=dict(metadata or {}),
                job_id=job.id,
                updated_at=time.time(),
            )
        writer.wake.set()
        if self.observer is not None:
            self.observer.write_queued(writer.name, job.action, len(writer.pending))

    async def _run(self, writer: _Writer) -> None:
        """The collection's writer: publish what is pending, one batch at a time."""
        while True:
            await writer.wake.wait()
            writer.wake.clear()
            if not writer.pending and not writer.full:
                continue
            async with writer.lock:
                batch, writer.pending = writer.pending, {}
            await self._mark(writer.name, batch, "indexing")
            started = time.perf_counter()
            try:
                doc_ids = None if writer.full else sorted(batch)
                report = await anyio.to_thread.run_sync(self._publish, writer, doc_ids)
            except BuildLockedError:
                log.info(
                    "collection %s: a build holds the index lock; writing again in %gs",
                    writer.name,
                    LOCKED_RETRY_SECONDS,
                )
                await self._requeue(writer, batch, LOCKED_RETRY_SECONDS)
                continue
            except IndexerError as exc:  # the index folder cannot be written (full, read-only): later
                log.error("collection %s: publishing %d documents failed: %s", writer.name, len(batch), exc)
                await self._requeue(writer, batch, FAILED_RETRY_SECONDS)
                continue
            except Exception:  # a bug must not end the writer: what is queued stays queued
                log.exception("collection %s: publishing %d documents failed", writer.name, len(batch))
                await self._requeue(writer, batch, FAILED_RETRY_SECONDS)
                continue
            writer.full = False
            async with writer.lock:  # no journal line is appended while it is rewritten
                jobs = {job_id for job_ids in batch.values() for job_id in job_ids}
                await anyio.to_thread.run_sync(intake.journal_done, writer.settings, jobs)
            await self._settle(writer, batch, report)
            if self.observer is not None:
                failed = sum(1 for doc_id in batch if doc_id in report.skipped)
                self.observer.batch_published(
                    writer.name, time.perf_counter() - started, failed, len(writer.pending)
                )

    def _publish(self, writer: _Writer, doc_ids: list[str] | None) -> BuildReport:
        """On a worker thread: publish ``doc_ids`` (None: every change in the folder) and serve the
        new snapshot."""
        report = update(writer.settings, self.embedder, doc_ids)
        holder = self.collections.get(writer.name)
        if holder is not None:
            holder.reload()
        return report

    async def _requeue(self, writer: _Writer, batch: dict[str, list[str]], delay: float) -> None:
        async with writer.lock:
            for doc_id, jobs in batch.items():
                writer.pending[doc_id] = [*jobs, *writer.pending.get(doc_id, [])]
        await self._mark(writer.name, batch, "queued")
        await asyncio.sleep(delay)
        writer.wake.set()

    async def _mark(self, collection: str, batch: Mapping[str, list[str]], status: Status) -> None:
        async with self._changed:
            docs = self._docs.setdefault(collection, {})
            for doc_id, jobs in batch.items():
                for job_id in jobs:
                    if job_id in self._jobs:
                        self._jobs[job_id] = replace(self._jobs[job_id], status=status)
                written = docs.get(doc_id)
                if written is not None and written.job_id in jobs:
                    docs[doc_id] = replace(written, status=status, updated_at=time.time())
            self._changed.notify_all()

    async def _settle(self, writer: _Writer, batch: Mapping[str, list[str]], report: BuildReport) -> None:
        """Each job of ``batch`` indexed (or failed with the build's reason), the waiters woken."""
        now = time.time()
        snapshot_id = self._served_id(writer.name) or report.snapshot_id
        async with self._changed:
            docs = self._docs.setdefault(writer.name, {})
            for doc_id, jobs in batch.items():
                reason = report.skipped.get(doc_id)
                status: Status = "failed" if reason is not None else "indexed"
                for job_id in jobs:
                    if job_id in self._jobs:
                        job = self._jobs[job_id]
                        failed = reason if job.action == "put" else None
                        self._jobs[job_id] = replace(
                            job,
                            status="failed" if failed else "indexed",
                            reason=failed,
                            finished_at=now,
                            snapshot_id=snapshot_id,
                        )
                if doc_id in writer.pending or doc_id not in docs:
                    continue  # written again meanwhile: the next batch settles it
                written = docs[doc_id]
                if written is None:
                    del docs[doc_id]  # the deletion is published: the snapshot no longer has it
                else:
                    docs[doc_id] = replace(written, status=status, reason=reason, updated_at=now)
            self._changed.notify_all()

    def _served_id(self, collection: str) -> str | None:
        holder = self.collections.get(collection)
        searcher = holder.current if holder is not None else None
        return searcher.snapshot_id if searcher is not None else None

    def _manifest_entries(self, collection: str) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
        holder = self.collections.get(collection)
        searcher = holder.current if holder is not None else None
        if searcher is None:
            return {}, {}
        manifest = searcher.manifest
        return manifest.documents, manifest.skipped

    def _indexed(self, collection: str, doc_id: str) -> bool:
        return doc_id in self._manifest_entries(collection)[0]

    def _known(self, collection: str, doc_id: str) -> DocumentStatus | None:
        written = self._docs.get(collection, {})
        if doc_id in written:
            return written[doc_id]
        return self._from_snapshot(collection, doc_id)

    def _check_room(self, collection: str) -> None:
        documents, skipped = self._manifest_entries(collection)
        written = self._docs.get(collection, {})
        count = len(documents) + len(skipped)
        for doc_id, doc in written.items():
            known = doc_id in documents or doc_id in skipped
            count += (doc is not None and not known) - (doc is None and known)
        if count >= self.limits.max_documents:
            raise ConflictError(
                f"collection {collection!r} holds {count} documents, its limit (writes.max_documents is "
                f"{self.limits.max_documents}); delete some first"
            )

    def _from_snapshot(self, collection: str, doc_id: str) -> DocumentStatus | None:
        documents, skipped = self._manifest_entries(collection)
        entry = documents.get(doc_id)
        if entry is not None:
            return DocumentStatus(doc_id, "indexed", sha256=entry.sha256, bytes=entry.bytes)
        failed = skipped.get(doc_id)
        if failed is not None:
            return DocumentStatus(doc_id, "failed", reason=failed.reason, sha256=failed.sha256)
        return None
