"""Find the files under the seeds folder, decide which reader reads each, and read them into
documents: the extracted text with its title, date, metadata, pages and sections."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from indexer.config import ReadingSettings
from indexer.errors import UnreadableDocumentError
from indexer.reading.boxes import CharBoxes
from indexer.reading.readers import SNIFF_BYTES, MetaValue, Section, reader_for, reader_key, reader_named

log = logging.getLogger(__name__)

HASH_BLOCK = 1 << 20


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file found under the seeds folder (its bytes are read when it is parsed)."""

    doc_id: str
    """Path relative to the seeds folder, with forward slashes: stable across machines."""
    path: Path
    size: int
    sha256: str
    """The content's sha256; for a file that is not read (unsupported or too large), a fingerprint of
    its size and modification time (``stat:<bytes>:<mtime_ns>``), so it is never read just to hash it."""
    reader: str = ""
    """The reader that reads it and its version (``pdf/1``); empty when none does."""
    skip: str | None = None
    """Why it will not be read, when that is known without reading it."""

    def read(self) -> bytes:
        return self.path.read_bytes()


@dataclass(frozen=True, slots=True)
class Document:
    doc_id: str
    source: str
    title: str
    date: str | None
    sha256: str
    text: str
    format: str = "text"
    reader: str = ""
    metadata: Mapping[str, MetaValue] = field(default_factory=dict)
    pages: tuple[int, ...] = ()
    sections: tuple[Section, ...] = ()
    body_start: int = 0
    char_boxes: CharBoxes | None = None
    """Where each character of ``text`` is drawn on its page (PDF)."""
    page_labels: tuple[str, ...] = ()


def discover(root: Path) -> Iterator[Path]:
    """Every file under ``root``, recursively, in a stable order; hidden files and folders are left out."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if not name.startswith(".") and path.is_file():
                yield path


def doc_id_for(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(HASH_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def _head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(SNIFF_BYTES)


def load_source(root: Path, path: Path, limits: ReadingSettings | None = None) -> SourceFile:
    """What the build needs to know about ``path`` before reading it: its hash and its reader, or why
    it will not be read (no reader for it, empty, larger than ``reading.max_file_mb``)."""
    limits = limits or ReadingSettings()
    stat = path.stat()
    doc_id = doc_id_for(root, path)
    fingerprint = f"stat:{stat.st_size}:{stat.st_mtime_ns}"
    known_suffix = reader_for(path) is not None
    reader = reader_for(path, None if known_suffix or stat.st_size == 0 else _head(path))
    skip = None
    if reader is None:
        skip = f"unsupported file type ({path.suffix.lower()})" if path.suffix else "unsupported file type"
    elif stat.st_size == 0:
        skip = "empty file"
    elif stat.st_size > limits.max_file_bytes:
        skip = f"{stat.st_size / 2**20:.1f} MB, more than reading.max_file_mb ({limits.max_file_mb:g})"
    return SourceFile(
        doc_id=doc_id,
        path=path,
        size=stat.st_size,
        sha256=fingerprint if skip else _sha256(path),
        reader=reader_key(reader) if reader is not None else "",
        skip=skip,
    )


def parse_document(
    source: SourceFile, source_label: str, limits: ReadingSettings | None = None, data: bytes | None = None
) -> Document:
    """Read ``source`` with its reader (``data``: its bytes, if already read);
    :class:`UnreadableDocumentError` says why it cannot be (whatever went wrong inside a reader, the
    build goes on)."""
    limits = limits or ReadingSettings()
    if source.skip is not None:
        raise UnreadableDocumentError(source.skip)
    reader = reader_named(source.reader)
    if reader is None:
        raise UnreadableDocumentError("unsupported file type")
    data = source.read() if data is None else data
    try:
        extracted = reader.read(data, source.path, limits)
    except UnreadableDocumentError:
        raise
    except Exception as exc:  # a reader's bug must not stop the build
        log.exception("the %s reader failed on %s", reader.format, source.doc_id)
        raise UnreadableDocumentError(f"the {reader.format} reader failed ({type(exc).__name__})") from exc
    text = extracted.text
    if len(text) > limits.max_chars:
        raise UnreadableDocumentError(f"more than reading.max_chars ({limits.max_chars}) characters")
    if not text[extracted.body_start :].strip():
        raise UnreadableDocumentError("no text after the front matter" if text.strip() else "empty (no text)")
    return Document(
        doc_id=source.doc_id,
        source=source_label,
        title=extracted.title or source.path.stem,
        date=extracted.date,
        sha256=source.sha256,
        text=text,
        format=extracted.format,
        reader=reader_key(reader),
        metadata=extracted.metadata,
        pages=extracted.pages,
        sections=extracted.sections,
        body_start=extracted.body_start,
        char_boxes=extracted.char_boxes,
        page_labels=extracted.page_labels,
    )
