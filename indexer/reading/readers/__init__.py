"""Document readers: one module per format behind the ``DocumentReader`` protocol, and a factory that
picks one by suffix, or for a file whose suffix names no format, by its first bytes."""

from __future__ import annotations

from pathlib import Path

from indexer.reading.readers.base import DocumentReader, Extracted, MetaValue, Section, reader_key
from indexer.reading.readers.docx import DocxReader
from indexer.reading.readers.html import HtmlReader
from indexer.reading.readers.markdown import MarkdownReader
from indexer.reading.readers.pdf import PdfReader
from indexer.reading.readers.text import TextReader

__all__ = [
    "READERS",
    "DocumentReader",
    "Extracted",
    "MetaValue",
    "Section",
    "reader_for",
    "reader_key",
    "reader_named",
    "sniff",
]

READERS: tuple[DocumentReader, ...] = (
    TextReader(),
    MarkdownReader(),
    PdfReader(),
    HtmlReader(),
    DocxReader(),
)
SNIFF_BYTES = 1024
ZIP_TAIL = 1 << 16


def sniff(head: bytes, path: Path | None = None) -> DocumentReader | None:
    """The reader for content that starts with ``head``: ``%PDF-``, a zip holding
    ``word/document.xml`` (``path`` is opened to list it), or an HTML document."""
    by_format = {reader.format: reader for reader in READERS}
    if head.startswith(b"%PDF-"):
        return by_format["pdf"]
    if head.startswith(b"PK\x03\x04") and path is not None:
        # the central directory, at the end, names the parts: its last ZIP_TAIL bytes are looked at,
        # not parsed (a zip listing a million parts would cost the build's own memory); the DOCX
        # reader checks the zip when it reads it, in its worker
        try:
            with path.open("rb") as fh:
                fh.seek(max(0, path.stat().st_size - ZIP_TAIL))
                return by_format["docx"] if b"word/document.xml" in fh.read(ZIP_TAIL) else None
        except OSError:
            return None
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return by_format["html"]
    return None


def reader_named(key: str) -> DocumentReader | None:
    """The reader whose ``reader_key`` is ``key`` (``pdf/1``)."""
    return next((reader for reader in READERS if reader_key(reader) == key), None)


def reader_for(path: Path, head: bytes | None = None) -> DocumentReader | None:
    """The reader for ``path``'s suffix (case-insensitive); for an unknown suffix, the one ``sniff``
    finds in ``head`` (the file's first bytes), else ``None``."""
    suffix = path.suffix.lower()
    for reader in READERS:
        if suffix in reader.suffixes:
            return reader
    if head is not None:
        return sniff(head, path)
    return None
