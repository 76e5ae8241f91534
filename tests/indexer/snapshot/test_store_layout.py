"""The store keeps each chunk's boxes and each document's page labels and character boxes, and still
opens a store written before they existed (they read as empty)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from indexer.snapshot.store import ChunkRecord, DocumentRecord, Store, StoreWriter

BOXES = ((1, 0.121, 0.0838, 0.8666, 0.1005), (2, 0.0, 0.5, 1.0, 0.5123))


def test_boxes_and_page_labels_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    writer = StoreWriter(path)
    writer.add_document(
        DocumentRecord(
            "a.pdf",
            "seeds",
            "A",
            None,
            "x",
            2,
            format="pdf",
            pages=(0, 9),
            page_labels=("iv", "v"),
            char_boxes=b"packed boxes",
        )
    )
    writer.add_chunks(
        [
            ChunkRecord(0, "a.pdf", 0, 0, 5, 1, 1, "Hello", page_start=1, page_end=2, boxes=BOXES),
            ChunkRecord(1, "a.pdf", 1, 6, 9, 2, 2, "you", page_start=2, page_end=2),
        ]
    )
    writer.close()
    store = Store(path)
    first, second = store.chunks([0, 1])
    assert first.boxes == BOXES and second.boxes == ()
    record = store.document("a.pdf")
    assert record is not None and record.page_labels == ("iv", "v")
    assert record.page_label(1) == "iv" and record.page_label(3) is None and record.page_label(None) is None
    assert store.documents(["a.pdf"])["a.pdf"].page_labels == ("iv", "v")
    assert record.char_boxes == b"packed boxes"  # with the text; metadata reads leave both out
    assert store.documents(["a.pdf"])["a.pdf"].char_boxes == b""
    store.close()


def test_a_store_written_before_boxes_and_labels_still_opens(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE documents (doc_id TEXT PRIMARY KEY, source TEXT NOT NULL, title TEXT NOT NULL, date TEXT,
            sha256 TEXT NOT NULL, chunk_count INTEGER NOT NULL, format TEXT NOT NULL, metadata TEXT NOT NULL,
            pages TEXT NOT NULL, sections TEXT NOT NULL, first_row INTEGER NOT NULL, text TEXT NOT NULL);
        CREATE TABLE chunks (row INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, position INTEGER NOT NULL,
            char_start INTEGER NOT NULL, char_end INTEGER NOT NULL, line_start INTEGER NOT NULL,
            line_end INTEGER NOT NULL, text TEXT NOT NULL, section TEXT, page_start INTEGER,
            page_end INTEGER);
        INSERT INTO documents VALUES ('a.pdf', 'seeds', 'A', NULL, 'x', 1, 'pdf', '{}', '[0]', '[]', 0,
            'Hello');
        INSERT INTO chunks VALUES (0, 'a.pdf', 0, 0, 5, 1, 1, 'Hello', NULL, 1, 1);
        """
    )
    conn.commit()
    conn.close()
    store = Store(path)
    (chunk,) = store.chunks([0])
    assert chunk.text == "Hello" and chunk.page_start == 1 and chunk.boxes == ()
    record = store.document("a.pdf")
    assert record is not None and record.text == "Hello" and record.page_labels == ()
    assert record.char_boxes == b""
    assert [c.boxes for c in store.chunks_of("a.pdf")] == [()]
    store.close()
