"""What every reader returns and the protocol it implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from indexer.config import ReadingSettings
from indexer.reading.boxes import CharBoxes

MetaScalar = str | int | float | bool
MetaValue = MetaScalar | list[MetaScalar]
"""A metadata value: a JSON scalar or a list of them (front matter, PDF info, HTML meta)."""


@dataclass(frozen=True, slots=True)
class Section:
    """A heading in the extracted text: where its section starts, where the heading's own text ends,
    and the heading path down to it (``"Apollo program > Part 2"``)."""

    start: int
    body: int
    """Offset just after the heading (``start`` when the heading is not in the text)."""
    path: str


@dataclass(frozen=True, slots=True)
class Extracted:
    """A document as a reader understood it. ``text`` is exactly what is chunked, cited and served:
    every offset below (and every chunk's) is into it."""

    text: str
    format: str
    title: str | None = None
    date: str | None = None
    """ISO date (``YYYY-MM-DD``)."""
    metadata: Mapping[str, MetaValue] = field(default_factory=dict)
    pages: tuple[int, ...] = ()
    """Paged formats: where each page starts in ``text`` (page 1 at 0), in order."""
    sections: tuple[Section, ...] = ()
    """Headings in text order, starts strictly increasing."""
    body_start: int = 0
    """Where indexed text starts: what comes before (front matter) is kept in ``text`` but not chunked."""
    char_boxes: CharBoxes | None = None
    """Paged formats drawn on pages (PDF): where each character of ``text`` is drawn."""
    page_labels: tuple[str, ...] = ()
    """The pages' printed labels ("iv", "A-3") when the document defines them, page 1 first."""


class DocumentReader(Protocol):
    """Turns a file's bytes into the text that is chunked, cited and served."""

    format: str
    """The format's name, as ``format`` in citations, filters and ``indexer inspect``."""
    version: int
    """Raised whenever the reader extracts differently: documents it read are then read again."""
    suffixes: tuple[str, ...]

    def read(self, data: bytes, path: Path, limits: ReadingSettings) -> Extracted:
        """Extract ``data``; raise ``UnreadableDocumentError`` when the file cannot be read (the reason
        is reported) and never anything else for bad input."""
        ...


def reader_key(reader: DocumentReader) -> str:
    """The reader and version recorded per document in the manifest (``pdf/1``)."""
    return f"{reader.format}/{reader.version}"
