"""The retrieval core as the chatbot-facing endpoints call it: same limits, same search as /v1/search."""

from __future__ import annotations

import anyio.to_thread

from indexer.retriever import Hit
from indexer.store import DocumentRecord
from service.errors import InvalidInputError
from service.links import document_url
from service.resources import Resources


def check_query(query: str, resources: Resources, *, key: str = "query") -> None:
    """Refuse a query longer than ``service.max_query_chars`` (422), as ``/v1/search`` does."""
    limit = resources.settings.service.max_query_chars
    if len(query) > limit:
        raise InvalidInputError(
            f"{key} is {len(query)} characters long; the limit is {limit}",
            errors=[{"key": key, "message": f"longer than {limit} characters", "source": "body"}],
        )


async def search(resources: Resources, query: str, top_k: int, mode: str | None = None) -> list[Hit]:
    """The retriever's ``top_k`` best hits, computed off the event loop (and counted in the metrics)."""
    return await anyio.to_thread.run_sync(resources.search, query, top_k, mode)


class DocumentTexts:
    """Full document texts by id, each read from the store at most once (hits carry metadata only)."""

    def __init__(self, resources: Resources) -> None:
        self._store = resources.snapshot.store
        self._texts: dict[str, str] = {}

    def __call__(self, doc_id: str) -> str:
        if doc_id not in self._texts:
            record: DocumentRecord | None = self._store.document(doc_id)
            self._texts[doc_id] = record.text if record is not None else ""
        return self._texts[doc_id]


def attributes(hit: Hit, base_url: str) -> dict[str, str | int]:
    """A hit's citation as flat attributes (at most 16, as OpenAI allows), for filters and clients."""
    chunk, doc = hit.chunk, hit.document
    found: dict[str, str | int] = {
        "doc_id": doc.doc_id,
        "chunk_id": chunk.chunk_id,
        "source": doc.source,
        "title": doc.title,
        "char_start": chunk.char_start,
        "char_end": chunk.char_end,
        "line_start": chunk.line_start,
        "line_end": chunk.line_end,
        "url": document_url(doc.doc_id, base=base_url, start=chunk.char_start, end=chunk.char_end),
    }
    if doc.date:
        found["date"] = doc.date
    return found
