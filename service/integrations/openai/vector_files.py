"""A vector store's files are its collection's documents, written through the service's
:class:`~service.runtime.writes.Writes`: attaching an uploaded file writes it as the document
``<file id>/<filename>`` with its ``attributes`` as the document's metadata; its status is the
document's (queued and indexing show as ``in_progress``, indexed as ``completed``, failed as
``failed`` with the reason in ``last_error``); deleting it deletes the document."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from typing import Any, BinaryIO, Literal

import anyio.to_thread

from indexer.config import Settings
from service.admission.auth import Access
from service.errors import InvalidInputError, NotFoundError, ServiceError, UnsupportedMediaTypeError
from service.integrations.openai.file_store import FileStore, StoredFile
from service.integrations.openai.identity import FILE_ID, after_cursor, doc_id_of, file_id_of
from service.integrations.openai.objects import (
    AutoChunking,
    LastError,
    ListPage,
    StaticChunking,
    StaticSizes,
    VectorStoreFileObject,
    list_page,
)
from service.integrations.openai.paging import Order, window
from service.runtime.collections import Collections
from service.runtime.intake import check_doc_id
from service.runtime.writes import DocumentStatus, Status, Writes

OpenAIStatus = Literal["in_progress", "completed", "cancelled", "failed"]
STATUS: dict[Status, OpenAIStatus] = {
    "queued": "in_progress",
    "indexing": "in_progress",
    "indexed": "completed",
    "failed": "failed",
}
OURS: dict[OpenAIStatus, tuple[Status, ...]] = {
    "in_progress": ("queued", "indexing"),
    "completed": ("indexed",),
    "failed": ("failed",),
    "cancelled": (),
}
READ_CHUNK = 1 << 20


def chunking_of(settings: Settings) -> StaticChunking:
    """How the service chunks every document, as OpenAI's static chunking strategy."""
    sizes = StaticSizes(settings.chunking.max_tokens, settings.chunking.overlap_tokens)
    return StaticChunking(static=sizes)


def check_chunking(asked: AutoChunking | StaticChunking | None, settings: Settings) -> None:
    """``auto`` (or none) is the service's chunking; a ``static`` one must be it (400 otherwise)."""
    if isinstance(asked, StaticChunking) and asked != chunking_of(settings):
        ours = chunking_of(settings).static
        raise InvalidInputError(
            "chunking is set for the whole service (chunking.max_tokens "
            f"{ours.max_chunk_size_tokens}, chunking.overlap_tokens {ours.chunk_overlap_tokens}): "
            "send chunking_strategy auto, or leave it out",
            errors=[{"key": "chunking_strategy", "message": "not the service's chunking", "source": "body"}],
        )


def _metadata_of(
    collections: Collections, collection: str, doc_ids: list[str]
) -> dict[str, Mapping[str, Any]]:
    """The served snapshot's metadata of ``doc_ids`` (blocking: reads the store)."""
    holder = collections.get(collection)
    if holder is None or holder.current is None or not doc_ids:
        return {}
    with holder.lease() as searcher:
        return {
            doc_id: record.metadata for doc_id, record in searcher.snapshot.store.documents(doc_ids).items()
        }


async def file_objects(
    writes: Writes, collection: str, docs: list[DocumentStatus]
) -> list[VectorStoreFileObject]:
    """``docs`` as vector store files; the attributes of those not written since the service started
    are read from the served snapshot."""
    missing = [doc.doc_id for doc in docs if not doc.metadata and doc.status == "indexed"]
    stored = await anyio.to_thread.run_sync(_metadata_of, writes.collections, collection, missing)
    created = _created_at(writes, collection)
    chunking = chunking_of(writes.settings)
    shown = []
    for doc in docs:
        attributes = dict(doc.metadata) or dict(stored.get(doc.doc_id, {}))
        error = (
            LastError(code="invalid_file", message=doc.reason or "not indexed")
            if doc.status == "failed"
            else None
        )
        shown.append(
            VectorStoreFileObject(
                id=file_id_of(doc.doc_id),
                vector_store_id=collection,
                created_at=int(doc.updated_at) if doc.updated_at is not None else created,
                usage_bytes=doc.bytes or 0,
                status=STATUS[doc.status],
                last_error=error,
                chunking_strategy=chunking,
                attributes=_attributes(attributes),
            )
        )
    return shown


def _attributes(metadata: Mapping[str, Any]) -> dict[str, str | int | float | bool]:
    """The metadata OpenAI's attributes can show (strings, numbers, booleans), at most 16 pairs."""
    shown = {k: v for k, v in metadata.items() if isinstance(v, str | int | float | bool)}
    return dict(list(shown.items())[:16])


def _created_at(writes: Writes, collection: str) -> int:
    holder = writes.collections.get(collection)
    searcher = holder.current if holder is not None else None
    if searcher is None:
        return 0
    return epoch(searcher.manifest.created_at)


def epoch(stamp: str) -> int:
    """Seconds since 1970 of an ISO 8601 time (0 if it is not one)."""
    try:
        return int(datetime.fromisoformat(stamp).timestamp())
    except ValueError:
        return 0


def read_chunks(files: FileStore, record: StoredFile) -> AsyncIterator[bytes]:
    """The uploaded file's bytes, a MiB at a time, read off the event loop. The file is opened now: a
    deletion meanwhile does not cut it short (:class:`NotFoundError` if it is already gone)."""
    try:
        handle = files.data_path(record.id).open("rb")
    except FileNotFoundError:
        raise NotFoundError(f"No such File object: {record.id!r}") from None
    return _chunks(handle)


