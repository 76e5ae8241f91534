"""A passage's citation as flat attributes, the form in which the chatbot APIs return it (OpenAI's
``attributes``, Dify's ``metadata``)."""

from __future__ import annotations

from indexer.search import Hit
from service.api.links import document_url


def attributes(hit: Hit, base_url: str) -> dict[str, str | int]:
    """A hit's citation as flat attributes (at most 16, as OpenAI allows): document, offsets, lines,
    link, and where the format has them, date, section and pages."""
    chunk, doc = hit.chunk, hit.document
    found: dict[str, str | int] = {
        "doc_id": doc.doc_id,
        "chunk_id": chunk.chunk_id,
        "source": doc.source,
        "title": doc.title,
        "format": doc.format,
        "char_start": chunk.char_start,
        "char_end": chunk.char_end,
        "line_start": chunk.line_start,
        "line_end": chunk.line_end,
        "url": document_url(doc.doc_id, base=base_url, start=chunk.char_start, end=chunk.char_end),
    }
    if doc.date:
        found["date"] = doc.date
    if chunk.section is not None:
        found["section"] = chunk.section
    if chunk.page_start is not None and chunk.page_end is not None:
        found["page_start"] = chunk.page_start
        found["page_end"] = chunk.page_end
    return found
