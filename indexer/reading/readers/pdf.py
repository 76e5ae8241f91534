"""PDF: the text layer, page by page, with pypdfium2 (PDFium; Apache-2.0 / BSD-3-Clause).

Pages are joined by a blank line and each page's start in the text is kept, so every passage knows
its pages. Running headers and footers (a line repeated at the top or bottom of most pages, page
numbers) are left out. The outline (bookmarks), when there is one, gives the sections. Title and
date come from the document information, else the first line of text. Each character of the text
keeps where it is drawn (:mod:`~indexer.reading.readers.pdf_layout`), and pages keep their printed
labels. Pages without a usable text layer (scans) are read by OCR (:mod:`~indexer.reading.readers.pdf_ocr`)
when ``reading.ocr`` is ``auto`` and the ``ocr`` extra is installed; a PDF with no text either way is
reported, not read.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from indexer.config import ReadingSettings
from indexer.errors import UnreadableDocumentError
from indexer.reading.readers.base import Extracted, MetaValue, Section
from indexer.reading.readers.headings import HeadingPath
from indexer.reading.readers.metadata import flatten
from indexer.reading.readers.pdf_layout import PageChars, indexed_lines, page_chars, page_labels, text_boxes
from indexer.reading.readers.pdf_ocr import PageReader, needs_ocr, ocr_installed

PAGE_BREAK = "\n\n"
MAX_OUTLINE = 5000
MAX_RUNNING_LINE = 120
"""Longer lines are never taken for a running header or footer."""
_DIGITS = re.compile(r"\d+")
_WORD = re.compile(r"\w+")
_PAGE_WORDS = frozenset(["page", "p", "pg", "of", "seite", "von", "de", "pagina", "página"])
_PDF_DATE = re.compile(r"D?:?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?")
_INFO_KEYS = {
    "Author": "author",
    "Subject": "subject",
    "Keywords": "keywords",
    "Creator": "creator",
    "Producer": "producer",
    "CreationDate": "created",
    "ModDate": "modified",
}


def _pdf_date(value: str) -> str | None:
    """An ISO date or datetime from a PDF date string (``D:20240301120000+01'00'``)."""
    match = _PDF_DATE.match(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second = match.groups()
    if not (month and day) or not ("01" <= month <= "12" and "01" <= day <= "31"):
        return None
    date = f"{year}-{month}-{day}"
    return f"{date}T{hour}:{minute or '00'}:{second or '00'}" if hour else date


def _lines(raw: str) -> list[str]:
    return [line for line, _ in indexed_lines(raw)]


def _norm(line: str) -> str:
    return " ".join(_DIGITS.sub("#", line.lower()).split())


def _numbers(line: str) -> set[int]:
    """The integers in a short line (a page number in a header or footer), as found."""
    if len(line) > MAX_RUNNING_LINE:
        return set()
    return {int(n) for n in _DIGITS.findall(line)[:4] if len(n) <= 6}


def _running(pages: Sequence[list[str]], pick: int) -> tuple[set[str], int | None, Counter[str]]:
    """Which lines at position ``pick`` (0: first line of a page, -1: last) run through the document:
    the same line (digits aside) on at least half of the pages (3 at least), and the offset between a
    printed page number and the page's index when that holds on half of the pages; and how many pages
    have each line there (digits aside)."""
    filled = [(index, page[pick]) for index, page in enumerate(pages) if page]
    needed = max(3, (len(filled) + 1) // 2)
    same = Counter(_norm(line) for _, line in filled)
    offsets = Counter(offset for index, line in filled for offset in {n - index for n in _numbers(line)})
    offset, votes = offsets.most_common(1)[0] if offsets else (None, 0)
    repeated = {norm for norm, count in same.items() if count >= needed}
    return repeated, offset if votes >= needed else None, same


def _page_label(line: str) -> bool:
    """A line that is a page number and nothing else (``12``, ``- 12 -``, ``Page 3 of 40``)."""
    words = _WORD.findall(line.lower())
    return (
        0 < len(words) <= 4
        and any(w.isdigit() for w in words)
        and all(w.isdigit() or w in _PAGE_WORDS for w in words)
    )


def _key(line: str) -> str:
    return " ".join(line.split()).lower()


def strip_running_lines(
    pages: Sequence[list[str]], headings: Collection[tuple[int, str]] = ()
) -> list[list[str]]:
    """Pages without their running headers and footers: a first (last) line that repeats on most pages,
    digits aside, or that carries the page's printed number and is a page label or repeats on another
    page (``Chapter 4: Functions 9``); never a heading (``1. Lamp inspection`` on page 1, ``2. Filters``
    on page 2: numbered like the pages, but each once), nor a line that is the title of a bookmark
    to its page (``headings``: (page index, :func:`_key` of the title)). Two passes, for a header
    above a header; a page's only line stays."""
    out = [list(page) for page in pages]
    if sum(1 for page in out if page) < 3:
        return out
    for _ in range(2):
        for pick in (0, -1):
            repeated, offset, seen = _running(out, pick)
            for index, page in enumerate(out):
                if len(page) < 2:  # a page's last line is its text, whatever it looks like
                    continue
                line = page[pick]
                if (index, _key(line)) in headings:
                    continue
                numbered = offset is not None and offset + index in _numbers(line)
                numbered = numbered and (_page_label(line) or seen[_norm(line)] >= 2)
                if _norm(line) in repeated or numbered:
                    page.pop(pick)
    return out


