"""Scanned PDFs (pages that are only images) are read by OCR when ``reading.ocr`` is auto: the text
is the text the pages show, and each line's boxes lie where the line is drawn on the page."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from bench.ocr_bench import cer
from indexer.config import ReadingSettings
from indexer.errors import UnreadableDocumentError
from indexer.reading.readers.base import Extracted
from indexer.reading.readers.pdf import PdfReader
from indexer.reading.readers.pdf_ocr import ocr_installed
from tests.documents import make_image_pdf, make_pdf
from tests.indexer.reading.test_pdf_layout import drawn_characters

pytestmark = pytest.mark.skipif(not ocr_installed(), reason="the ocr extra is not installed")

PAGES = [
    ["The survey began in March with three rovers.", "Each rover carried a spectrometer, and"],
    ["Ice deposits were mapped near the southern rim.", "Samples were sealed for the return in April 1970."],
]
SETTINGS = ReadingSettings()


@pytest.fixture(scope="module")
def scanned() -> Extracted:
    return PdfReader().read(make_image_pdf(PAGES), Path("scan.pdf"), SETTINGS)


def test_a_scanned_pdf_is_read_by_ocr_page_by_page(scanned: Extracted) -> None:
    expected = "\n\n".join("\n".join(lines) for lines in PAGES)
    assert cer(expected, scanned.text) <= 0.02
    assert len(scanned.pages) == 2 and scanned.text[scanned.pages[1] :].startswith("Ice deposits")


def test_each_ocr_line_is_boxed_where_the_line_is_drawn(scanned: Extracted) -> None:
    drawn = drawn_characters(make_pdf(PAGES))  # the same pages with a text layer: where each line is
    assert scanned.char_boxes is not None
    for page, lines in enumerate(PAGES, start=1):
        for line in lines:
            start = scanned.text.find(line[:12])
            assert start >= 0, line
            (box,) = scanned.char_boxes.boxes(start, start + len(line))
            assert box[0] == page
            inside = [
                (x, y)
                for p, _, x, y in drawn
                if p == page and box[1] <= x <= box[3] and box[2] <= y <= box[4]
            ]
            assert len(inside) == len(line.replace(" ", ""))  # the line's characters, no others


def test_with_ocr_off_a_scanned_pdf_is_skipped_with_the_reason() -> None:
    off = msgspec.structs.replace(SETTINGS, ocr="off")
    with pytest.raises(UnreadableDocumentError, match=r"reading\.ocr is off"):
        PdfReader().read(make_image_pdf(PAGES[:1]), Path("scan.pdf"), off)


def test_a_pdf_with_more_pages_to_ocr_than_allowed_is_skipped() -> None:
    one = msgspec.structs.replace(SETTINGS, max_ocr_pages=1)
    with pytest.raises(UnreadableDocumentError, match=r"max_ocr_pages \(1\)"):
        PdfReader().read(make_image_pdf(PAGES), Path("scan.pdf"), one)
