"""The chunk and document store: one SQLite file, read by id without loading everything."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE documents (
    doc_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    date TEXT,
    sha256 TEXT NOT NULL,
    chunk_count INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE TABLE chunks (
    row INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    line_start INTEGER NOT NULL,
    line_end INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX chunks_by_doc ON chunks (doc_id, position);
"""


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    doc_id: str
    source: str
    title: str
    date: str | None
    sha256: str
    chunk_count: int
    text: str


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

    @property
    def chunk_id(self) -> str:
        return f"{self.doc_id}#{self.position}"


_CHUNK_COLUMNS = "row, doc_id, position, char_start, char_end, line_start, line_end, text"
_DOC_COLUMNS = "doc_id, source, title, date, sha256, chunk_count, text"


class StoreWriter:
    """Writes a new store file; used only while a snapshot is staged."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(path)
        self._conn.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _SCHEMA)

    def add_document(self, doc: DocumentRecord) -> None:
        self._conn.execute(
            f"INSERT INTO documents ({_DOC_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (doc.doc_id, doc.source, doc.title, doc.date, doc.sha256, doc.chunk_count, doc.text),
        )

    def add_chunks(self, chunks: Iterable[ChunkRecord]) -> None:
        self._conn.executemany(
            f"INSERT INTO chunks ({_CHUNK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (c.row, c.doc_id, c.position, c.char_start, c.char_end, c.line_start, c.line_end, c.text)
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
                f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE row IN ({marks})", [int(r) for r in rows]
            ).fetchall()
        by_row = {r[0]: ChunkRecord(*r) for r in found}
        return [by_row[r] for r in rows if r in by_row]

    def chunks_of(self, doc_id: str) -> list[ChunkRecord]:
        with self._lock:
            found = self._conn.execute(
                f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE doc_id = ? ORDER BY position", (doc_id,)
            ).fetchall()
        return [ChunkRecord(*r) for r in found]

    def document(self, doc_id: str) -> DocumentRecord | None:
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_DOC_COLUMNS} FROM documents WHERE doc_id = ?", (doc_id,)
            ).fetchone()
        return DocumentRecord(*row) if row else None

    def documents(self, doc_ids: Sequence[str]) -> dict[str, DocumentRecord]:
        """Documents' metadata by id (text left empty, to keep result hydration cheap)."""
        if not doc_ids:
            return {}
        marks = ",".join("?" * len(doc_ids))
        with self._lock:
            found = self._conn.execute(
                f"SELECT doc_id, source, title, date, sha256, chunk_count, '' FROM documents "
                f"WHERE doc_id IN ({marks})",
                list(doc_ids),
            ).fetchall()
        return {r[0]: DocumentRecord(*r) for r in found}

    def iter_documents(self) -> Iterator[DocumentRecord]:
        """All documents, metadata only, in id order."""
        with self._lock:
            found = self._conn.execute(
                "SELECT doc_id, source, title, date, sha256, chunk_count, '' FROM documents ORDER BY doc_id"
            ).fetchall()
        return (DocumentRecord(*r) for r in found)
