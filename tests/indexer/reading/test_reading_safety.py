"""Reading within bounds: the worker pool's time and memory budget, the source folder's edges (links,
special files, names), values capped at read time, and the reader fixes that keep headings and dates
right (PDF running lines, python-docx's template date)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.config import ReadingSettings
from indexer.errors import UnreadableDocumentError
from indexer.reading.budget import ReadingPool, allowance
from indexer.reading.caps import cap, cap_metadata
from indexer.reading.documents import Document, load_source, load_sources, parse_document
from indexer.reading.names import doc_id_for, printable
from indexer.reading.readers.docx import DocxReader
from indexer.reading.readers.html import HtmlReader, decode_html
from indexer.reading.readers.pdf import PdfReader, strip_running_lines
from indexer.reading.readers.pdf_ocr import ocr_installed
from tests.documents import make_docx, make_image_pdf, make_pdf
from tests.security import hostile

LIMITS = ReadingSettings()


def test_a_heading_numbered_like_its_page_is_not_taken_for_a_running_line() -> None:
    titles = ["1. Lamp inspection", "2. Filter change", "3. Wick trimming", "4. Log book"]
    pages = [[title, f"Step {n}: check the lamp room before the shift."] for n, title in enumerate(titles)]
    data = make_pdf(pages, header="Lighthouse manual", page_numbers=True)
    text = PdfReader().read(data, Path("m.pdf"), LIMITS).text
    for title in titles:
        assert title in text
    assert "Lighthouse manual" not in text and "Page 2 of 4" not in text


def test_a_bookmarked_heading_stays_even_when_it_repeats_at_the_top_of_pages() -> None:
    pages = [["Lamp inspection", f"Body {n} of the inspection notes."] for n in range(4)]
    data = make_pdf(pages, outline=[(0, "Lamp inspection", 0)])
    text = PdfReader().read(data, Path("m.pdf"), LIMITS).text
    assert text.count("Lamp inspection") == 1 and text.startswith("Lamp inspection")


def test_running_lines_with_page_labels_still_go() -> None:
    bodies = ["The lamp is lit.", "The wick is trimmed.", "The glass is clean.", "The log is signed."]
    pages = [[body, f"- {i + 1} -"] for i, body in enumerate(bodies)]
    assert strip_running_lines(pages) == [[body] for body in bodies]


def test_a_python_docx_template_date_is_no_documents_date() -> None:
    extracted = DocxReader().read(make_docx([("p", "Lamp room notes.")]), Path("a.docx"), LIMITS)
    assert extracted.date is None
    assert "created" not in extracted.metadata and "modified" not in extracted.metadata


def test_a_docx_date_is_its_last_modification() -> None:
    import datetime as dt

    import docx

    document = docx.Document(io.BytesIO(make_docx([("p", "Lamp room notes.")])))
    document.core_properties.created = dt.datetime(2013, 12, 23, 23, 15)
    document.core_properties.modified = dt.datetime(2025, 2, 3, 10, 0)
    buffer = io.BytesIO()
    document.save(buffer)
    assert DocxReader().read(buffer.getvalue(), Path("a.docx"), LIMITS).date == "2025-02-03"


def test_an_unsuitable_declared_charset_falls_back_without_an_error() -> None:
    assert "café" in decode_html(hostile.idna_charset_html())
    text = HtmlReader().read(hostile.idna_charset_html(), Path("a.html"), LIMITS).text
    assert "café included" in text


def test_docx_tables_keep_merged_cells_as_python_docx_shows_them() -> None:
    import docx

    document = docx.Document()
    table = document.add_table(rows=3, cols=3)
    for r, row in enumerate(table.rows):
        for c, cell in enumerate(row.cells):
            cell.text = f"r{r}c{c}"
    table.cell(0, 0).merge(table.cell(0, 1))
    table.cell(1, 2).merge(table.cell(2, 2))
    buffer = io.BytesIO()
    document.save(buffer)
    text = DocxReader().read(buffer.getvalue(), Path("t.docx"), LIMITS).text
    assert text.splitlines() == ["r0c0 r0c1 | r0c2", "r1c0 | r1c1 | r1c2 r2c2", "r2c0 | r2c1 | r1c2 r2c2"]


def test_values_are_capped_with_an_ellipsis() -> None:
    assert cap("word " * 100, 50).endswith("…") and len(cap("word " * 100, 50)) <= 50
    capped = cap_metadata({"a": "x" * 5000, "tags": ["t" * 40] * 100, "k" * 200: "v", "n": 3}, 100)
    assert capped == {"a": "x" * 99 + "…", "tags": ["t" * 40] * 2, "n": 3}


def test_a_huge_front_matter_title_is_refused_before_yaml_and_a_huge_heading_is_capped(
    tmp_path: Path,
) -> None:
    (tmp_path / "fm.md").write_bytes(b"---\ntitle: " + b"x" * 400_000 + b"\n---\nBody.\n")
    with pytest.raises(UnreadableDocumentError, match="max_front_matter_kb"):
        parse_document(load_source(tmp_path, tmp_path / "fm.md"), "fm.md")
    (tmp_path / "h.md").write_bytes(hostile.huge_title_markdown(100_000))
    document = parse_document(load_source(tmp_path, tmp_path / "h.md"), "h.md")
    assert len(document.title) <= LIMITS.max_title_chars
    assert all(len(s.path) <= LIMITS.max_section_chars for s in document.sections)


def test_links_and_special_files_are_skipped_unopened(tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_text("Lamp room.")
    (tmp_path / "link.txt").symlink_to(tmp_path / "real.txt")
    (tmp_path / "broken.txt").symlink_to(tmp_path / "nowhere.txt")
    os.mkfifo(tmp_path / "pipe.txt")
    found = {s.doc_id: s.skip for s in load_sources(tmp_path)}
    assert found == {
        "broken.txt": "a symbolic link (reading.follow_symlinks is false)",
        "link.txt": "a symbolic link (reading.follow_symlinks is false)",
        "pipe.txt": "a FIFO (named pipe), not a regular file",
        "real.txt": None,
    }


def test_ids_are_valid_utf8_and_names_print_escaped(tmp_path: Path) -> None:
    path = tmp_path / os.fsdecode(b"caf\xe9 \x1b[2J.txt")
    assert doc_id_for(tmp_path, path) == "caf\\xe9 \x1b[2J.txt"
    assert printable(doc_id_for(tmp_path, path)) == "caf\\xe9 \\x1b[2J.txt"
    assert printable("right\u202eleft\r\n") == "right\\u202eleft\\x0d\\x0a"


def test_a_file_past_its_memory_budget_is_skipped_and_the_next_read(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_bytes(b"lamp " * (45 * 2**20 // 5))  # its bytes and text: 90 MB
    (tmp_path / "small.txt").write_text("The lamp room opens at dawn.")
    limits = ReadingSettings(max_file_memory_mb=64, max_chars=100_000_000)
    sources = load_sources(tmp_path, limits)
    with ReadingPool(limits) as pool:
        read = pool.read((s, s.doc_id, None) for s in sources)
        outcomes = dict(zip([s.doc_id for s in sources], read, strict=True))
    assert outcomes["big.txt"] == "over reading.max_file_memory_mb (64 MB)"
    small = outcomes["small.txt"]
    assert isinstance(small, Document) and small.text == "The lamp room opens at dawn."


def test_a_worker_killed_past_its_time_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "a-deep.html").write_bytes(hostile.deep_html("article", 40_000))
    (tmp_path / "b-after.txt").write_text("Read by the next worker.")
    limits = ReadingSettings(max_file_seconds=0.05)
    sources = load_sources(tmp_path, limits)
    with ReadingPool(limits) as pool:
        first, second = pool.read((s, s.doc_id, None) for s in sources)
    assert first == "over reading.max_file_seconds (0.05 s)"
    assert isinstance(second, Document) and second.text == "Read by the next worker."


SCAN = [
    [f"Line {n} of page {page}: the rover crossed the crater floor." for n in range(12)] for page in (1, 2)
]


def _read_scan(tmp_path: Path, limits: ReadingSettings) -> object:
    (tmp_path / "scan.pdf").write_bytes(make_image_pdf(SCAN))
    (source,) = load_sources(tmp_path, limits)
    with ReadingPool(limits) as pool:
        (outcome,) = pool.read([(source, source.doc_id, None)])
    return outcome


@pytest.mark.skipif(not ocr_installed(), reason="the ocr extra is not installed")
def test_each_page_read_by_ocr_gives_the_file_more_time(tmp_path: Path) -> None:
    # 1 s would not even load the OCR engine and read two pages of 12 lines: the pages' time does
    read = _read_scan(tmp_path, ReadingSettings(max_file_seconds=1, max_ocr_page_seconds=600))
    assert isinstance(read, Document) and "Line 11 of page 2" in read.text


@pytest.mark.skipif(not ocr_installed(), reason="the ocr extra is not installed")
def test_a_scan_past_its_time_with_its_ocr_pages_is_skipped_with_the_reason(tmp_path: Path) -> None:
    skipped = _read_scan(tmp_path, ReadingSettings(max_file_seconds=1, max_ocr_page_seconds=0.01))
    assert isinstance(skipped, str) and skipped.startswith("over reading.max_file_seconds (1 s) + ")
    assert "reading.max_ocr_page_seconds (0.01 s) for each of" in skipped


def test_the_time_ocr_pages_add_is_bounded_by_max_ocr_pages() -> None:
    limits = ReadingSettings(max_file_seconds=30, max_ocr_page_seconds=20, max_ocr_pages=3)
    assert allowance(limits, 0) == 30
    assert allowance(limits, 2) == 70
    assert allowance(limits, 3) == allowance(limits, 1000) == 90  # a worker reporting more gets no more


def test_a_fixed_cost_exempted_from_the_memory_budget_leaves_the_file_its_whole_budget() -> None:
    script = """
from indexer.reading.memory import exempt, limit_memory, room
limit_memory(64 * 2**20)
before = room()
with exempt():
    engine = bytearray(256 * 2**20)  # like the OCR engine: over the budget, but not the file's
after = room()
try:
    work = bytearray(96 * 2**20)
    print(before - after, "allowed")
except MemoryError:
    print(before - after, "refused")
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    command = [sys.executable, "-c", script]
    run = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True, env=env)
    shrunk, verdict = run.stdout.split()
    assert abs(int(shrunk)) < 8 * 2**20  # the room for the file is what it was
    assert verdict == "refused"  # and the file's own work is still held to it
