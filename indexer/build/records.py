"""What the store keeps of a read document: its chunk records (sections chunked apart, with pages and
section paths) and its document record. Shared by every way of processing documents (local, Ray)."""

from __future__ import annotations

from indexer.reading import box_packing
from indexer.reading.chunking import Chunker
from indexer.reading.documents import Document
from indexer.reading.positions import Layout
from indexer.snapshot.store import ChunkRecord, DocumentRecord


def chunk_records(chunker: Chunker, document: Document) -> tuple[list[ChunkRecord], list[int]]:
    """The document's chunks, row = position (the build moves them to their rows), and each chunk's
    length in the model's own tokens (the chunker counted them; embedding sorts by them)."""
    text = document.text
    layout = Layout(text, document.pages, document.sections, document.body_start)
    chunked = chunker.chunk(text, layout.segments(len(text), document.body_start))
    records = []
    boxes = document.char_boxes
    for c in chunked:
        page_start, page_end = layout.pages_of(c.char_start, c.char_end)
        records.append(
            ChunkRecord(
                c.position,
                document.doc_id,
                c.position,
                c.char_start,
                c.char_end,
                c.line_start,
                c.line_end,
                c.text,
                section=layout.section_of(c.char_start, c.char_end),
                page_start=page_start,
                page_end=page_end,
                boxes=tuple(boxes.boxes(c.char_start, c.char_end)) if boxes is not None else (),
            )
        )
    return records, [c.tokens[1] for c in chunked]


def document_record(document: Document, chunks: int, first_row: int) -> DocumentRecord:
    return DocumentRecord(
        document.doc_id,
        document.source,
        document.title,
        document.date,
        document.sha256,
        chunks,
        format=document.format,
        metadata=document.metadata,
        pages=document.pages,
        sections=tuple((s.start, s.body, s.path) for s in document.sections),
        first_row=first_row,
        text=document.text,
        page_labels=document.page_labels,
        char_boxes=box_packing.pack(document.text, document.char_boxes)
        if document.char_boxes is not None
        else b"",
    )
