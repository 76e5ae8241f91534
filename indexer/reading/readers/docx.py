"""Word (DOCX) with python-docx: paragraphs and headings in body order, tables as rows of cells
joined by `` | ``. Headings (the Title and Heading 1-9 styles) give the sections; title, date and
metadata come from the core properties (title, else the first heading). Page headers and footers
are not read. The zip is checked first, so a zip bomb is refused before anything is unpacked."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from indexer.config import ReadingSettings
from indexer.errors import UnreadableDocumentError
from indexer.reading.readers.base import Extracted, MetaValue, Section
from indexer.reading.readers.headings import HeadingPath
from indexer.reading.readers.metadata import flatten, iso_date

BLOCK_BREAK = "\n\n"
_HEADING = re.compile(r"heading\s*(\d)", re.IGNORECASE)
_OLE = b"\xd0\xcf\x11\xe0"


def check_zip(data: bytes, limits: ReadingSettings) -> None:
    """Refuse what is not a DOCX zip, or whose parts would unpack to more than the limit."""
    if data.startswith(_OLE):
        raise UnreadableDocumentError("an encrypted DOCX or an old binary .doc, not a DOCX zip")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise UnreadableDocumentError(f"not a DOCX (zip) file ({exc})") from exc
    if not any(info.filename == "word/document.xml" for info in infos):
        raise UnreadableDocumentError("a zip without word/document.xml: not a DOCX file")
    unpacked = sum(info.file_size for info in infos)
    if unpacked > limits.max_unpacked_bytes:
        raise UnreadableDocumentError(
            f"unpacks to {unpacked / 2**20:.0f} MB, more than reading.max_unpacked_mb "
            f"({limits.max_unpacked_mb:g}); a zip bomb?"
        )


def _levels(document: Any) -> dict[str, int]:
    """Heading level by paragraph style id: 0 for the Title style, n for Heading n. (Read once:
    python-docx resolves a paragraph's style by scanning every style, most of a read's time.)"""
    levels: dict[str, int] = {}
    for style in document.styles:
        name = str(style.name or "").strip()
        match = _HEADING.fullmatch(name)
        if name.lower() == "title" or match:
            levels[str(style.style_id)] = 0 if match is None else int(match.group(1))
    return levels


def _level(paragraph: Any, levels: dict[str, int]) -> int | None:
    """The paragraph's heading level (its ``w:pStyle``), None for body text."""
    style_id = paragraph._p.style
    return levels.get(str(style_id)) if style_id is not None else None


def _row_text(row: Any) -> str:
    cells: list[str] = []
    seen: set[int] = set()
    for cell in row.cells:
        if id(cell._tc) in seen:  # a merged cell is listed once per column it spans
            continue
        seen.add(id(cell._tc))
        cells.append(" ".join(cell.text.split()))
    return " | ".join(cells) if any(cells) else ""


def _blocks(document: Any) -> Iterator[tuple[str, int | None]]:
    """(text, heading level or None) of each paragraph and table row, in body order."""
    from docx.table import Table

    levels = _levels(document)
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            rows = [text for text in (_row_text(row) for row in item.rows) if text]
            if rows:
                yield "\n".join(rows), None
            continue
        text = item.text.strip()
        if text:
            yield text, _level(item, levels)


def _metadata(props: Any) -> dict[str, MetaValue]:
    keywords = props.keywords or ""
    return flatten(
        {
            "author": props.author,
            "subject": props.subject,
            "keywords": [k.strip() for k in re.split(r"[,;]", keywords) if k.strip()],
            "category": props.category,
            "comments": props.comments,
            "language": props.language,
            "created": props.created,
            "modified": props.modified,
        }
    )


class DocxReader:
    format = "docx"
    version = 1
    suffixes: tuple[str, ...] = (".docx",)

    def read(self, data: bytes, path: Path, limits: ReadingSettings) -> Extracted:
        check_zip(data, limits)
        try:
            import docx

            document = docx.Document(io.BytesIO(data))
            return self._extract(document, limits)
        except UnreadableDocumentError:
            raise
        except Exception as exc:  # python-docx and lxml raise many kinds on a damaged file
            raise UnreadableDocumentError(f"not a readable DOCX ({type(exc).__name__}: {exc})") from exc

    def _extract(self, document: Any, limits: ReadingSettings) -> Extracted:
        parts: list[str] = []
        sections: list[Section] = []
        paths = HeadingPath()
        offset = 0
        first_heading = None
        for text, level in _blocks(document):
            if parts:
                offset += len(BLOCK_BREAK)
            if level is not None:
                sections.append(Section(offset, offset + len(text), paths.enter(level, text)))
                first_heading = first_heading or text
            parts.append(text)
            offset += len(text)
            if offset > limits.max_chars:
                raise UnreadableDocumentError(f"more than reading.max_chars ({limits.max_chars}) characters")
        props = document.core_properties
        title = " ".join((props.title or "").split()) or first_heading
        return Extracted(
            text=BLOCK_BREAK.join(parts),
            format=self.format,
            title=title,
            date=iso_date(props.created),
            metadata=_metadata(props),
            sections=tuple(sections),
        )
