"""What a document carries into every search hit is bounded when it is read: titles, metadata values
and section labels are cut to ``reading.max_title_chars``, ``max_metadata_value_chars`` and
``max_section_chars`` (the full text stays in the document, where passages are cut by chunking)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from indexer.reading.readers.base import MetaScalar, MetaValue, Section

ELLIPSIS = "…"
MAX_KEY_CHARS = 100
"""Metadata keys longer than this are dropped (a cut key could collide with another)."""


def cap(text: str, limit: int) -> str:
    """``text``, or its start cut at a word boundary when one is near, plus an ellipsis, ``limit``
    characters at most."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    space = cut.rfind(" ")
    if space >= limit * 0.6:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


def _cap_list(items: Sequence[MetaScalar], limit: int) -> list[MetaScalar]:
    """The items that fit in ``limit`` characters together (the first one cut if it alone does not)."""
    kept: list[MetaScalar] = []
    used = 0
    for item in items:
        size = len(item) if isinstance(item, str) else len(str(item))
        if used + size > limit:
            if not kept and isinstance(item, str):
                kept.append(cap(item, limit))
            break
        kept.append(item)
        used += size
    return kept


def cap_metadata(metadata: Mapping[str, MetaValue], limit: int) -> dict[str, MetaValue]:
    """``metadata`` with each string cut to ``limit`` characters, each list to the items that fit in
    ``limit`` together; keys longer than :data:`MAX_KEY_CHARS` are dropped."""
    out: dict[str, MetaValue] = {}
    for key, value in metadata.items():
        if len(key) > MAX_KEY_CHARS:
            continue
        if isinstance(value, str):
            out[key] = cap(value, limit)
        elif isinstance(value, list):
            items = _cap_list(value, limit)
            if items:
                out[key] = items
        else:
            out[key] = value
    return out


def cap_sections(sections: Sequence[Section], limit: int) -> tuple[Section, ...]:
    """``sections`` with each heading path cut to ``limit`` characters (offsets unchanged)."""
    return tuple(Section(s.start, s.body, cap(s.path, limit)) if len(s.path) > limit else s for s in sections)
