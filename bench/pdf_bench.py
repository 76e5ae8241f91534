"""What PDF passage rectangles and page images cost: reading speed with character boxes, the bytes
boxes add to the store (the chunks' boxes, and the documents' character boxes context passages are
boxed from), and the time to render a page image (uncached and cached), on PDFs
generated here (reportlab: the dev extra). Run from the repository root, under the heavy-job lock:

    flock /tmp/heavy.lock python -m bench.pdf_bench [--documents 10] [--pages 50] [--json out.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import statistics
import sys
import tempfile
import time
import unittest.mock
from pathlib import Path
from typing import Any

import numpy as np

from bench.formats_bench import make_pdf
from indexer.build.records import chunk_records
from indexer.config import ReadingSettings, Settings
from indexer.reading import box_packing
from indexer.reading.chunking import chunker_for
from indexer.reading.documents import Document
from indexer.reading.encodings import get_encoding
from indexer.reading.readers import pdf as pdf_reader
from indexer.reading.readers.pdf import PdfReader
from indexer.reading.readers.pdf_layout import PageChars
from indexer.snapshot.store import ChunkRecord, DocumentRecord, StoreWriter

WIDTHS = (400, 1000, 2000)


def no_boxes(page: Any, textpage: Any, raw: str) -> PageChars:
    """Stands in for :func:`pdf_layout.page_chars` to time reading without asking PDFium for boxes."""
    del page, textpage
    return PageChars(raw, np.full((len(raw), 4), np.nan, dtype=np.float32))


def read_pdfs(pdfs: list[bytes], *, boxes: bool = True) -> tuple[list[Document], float]:
    """The PDFs read, and the seconds it took (``boxes=False``: without PDFium's character boxes)."""
    if not boxes:
        with unittest.mock.patch.object(pdf_reader, "page_chars", no_boxes):
            return read_pdfs(pdfs)
    reader, limits = PdfReader(), ReadingSettings()
    started = time.perf_counter()
    documents = []
    for index, data in enumerate(pdfs):
        extracted = reader.read(data, Path(f"{index}.pdf"), limits)
        documents.append(
            Document(
                doc_id=f"{index}.pdf",
                source="bench",
                title=extracted.title or "",
                date=None,
                sha256="0" * 64,
                text=extracted.text,
                format="pdf",
                pages=extracted.pages,
                char_boxes=extracted.char_boxes,
                page_labels=extracted.page_labels,
            )
        )
    return documents, time.perf_counter() - started


def store_bytes(
    documents: list[Document], chunks: list[list[ChunkRecord]], boxes: bool, folder: Path, chars: bool = False
) -> int:
    """The store's size with the chunks' ``boxes`` or not, and the documents' character boxes (``chars``:
    what context passages are boxed from) or not."""
    path = folder / f"store-{boxes}-{chars}.sqlite"
    writer = StoreWriter(path)
    for document, records in zip(documents, chunks, strict=True):
        packed = (
            box_packing.pack(document.text, document.char_boxes)
            if chars and document.char_boxes is not None
            else b""
        )
        writer.add_document(
            DocumentRecord(
                document.doc_id,
                "bench",
                document.title,
                None,
                "0",
                len(records),
                "pdf",
                text=document.text,
                char_boxes=packed,
            )
        )
        writer.add_chunks(records if boxes else [dataclasses.replace(c, boxes=()) for c in records])
    writer.close()
    return path.stat().st_size


def boxes_cost(documents: list[Document], folder: Path) -> dict[str, Any]:
    settings = Settings().chunking
    encoding = get_encoding(settings.encoding)
    chunker = chunker_for(settings, lambda text: len(encoding.encode(text, disallowed_special=())), 512)
    chunks, row = [], 0
    for document in documents:
        records = chunk_records(chunker, document)[0]
        chunks.append([dataclasses.replace(c, row=row + c.position) for c in records])
        row += len(records)
    with_boxes = store_bytes(documents, chunks, True, folder)
    without = store_bytes(documents, chunks, False, folder)
    with_chars = store_bytes(documents, chunks, True, folder, chars=True)
    characters = sum(len(d.text) for d in documents)
    count = sum(len(c) for c in chunks)
    boxes = sum(len(chunk.boxes) for c in chunks for chunk in c)
    pages = sum(len(d.pages) for d in documents)
    return {
        "chunks": count,
        "boxes": boxes,
        "store_bytes_without_boxes": without,
        "store_bytes_with_boxes": with_boxes,
        "added_bytes": with_boxes - without,
        "added_percent": round(100 * (with_boxes - without) / without, 1),
        "added_bytes_per_chunk": round((with_boxes - without) / count, 1),
        "added_bytes_per_page": round((with_boxes - without) / pages, 1),
        "store_bytes_with_character_boxes": with_chars,
        "character_boxes_added_bytes": with_chars - with_boxes,
        "character_boxes_added_percent": round(100 * (with_chars - with_boxes) / without, 1),
        "character_boxes_bytes_per_character": round((with_chars - with_boxes) / characters, 2),
        "context_boxes_ms_per_document": unpack_ms(documents),
    }


def unpack_ms(documents: list[Document]) -> float:
    """Median milliseconds to box a context passage from a whole document's packed character boxes
    (the worst case: its passages spread from its start to its end)."""
    times = []
    for document in documents:
        assert document.char_boxes is not None
        packed, text = box_packing.pack(document.text, document.char_boxes), document.text
        started = time.perf_counter()
        box_packing.unpack(text, packed).boxes(len(text) // 2, len(text) // 2 + 1500)
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2)


def render_times(pdf: bytes, folder: Path, repeats: int) -> dict[str, Any]:
    from service.runtime.page_images import PageImages

    (folder / "seeds").mkdir(exist_ok=True)
    (folder / "seeds" / "doc.pdf").write_bytes(pdf)
    import hashlib

    sha = hashlib.sha256(pdf).hexdigest()
    out: dict[str, Any] = {}
    for fmt in ("png", "webp"):
        for width in WIDTHS:
            cold, sizes = [], []
            for page in range(1, repeats + 1):
                images = PageImages(folder / "seeds")
                started = time.perf_counter()
                image = images.image("doc.pdf", sha, page, width, fmt)
                cold.append((time.perf_counter() - started) * 1000)
                sizes.append(len(image.data))
            started = time.perf_counter()
            for _ in range(100):
                images.image("doc.pdf", sha, repeats, width, fmt)
            out[f"{fmt}@{width}"] = {
                "render_ms_median": round(statistics.median(cold), 1),
                "cached_ms": round((time.perf_counter() - started) * 10, 4),
                "kilobytes": round(statistics.median(sizes) / 1024, 1),
            }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--documents", type=int, default=10)
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=10, help="pages rendered per width and format")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    rng = random.Random(7)
    pdfs = [make_pdf(args.pages, rng) for _ in range(args.documents)]
    read_pdfs(pdfs[:1])  # warm up
    bare = min(read_pdfs(pdfs, boxes=False)[1] for _ in range(2))
    documents, seconds = read_pdfs(pdfs)
    seconds = min(seconds, read_pdfs(pdfs)[1])
    pages = args.documents * args.pages
    with tempfile.TemporaryDirectory() as tmp:
        result = {
            "pdfs": args.documents,
            "pages": pages,
            "read_pages_per_second": round(pages / seconds),
            "read_pages_per_second_without_boxes": round(pages / bare),
            "boxes": boxes_cost(documents, Path(tmp)),
            "page_images": render_times(pdfs[0], Path(tmp), min(args.repeats, args.pages)),
        }
    print(
        f"read {pages} pages (44 lines each): {result['read_pages_per_second']} pages/s with character "
        f"boxes, {result['read_pages_per_second_without_boxes']} pages/s without"
    )
    cost = result["boxes"]
    print(
        f"store: {cost['store_bytes_without_boxes']:,} bytes without boxes, "
        f"{cost['store_bytes_with_boxes']:,} with (+{cost['added_bytes']:,} = +{cost['added_percent']}%; "
        f"{cost['boxes']:,} boxes in {cost['chunks']:,} chunks, {cost['added_bytes_per_chunk']} bytes a "
        f"chunk, {cost['added_bytes_per_page']} a page)"
    )
    print(
        f"store with the documents' character boxes too (context passages): "
        f"{cost['store_bytes_with_character_boxes']:,} bytes (+{cost['character_boxes_added_bytes']:,} = "
        f"+{cost['character_boxes_added_percent']}% of the store without boxes; "
        f"{cost['character_boxes_bytes_per_character']} bytes a character); boxing a context passage "
        f"from a whole document's: {cost['context_boxes_ms_per_document']} ms"
    )
    for name, figures in result["page_images"].items():
        print(
            f"page image {name}: {figures['render_ms_median']} ms to render (median), "
            f"{figures['cached_ms']} ms cached, {figures['kilobytes']} KB"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