def _bookmarked(pdf: Any) -> set[tuple[int, str]]:
    """(page index, :func:`_key` of the title) of each bookmark: a heading on that page."""
    found = set()
    for bookmark in itertools.islice(pdf.get_toc(max_depth=16), MAX_OUTLINE):
        dest = bookmark.get_dest()
        index = dest.get_index() if dest is not None else None
        if index is not None and bookmark.get_title():
            found.add((int(index), _key(bookmark.get_title())))
    return found


def _open(data: bytes, limits: ReadingSettings) -> Any:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        reason = str(exc)
        if "password" in reason.lower():
            raise UnreadableDocumentError("encrypted PDF (needs a password)") from exc
        raise UnreadableDocumentError(f"not a readable PDF ({reason})") from exc
    if len(pdf) > limits.max_pages:
        pages = len(pdf)
        pdf.close()
        raise UnreadableDocumentError(f"{pages} pages, more than reading.max_pages ({limits.max_pages})")
    return pdf


def _page_lines(pdf: Any, limits: ReadingSettings, drawn: list[PageChars]) -> list[list[str]]:
    """Each page's lines; where their characters are drawn is added to ``drawn``."""
    pages: list[list[str]] = []
    total = 0
    ocr = _Ocr(limits)
    for index in range(len(pdf)):
        page = pdf[index]
        try:
            textpage = page.get_textpage()
            raw = textpage.get_text_range()
            chars = ocr.read(page) if ocr.wanted(page, raw) else page_chars(page, textpage, raw)
            raw = chars.raw
            drawn.append(chars)
            textpage.close()
        finally:
            page.close()
        total += len(raw)
        if total > limits.max_chars:
            raise UnreadableDocumentError(f"more than reading.max_chars ({limits.max_chars}) characters")
        pages.append(_lines(raw))
    return pages


class _Ocr:
    """Reads the pages of one PDF that have no usable text layer by OCR (``reading.ocr``), up to
    ``reading.max_ocr_pages`` of them."""

    def __init__(self, limits: ReadingSettings) -> None:
        self.on = limits.ocr == "auto" and ocr_installed()
        self.limit = limits.max_ocr_pages
        self.pages = 0
        self._reader = PageReader() if self.on else None

    def wanted(self, page: Any, raw: str) -> bool:
        return self.on and needs_ocr(page, raw)

    def read(self, page: Any) -> PageChars:
        self.pages += 1
        if self.pages > self.limit or self._reader is None:
            raise UnreadableDocumentError(
                f"more than reading.max_ocr_pages ({self.limit}) pages to read by OCR"
            )
        return self._reader.read(page)


