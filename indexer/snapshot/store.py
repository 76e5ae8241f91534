"""The chunk and document store: one SQLite file, read by id without loading everything.

Columns added since the first schema (``documents.page_labels``, ``documents.char_boxes``,
``chunks.boxes``) may be missing from
a snapshot written before them: such a store still opens, and reads them as empty.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

_SCHEMA = """
CREATE TABLE documents (
    doc_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    date TEXT,
    sha256 TEXT NOT NULL,
    chunk_count INTEGER NOT NULL,
    format TEXT NOT NULL,
    metadata TEXT NOT NULL,
    pages TEXT NOT NULL,
    sections TEXT NOT NULL,
    first_row INTEGER NOT NULL,
    text TEXT NOT NULL,
    page_labels TEXT,
    char_boxes BLOB
);
CREATE TABLE chunks (
    row INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    line_start INTEGER NOT NULL,
    line_end INTEGER NOT NULL,
    text TEXT NOT NULL,
    section TEXT,
    page_start INTEGER,
    page_end INTEGER,
    boxes BLOB
);
CREATE INDEX chunks_by_doc ON chunks (doc_id, position);
"""

MetaValue = str | int | float | bool | list[str | int | float | bool]
SectionEntry = tuple[int, int, str]
"""(start, end of the heading, heading path) of a section, as readers find them."""
Box = tuple[int, float, float, float, float]
"""(page 1-based, x0, y0, x1, y1) in 0-1 coordinates of the page, top-left origin."""


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    doc_id: str
    source: str
    title: str
    date: str | None
    sha256: str
    chunk_count: int
    format: str = "text"
    metadata: Mapping[str, MetaValue] = field(default_factory=dict)
    """Front matter, PDF information, HTML meta: JSON scalars and lists."""
    pages: tuple[int, ...] = ()
    """Paged formats: where each page starts in ``text``."""
    sections: tuple[SectionEntry, ...] = ()
    first_row: int = 0
    """The row of its first chunk: a document's chunks have consecutive rows."""
    text: str = ""
    """Empty in records read for hits (:meth:`Store.documents`); :meth:`Store.document` fills it."""
    page_labels: tuple[str, ...] = ()
    """The pages' printed labels ("iv", "A-3"), page 1 first, when the document defines them."""
    char_boxes: bytes = b""
    """Formats drawn on pages (PDF): where each character of ``text`` is drawn, packed
    (:meth:`indexer.reading.boxes.CharBoxes.packed`), to box any span of it; filled with ``text``."""

    def page_label(self, page: int | None) -> str | None:
        """The printed label of ``page`` (1-based); None when the document has none for it."""
        if page is None or not 1 <= page <= len(self.page_labels):
            return None
        return self.page_labels[page - 1] or None


@dataclass(frozen=True, slots=True)
class ChunkRecord:
    row: int
    """The chunk's vector id in the FAISS index."""
    doc_id: str
    position: int
    char_start: int
    char_end: int
    line_start: int
    line_end: int
    text: str
    section: str | None = None
    """The heading path the chunk sits under (``"Apollo program > Part 2"``)."""
    page_start: int | None = None
    """Paged formats: the first and last page (1-based) the chunk's text is on."""
    page_end: int | None = None
    boxes: tuple[Box, ...] = ()
    """Formats drawn on pages (PDF): the rectangles of the chunk's text, one per stretch of a line."""

    @property
    def chunk_id(self) -> str:
        return f"{self.doc_id}#{self.position}"


_CHUNK_COLUMNS = (
    "row, doc_id, position, char_start, char_end, line_start, line_end, text, section, page_start, page_end, "
    "boxes"
)
_DOC_META = (
    "doc_id, source, title, date, sha256, chunk_count, format, metadata, pages, sections, first_row, "
    "page_labels"
)
_DOC_COLUMNS = f"{_DOC_META}, text, char_boxes"
_JSON = msgspec.json.Encoder()
_META_DECODER = msgspec.json.Decoder(dict[str, MetaValue])
_PAGES_DECODER = msgspec.json.Decoder(tuple[int, ...])
_SECTIONS_DECODER = msgspec.json.Decoder(tuple[tuple[int, int, str], ...])
_LABELS_DECODER = msgspec.json.Decoder(tuple[str, ...])
_BOX = np.dtype([("page", "<u4"), ("coords", "<u2", (4,))])
_BOX_SCALE = 65535
BOX_DIGITS = 4
"""Box coordinates are kept to 1/10000 of the page (stored as 1/65535, 12 bytes a box)."""


def _document(row: Sequence[Any]) -> DocumentRecord:
    return DocumentRecord(
        doc_id=row[0],
        source=row[1],
        title=row[2],
        date=row[3],
        sha256=row[4],
        chunk_count=row[5],
        format=row[6],
        metadata=_META_DECODER.decode(row[7]),
        pages=_PAGES_DECODER.decode(row[8]),
        sections=_SECTIONS_DECODER.decode(row[9]),
        first_row=row[10],
        page_labels=_LABELS_DECODER.decode(row[11]) if row[11] else (),
        text=row[12] if len(row) > 12 else "",
        char_boxes=(row[13] or b"") if len(row) > 13 else b"",
    )


