"""A passage's citation as flat attributes, the form in which the chatbot APIs return it and filter on
it (OpenAI's ``attributes``, Dify's ``metadata``), and what their filter languages share."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from indexer.search import Hit
from service.errors import InvalidInputError
from service.links import document_url

Scalar = str | int | float | bool
Attributes = Mapping[str, Scalar]
Predicate = Callable[[Attributes], bool]


class FilterError(ValueError):
    """A filter that cannot be understood."""


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


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


def hit_filter(
    parse: Callable[[Any], Predicate], spec: Any, key: str, base_url: str
) -> Callable[[Hit], bool]:
    """A filter on hits from a filter ``spec`` in one of the chatbot APIs' languages (``parse``); a
    malformed one is a 422 naming ``key``."""
    try:
        keep = parse(spec)
    except FilterError as exc:
        raise InvalidInputError(
            str(exc), errors=[{"key": key, "message": str(exc), "source": "body"}]
        ) from exc
    return lambda hit: keep(attributes(hit, base_url))