def _no_text(limits: ReadingSettings) -> str:
    if limits.ocr == "off":
        return "no text layer (a scanned PDF?); reading.ocr is off"
    if not ocr_installed():
        return "no text layer (a scanned PDF?); OCR needs the ocr extra (pip install '.[ocr]')"
    return "no text layer (a scanned PDF?), and OCR found no text in its images"


def _outline(pdf: Any, text: str, starts: Sequence[int]) -> tuple[Section, ...]:
    """Sections from the bookmarks: each starts where its title is found on its page (else at the
    page's start)."""
    found: dict[int, Section] = {}
    paths = HeadingPath()
    for bookmark in itertools.islice(pdf.get_toc(max_depth=16), MAX_OUTLINE):
        title = " ".join((bookmark.get_title() or "").split())
        dest = bookmark.get_dest()
        index = dest.get_index() if dest is not None else None
        if not title or index is None or not 0 <= index < len(starts):
            continue
        path = paths.enter(int(bookmark.level) + 1, title)
        page_end = starts[index + 1] if index + 1 < len(starts) else len(text)
        at = text.find(title, starts[index], page_end)
        start, body = (at, at + len(title)) if at >= 0 else (starts[index], starts[index])
        found[start] = Section(start, body, path)
    return tuple(found[start] for start in sorted(found))


def _title(info: dict[str, str], pages: Sequence[list[str]]) -> str | None:
    title = " ".join(info.get("Title", "").split()).removeprefix("Microsoft Word - ")
    if title and title.lower() not in ("untitled", "title"):
        return title
    for page in pages:
        for line in page:
            line = " ".join(line.split())
            if 3 <= len(line) <= 150 and any(c.isalpha() for c in line):
                return line
    return None


def _metadata(info: dict[str, str]) -> dict[str, MetaValue]:
    found: dict[str, object] = {}
    for key, name in _INFO_KEYS.items():
        value = " ".join(str(info.get(key) or "").split())
        if not value:
            continue
        if key.endswith("Date"):
            found[name] = _pdf_date(value)
        elif key == "Keywords":
            found[name] = [k.strip() for k in re.split(r"[,;]", value) if k.strip()]
        else:
            found[name] = value
    return flatten(found)


class PdfReader:
    format = "pdf"
    version = 2
    suffixes: tuple[str, ...] = (".pdf",)

    def read(self, data: bytes, path: Path, limits: ReadingSettings) -> Extracted:
        import pypdfium2 as pdfium

        pdf = _open(data, limits)
        try:
            info = {str(k): str(v) for k, v in pdf.get_metadata_dict(skip_empty=True).items()}
            drawn: list[PageChars] = []
            raw_pages = _page_lines(pdf, limits, drawn)
            pages = strip_running_lines(raw_pages, _bookmarked(pdf))
            if not any(pages):
                raise UnreadableDocumentError(_no_text(limits))
            texts = ["\n".join(lines) for lines in pages]
            starts, offset = [], 0
            for page_text in texts:
                starts.append(offset)
                offset += len(page_text) + len(PAGE_BREAK)
            text = PAGE_BREAK.join(texts)
            sections = _outline(pdf, text, starts)
            labels = page_labels(pdf)
        except pdfium.PdfiumError as exc:
            raise UnreadableDocumentError(f"not a readable PDF ({exc})") from exc
        finally:
            pdf.close()
        metadata = _metadata(info)
        created = metadata.get("created")
        return Extracted(
            text=text,
            format=self.format,
            title=_title(info, raw_pages),
            date=created[:10] if isinstance(created, str) else None,
            metadata=metadata,
            pages=tuple(starts),
            sections=sections,
            char_boxes=text_boxes(drawn, pages, PAGE_BREAK, text),
            page_labels=labels,
        )
