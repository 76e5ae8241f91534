"""OpenAI's vector store file batches: several uploaded files attached in one request, polled as one
(``vector_stores.file_batches.upload_and_poll``). A batch is only the list of the documents it wrote;
its status and counts are those documents' statuses now. Each batch is kept as a small JSON record
in ``<index_dir>/_files/batches/`` (every worker process reads it; fsynced), the newest
:data:`MAX_BATCHES` of them."""

from __future__ import annotations

import logging
import os
import secrets
import time
from pathlib import Path
from typing import Any, Literal

import anyio.to_thread
import msgspec

from indexer.config import Settings
from indexer.snapshot.durable import replace_durably
from service.admission.auth import Access
from service.errors import InvalidInputError, NotFoundError
from service.integrations.openai import vector_files
from service.integrations.openai.file_store import FILES_DIR, FileStore, StoredFile
from service.integrations.openai.files_api import find_file
from service.integrations.openai.objects import (
    CreateFileBatch,
    FileCounts,
    ListPage,
    VectorStoreFileObject,
    list_page,
)
from service.integrations.openai.paging import Order, window
from service.runtime.writes import DocumentStatus, Writes

log = logging.getLogger(__name__)

BATCHES_DIR = "batches"
MAX_BATCHES = 10_000
"""Batch records kept; the oldest are removed first (their documents stay)."""
MAX_BATCH_FILES = 500
"""Most files one batch attaches (OpenAI's limit)."""


class Batch(msgspec.Struct, frozen=True):
    id: str
    vector_store_id: str
    created_at: int
    doc_ids: list[str]


class FileBatchObject(msgspec.Struct, frozen=True):
    id: str
    vector_store_id: str
    created_at: int
    status: Literal["in_progress", "completed", "cancelled", "failed"]
    file_counts: FileCounts
    object: Literal["vector_store.files_batch"] = "vector_store.files_batch"


class BatchStore:
    """The batch records of one index folder (blocking methods: call them off the event loop)."""

    def __init__(self, index_dir: Path) -> None:
        self.folder = index_dir / FILES_DIR / BATCHES_DIR

    def add(self, vector_store_id: str, doc_ids: list[str]) -> Batch:
        """Record a new batch of ``doc_ids`` (fsynced), dropping the oldest records beyond the limit."""
        batch_id = f"vsfb_{int(time.time() * 1000):012x}{secrets.token_hex(8)}"  # sorts by time
        batch = Batch(batch_id, vector_store_id, int(time.time()), doc_ids)
        self.folder.mkdir(parents=True, exist_ok=True)
        staged = self.folder / f".tmp-{batch_id}.json"
        replace_durably(self.folder / f"{batch_id}.json", msgspec.json.encode(batch), staged=staged)
        self._prune()
        return batch

    def _prune(self) -> None:
        names = sorted(e.name for e in os.scandir(self.folder) if e.name.startswith("vsfb_"))
        for name in names[: max(0, len(names) - MAX_BATCHES)]:
            (self.folder / name).unlink(missing_ok=True)

    def get(self, vector_store_id: str, batch_id: str) -> Batch:
        """Batch ``batch_id`` of vector store ``vector_store_id``; 404 if there is none."""
        missing = NotFoundError(
            f"No file batch found with id {batch_id[:80]!r} in vector store {vector_store_id!r}."
        )
        if not batch_id.startswith("vsfb_") or not batch_id.isascii() or not batch_id[5:].isalnum():
            raise missing
        try:
            batch = msgspec.json.decode((self.folder / f"{batch_id}.json").read_bytes(), type=Batch)
        except FileNotFoundError:
            raise missing from None
        except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("unreadable file batch record %s: %s", batch_id, exc)
            raise missing from None
        if batch.vector_store_id != vector_store_id:
            raise missing
        return batch


def _requested(body: CreateFileBatch) -> list[tuple[str, dict[str, Any] | None, Any]]:
    """``(file id, attributes, chunking)`` of each file a batch asks for, each file once."""
    if bool(body.file_ids) == bool(body.files):
        raise InvalidInputError(
            "give the files of a batch as file_ids or as files (not both, not neither)",
            errors=[{"key": "file_ids", "message": "exactly one of file_ids and files", "source": "body"}],
        )
    if body.file_ids:
        asked = [(file_id, body.attributes, body.chunking_strategy) for file_id in body.file_ids]
    else:
        asked = [(f.file_id, f.attributes, f.chunking_strategy or body.chunking_strategy) for f in body.files]
    seen: dict[str, tuple[str, dict[str, Any] | None, Any]] = {}
    for file_id, attributes, chunking in asked:
        seen.setdefault(file_id, (file_id, dict(attributes) if attributes else None, chunking))
    return list(seen.values())


async def create(
    writes: Writes,
    files: FileStore,
    store: BatchStore,
    collection: str,
    body: CreateFileBatch,
    access: Access,
    settings: Settings,
) -> Batch:
    """Attach every file of ``body`` (all checked first: 404 for a file this key does not have, 400
    for one no reader reads, nothing written then), and record the batch."""
    asked = _requested(body)
    chosen: list[tuple[StoredFile, dict[str, Any] | None]] = []
    for file_id, attributes, chunking in asked:
        vector_files.check_chunking(chunking, settings)
        record = find_file(files, file_id, access)
        vector_files.check_searchable(record)
        chosen.append((record, attributes))
    doc_ids = [await vector_files.write(writes, files, collection, record, attrs) for record, attrs in chosen]
    return await anyio.to_thread.run_sync(store.add, collection, doc_ids)


def _documents(writes: Writes, batch: Batch) -> list[DocumentStatus]:
    found = (writes.document_status(batch.vector_store_id, doc_id) for doc_id in batch.doc_ids)
    return [doc for doc in found if doc is not None]


def batch_object(writes: Writes, batch: Batch) -> FileBatchObject:
    """The batch now: its documents counted by status (one deleted since counts as cancelled)."""
    docs = _documents(writes, batch)
    counts = {"in_progress": 0, "completed": 0, "failed": 0}
    for doc in docs:
        counts[vector_files.STATUS[doc.status]] += 1
    cancelled = len(batch.doc_ids) - len(docs)
    return FileBatchObject(
        id=batch.id,
        vector_store_id=batch.vector_store_id,
        created_at=batch.created_at,
        status="in_progress" if counts["in_progress"] else "completed",
        file_counts=FileCounts(**counts, cancelled=cancelled, total=len(batch.doc_ids)),
    )


async def files_page(
    writes: Writes,
    batch: Batch,
    *,
    status: vector_files.OpenAIStatus | None,
    order: Order,
    after: str | None,
    before: str | None,
    limit: int,
) -> ListPage[VectorStoreFileObject]:
    """A page of the batch's files (those still in the store), by id."""
    docs = sorted(_documents(writes, batch), key=lambda doc: doc.doc_id)
    if status is not None:
        docs = [doc for doc in docs if vector_files.STATUS[doc.status] == status]
    chosen, more = window(
        docs,
        lambda doc: doc.doc_id,
        order=order,
        after=after,
        before=before,
        limit=limit,
        span=vector_files.span,
    )
    shown = await vector_files.file_objects(writes, batch.vector_store_id, chosen)
    return list_page(shown, more)
