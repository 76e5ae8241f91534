"""Vector stores are collections: which one an id names, whether the caller may see or write it, and
the collection as OpenAI's vector store object (file counts by status, bytes, times)."""

from __future__ import annotations

from service.admission.auth import Access
from service.errors import ForbiddenError, NotFoundError
from service.integrations.openai.objects import FileCounts, VectorStoreObject
from service.integrations.openai.vector_files import STATUS, epoch
from service.runtime.writes import Writes
from service.settings import AppSettings


def collection_of(vector_store_id: str, settings: AppSettings) -> str:
    """The collection ``vector_store_id`` names (``integrations.vector_store_id``: the default one)."""
    if vector_store_id == settings.integrations.vector_store_id:
        return settings.default_collection
    return vector_store_id


def visible(vector_store_id: str, settings: AppSettings, writes: Writes, access: Access) -> str:
    """The collection of a vector store the caller may search; 404 otherwise, as for one that does
    not exist (names do not leak)."""
    name = collection_of(vector_store_id, settings)
    if writes.collections.get(name) is None or not access.may(name):
        raise NotFoundError(f"No vector store found with id {vector_store_id[:128]!r}.")
    return name


def writable(vector_store_id: str, settings: AppSettings, writes: Writes, access: Access) -> str:
    """The collection of a vector store the caller may write to; 404 if it may not see it, 403 if
    it may only search it."""
    name = visible(vector_store_id, settings, writes, access)
    if not access.may(name, "write"):
        raise ForbiddenError(
            f"this API key may search vector store {vector_store_id[:128]!r} but not write to it"
        )
    return name


def created_at(writes: Writes, name: str) -> int:
    """When the collection was created over HTTP, else when its served snapshot was built."""
    entry = writes.registry.get(name)
    if entry is not None:
        return int(entry.created_at)
    holder = writes.collections.get(name)
    searcher = holder.current if holder is not None else None
    return epoch(searcher.manifest.created_at) if searcher is not None else 0


def store_object(writes: Writes, name: str) -> VectorStoreObject:
    """Collection ``name`` as a vector store: its documents counted by status, the bytes of those
    indexed, and when it last changed (its served snapshot's time)."""
    counts = {status: 0 for status in ("in_progress", "completed", "failed")}
    for status, count in writes.counts(name).items():
        counts[STATUS[status]] += count
    holder = writes.collections.get(name)
    searcher = holder.current if holder is not None else None
    usage = sum(entry.bytes for entry in searcher.manifest.documents.values()) if searcher is not None else 0
    made = created_at(writes, name)
    return VectorStoreObject(
        id=name,
        name=name,
        created_at=made,
        file_counts=FileCounts(**counts, total=sum(counts.values())),
        usage_bytes=usage,
        status="in_progress" if counts["in_progress"] else "completed",
        last_active_at=epoch(searcher.manifest.created_at) if searcher is not None else made,
        description=writes.collections.descriptions.get(name) or None,
        metadata={},
    )