async def _chunks(handle: BinaryIO) -> AsyncIterator[bytes]:
    try:
        while chunk := await anyio.to_thread.run_sync(handle.read, READ_CHUNK):
            yield chunk
    finally:
        handle.close()


def check_searchable(record: StoredFile) -> None:
    """400 unless a reader reads uploaded file ``record`` (its filename's suffix)."""
    try:
        check_doc_id(doc_id_of(record.id, record.filename))
    except (UnsupportedMediaTypeError, InvalidInputError) as exc:
        raise InvalidInputError(
            f"file {record.id} ({record.filename[:80]!r}) cannot be searched: {exc.detail}",
            errors=[{"key": "file_id", "message": "unsupported file", "source": "body"}],
        ) from None


async def write(
    writes: Writes,
    files: FileStore,
    collection: str,
    record: StoredFile,
    attributes: Mapping[str, Any] | None,
) -> str:
    """Write uploaded file ``record`` into ``collection`` as the document ``<file id>/<filename>``
    (durable when it returns; queued for indexing); its document id."""
    check_searchable(record)  # the filename's suffix picks the reader (whatever Content-Type came with it)
    doc_id = doc_id_of(record.id, record.filename)
    await writes.put(collection, doc_id, read_chunks(files, record), metadata=dict(attributes or {}))
    return doc_id


async def attach(
    writes: Writes,
    files: FileStore,
    collection: str,
    record: StoredFile,
    attributes: Mapping[str, Any] | None,
) -> VectorStoreFileObject:
    """:func:`write`, and the vector store file it made."""
    await write(writes, files, collection, record, attributes)
    return await describe(writes, collection, record.id, files)


def find(writes: Writes, collection: str, file_id: str, files: FileStore) -> DocumentStatus:
    """The document vector store file ``file_id`` of ``collection`` is; 404 if it has none."""
    found: DocumentStatus | None = None
    record = files.get(file_id, None) if FILE_ID.match(file_id) else None
    doc_id = doc_id_of(record.id, record.filename) if record is not None else file_id
    if record is not None or not FILE_ID.match(file_id):
        found = writes.document_status(collection, doc_id) or _in_sources(writes, collection, doc_id)
    else:  # the upload itself is gone: look for its folder in the collection
        page = writes.documents(collection, after=file_id + "/", limit=1)
        first = page.documents[0] if page.documents else None
        found = first if first is not None and first.doc_id.startswith(file_id + "/") else None
    if found is None:
        raise NotFoundError(f"No file found with id {file_id[:200]!r} in vector store {collection!r}.")
    return found


def _in_sources(writes: Writes, collection: str, doc_id: str) -> DocumentStatus | None:
    """Document ``doc_id`` as queued if the collection's source folder holds it but neither this
    process's writer nor the served snapshot knows it yet: another ``--workers`` process wrote it."""
    try:
        check_doc_id(doc_id, check_suffix=False)
    except ServiceError:
        return None
    if not (writes.collection_settings(collection).seeds_dir / doc_id).is_file():
        return None
    return DocumentStatus(doc_id, "queued")


async def describe(writes: Writes, collection: str, file_id: str, files: FileStore) -> VectorStoreFileObject:
    return (await file_objects(writes, collection, [find(writes, collection, file_id, files)]))[0]


def span(file_id: str) -> tuple[str, str]:
    """The document ids vector store file ``file_id`` may have: an upload's are ``<file id>/...``."""
    return file_id, after_cursor(file_id)


def _listed(
    writes: Writes, collection: str, wanted: tuple[Status | None, ...], after: str | None, limit: int
) -> tuple[list[DocumentStatus], bool]:
    docs: list[DocumentStatus] = []
    more = False
    for ours in wanted:
        found = writes.documents(collection, status=ours, after=after, limit=limit)
        docs.extend(found.documents)
        more = more or found.next_after is not None
    docs.sort(key=lambda doc: doc.doc_id)
    return docs, more


async def page(
    writes: Writes,
    collection: str,
    *,
    status: OpenAIStatus | None,
    order: Order,
    after: str | None,
    before: str | None,
    limit: int,
) -> ListPage[VectorStoreFileObject]:
    """A page of ``collection``'s files, by id, in ``status`` when given. Forwards without ``before``
    reads only the page from the writer; backwards or ``before`` reads every document's status
    (at most ``writes.max_documents``)."""
    wanted = OURS[status] if status is not None else (None,)
    if order == "asc" and before is None:
        docs, more = _listed(writes, collection, wanted, after_cursor(after) if after else None, limit)
        more = more or len(docs) > limit
        docs = docs[:limit]
    else:
        every, _ = _listed(writes, collection, wanted, None, writes.limits.max_documents + 1)
        id_of: Callable[[DocumentStatus], str] = lambda doc: doc.doc_id  # noqa: E731
        docs, more = window(every, id_of, order=order, after=after, before=before, limit=limit, span=span)
    shown = await file_objects(writes, collection, docs)
    return list_page(shown, more)


async def detach(writes: Writes, collection: str, doc: DocumentStatus) -> None:
    """Delete the document (gone from search once the deletion is published)."""
    await writes.delete(collection, doc.doc_id)


async def detach_everywhere(writes: Writes, record: StoredFile, access: Access) -> None:
    """Delete uploaded file ``record`` from every collection ``access`` may write to that has it."""
    doc_id = doc_id_of(record.id, record.filename)
    for name in access.visible(writes.collections.names, "write"):
        if writes.document_status(name, doc_id) or _in_sources(writes, name, doc_id):
            await writes.delete(name, doc_id)
