"""The fields filters select on: built into every snapshot, or metadata keys the documents have, each
with one type. The build records the metadata keys (:class:`Fields`); the query side validates filters
and compares values by these types."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from indexer.snapshot.manifest import FieldInfo, FieldType

DOCUMENT_FIELDS: dict[str, FieldType] = {
    "doc_id": "string",
    "source": "string",
    "title": "string",
    "date": "date",
    "format": "string",
}
"""Fields every document has (``date`` may be missing)."""
CHUNK_FIELDS: dict[str, FieldType] = {
    "section": "string",
    "page_start": "number",
    "page_end": "number",
    "chunk_id": "string",
    "char_start": "number",
    "char_end": "number",
    "line_start": "number",
    "line_end": "number",
}
"""Fields of each passage (``section``, ``page_start`` and ``page_end`` may be missing)."""
BUILTIN_FIELDS = {**DOCUMENT_FIELDS, **CHUNK_FIELDS}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ][0-9:.+\-Z]*)?")


def kind_of(value: Any) -> FieldType | None:
    """The field type of one scalar value."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "date" if _ISO_DATE.fullmatch(value) else "string"
    return None


def merged(kinds: Iterable[FieldType]) -> FieldType:
    """One type for values of ``kinds``: theirs when they agree, else ``string``."""
    found = set(kinds)
    return found.pop() if len(found) == 1 else "string"


@dataclass
class Fields:
    """Metadata keys seen while building, with the types of their values."""

    kinds: dict[str, set[FieldType]] = field(default_factory=dict)
    multiple: set[str] = field(default_factory=set)
    documents: dict[str, int] = field(default_factory=dict)

    def add(self, metadata: Mapping[str, Any]) -> None:
        for key, value in metadata.items():
            if key in BUILTIN_FIELDS:
                continue  # kept in the document's metadata; filters on the name mean the built-in field
            values = value if isinstance(value, list) else [value]
            if isinstance(value, list):
                self.multiple.add(key)
            kinds = self.kinds.setdefault(key, set())
            kinds.update(k for k in (kind_of(v) for v in values) if k is not None)
            self.documents[key] = self.documents.get(key, 0) + 1

    def infos(self) -> dict[str, FieldInfo]:
        return {
            key: FieldInfo(
                type=merged(kinds) if kinds else "string",
                multiple=key in self.multiple,
                documents=self.documents[key],
            )
            for key, kinds in sorted(self.kinds.items())
        }