def _chunk(row: Sequence[Any]) -> ChunkRecord:
    boxes = row[11]
    return ChunkRecord(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        row[6],
        row[7],
        row[8],
        row[9],
        row[10],
        _unpacked_boxes(boxes) if boxes else (),
    )


def _packed_boxes(boxes: Sequence[Box]) -> bytes | None:
    """A chunk's boxes as stored (12 bytes a box); None when it has none."""
    if not boxes:
        return None
    packed = np.zeros(len(boxes), dtype=_BOX)
    packed["page"] = [box[0] for box in boxes]
    packed["coords"] = np.rint(np.clip([box[1:] for box in boxes], 0, 1) * _BOX_SCALE)
    return packed.tobytes()


def _unpacked_boxes(data: bytes) -> tuple[Box, ...]:
    packed = np.frombuffer(data, dtype=_BOX)
    coords = np.round(packed["coords"] / _BOX_SCALE, BOX_DIGITS).tolist()
    return tuple((int(p), *c) for p, c in zip(packed["page"].tolist(), coords, strict=True))


class StoreWriter:
    """Writes a new store file; used only while a snapshot is staged."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(path)
        self._conn.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _SCHEMA)

    def add_document(self, doc: DocumentRecord) -> None:
        self._conn.execute(
            f"INSERT INTO documents ({_DOC_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                doc.doc_id,
                doc.source,
                doc.title,
                doc.date,
                doc.sha256,
                doc.chunk_count,
                doc.format,
                _JSON.encode(dict(doc.metadata)).decode(),
                _JSON.encode(doc.pages).decode(),
                _JSON.encode(doc.sections).decode(),
                doc.first_row,
                _JSON.encode(doc.page_labels).decode() if doc.page_labels else None,
                doc.text,
                doc.char_boxes or None,
            ),
        )

    def add_chunks(self, chunks: Iterable[ChunkRecord]) -> None:
        self._conn.executemany(
            f"INSERT INTO chunks ({_CHUNK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    c.row,
                    c.doc_id,
                    c.position,
                    c.char_start,
                    c.char_end,
                    c.line_start,
                    c.line_end,
                    c.text,
                    c.section,
                    c.page_start,
                    c.page_end,
                    _packed_boxes(c.boxes),
                )
                for c in chunks
            ),
        )

    def close(self) -> None:
        self._conn.commit()
        self._conn.close()


class Store:
    """Read-only access; safe to share between threads (one connection behind a lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        self._chunk_columns = self._present("chunks", _CHUNK_COLUMNS)
        self._doc_meta = self._present("documents", _DOC_META)
        self._doc_columns = self._present("documents", _DOC_COLUMNS)

    def _present(self, table: str, columns: str) -> str:
        """``columns`` to select, a column the file lacks (written before it existed) read as NULL."""
        have = {row[1] for row in self._conn.execute(f"PRAGMA table_info({table})")}
        return ", ".join(c if c in have else f"NULL AS {c}" for c in columns.split(", "))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def chunks(self, rows: Sequence[int]) -> list[ChunkRecord]:
        """Chunks by vector id, in the order asked; unknown ids are left out."""
        if not rows:
            return []
        marks = ",".join("?" * len(rows))
        with self._lock:
            found = self._conn.execute(
                f"SELECT {self._chunk_columns} FROM chunks WHERE row IN ({marks})", [int(r) for r in rows]
            ).fetchall()
        by_row = {r[0]: _chunk(r) for r in found}
        return [by_row[r] for r in rows if r in by_row]

    def chunks_of(self, doc_id: str) -> list[ChunkRecord]:
        with self._lock:
            found = self._conn.execute(
                f"SELECT {self._chunk_columns} FROM chunks WHERE doc_id = ? ORDER BY position", (doc_id,)
            ).fetchall()
        return [_chunk(r) for r in found]

    def document(self, doc_id: str) -> DocumentRecord | None:
        with self._lock:
            row = self._conn.execute(
                f"SELECT {self._doc_columns} FROM documents WHERE doc_id = ?", (doc_id,)
            ).fetchone()
        return _document(row) if row else None

    def documents(self, doc_ids: Sequence[str]) -> dict[str, DocumentRecord]:
        """Documents' metadata by id (text left empty, to keep result hydration cheap)."""
        if not doc_ids:
            return {}
        marks = ",".join("?" * len(doc_ids))
        with self._lock:
            found = self._conn.execute(
                f"SELECT {self._doc_meta} FROM documents WHERE doc_id IN ({marks})", list(doc_ids)
            ).fetchall()
        return {r[0]: _document(r) for r in found}

    def iter_documents(self, *, order: str = "doc_id") -> Iterator[DocumentRecord]:
        """All documents, metadata only, by id (``order="first_row"``: in row order)."""
        column = "first_row" if order == "first_row" else "doc_id"
        with self._lock:
            found = self._conn.execute(f"SELECT {self._doc_meta} FROM documents ORDER BY {column}").fetchall()
        return (_document(r) for r in found)

    def chunk_column(self, column: str) -> list[Any]:
        """One column of every chunk, in row order (``section``, ``page_start``, ``line_start``, ...)."""
        if column not in _CHUNK_COLUMNS.split(", "):
            raise ValueError(f"no chunk column {column!r}")
        with self._lock:
            return [r[0] for r in self._conn.execute(f"SELECT {column} FROM chunks ORDER BY row")]
