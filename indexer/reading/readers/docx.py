"""Word (DOCX) with python-docx: paragraphs and headings in body order, tables as rows of cells
joined by `` | ``. Headings (the Title and Heading 1-9 styles) give the sections; title, date and
metadata come from the core properties (title, else the first heading; the date is the last
modification, else the creation, neither when they are python-docx's template's). Page headers and footers
are not read. The zip is checked first, so a zip bomb is refused before anything is unpacked."""

from __future__ import annotations

import datetime as dt
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
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MAX_SPAN = 1000
"""Grid columns one table cell may span (Word allows 63 columns)."""
MAX_RATIO = 100
BOMB_MIN_BYTES = 10 * 2**20
"""A part of at least this size that unpacks to more than ``MAX_RATIO`` times its packed size is a
zip bomb (Word's XML packs 5-20 times)."""
TEMPLATE_DATE = dt.datetime(2013, 12, 23, 23, 15, tzinfo=dt.UTC)
"""The creation and modification date in python-docx's default template: no document's date."""


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
    for info in infos:
        if info.file_size >= BOMB_MIN_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise UnreadableDocumentError(
                f"{info.filename} unpacks to {info.file_size / 2**20:.0f} MB, "
                f"{info.file_size // max(info.compress_size, 1)} times its packed size: a zip bomb"
            )
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


def _cell_text(tc: Any) -> str:
    """A cell's text, its paragraphs (not its nested tables) with blanks collapsed."""
    words: list[str] = []
    for paragraph in tc.iterchildren(_W + "p"):
        for node in paragraph.iter(_W + "t", _W + "tab", _W + "br", _W + "cr", _W + "noBreakHyphen"):
            tag = node.tag
            words.append(node.text or "" if tag == _W + "t" else "-" if tag == _W + "noBreakHyphen" else " ")
        words.append(" ")
    return " ".join("".join(words).split())


def _span(tc: Any) -> int:
    """The grid columns a cell spans (``w:gridSpan``), at most :data:`MAX_SPAN`."""
    span = tc.find(f"{_W}tcPr/{_W}gridSpan")
    try:
        value = int(span.get(_W + "val")) if span is not None else 1
    except (TypeError, ValueError):
        return 1
    return min(max(value, 1), MAX_SPAN)


def _table_rows(tbl: Any) -> list[str]:
    """Each row's cells joined by `` | ``, read from the XML in one pass. A cell merged over the
    columns it spans is listed once; a cell that continues a vertical merge (``w:vMerge``) shows the
    text of the cell it continues, as python-docx's rows do (which build the whole grid instead: a
    span of 2**31 columns or a long merge chain costs them gigabytes or minutes)."""
    above: dict[int, str] = {}  # grid column -> text of the cell that a vertical merge continues
    rows: list[str] = []
    for tr in tbl.iterchildren(_W + "tr"):
        cells: list[str] = []
        column = 0
        for tc in tr.iterchildren(_W + "tc"):
            merge = tc.find(f"{_W}tcPr/{_W}vMerge")
            if merge is not None and merge.get(_W + "val") != "restart":
                text = above.get(column, "")
            else:
                text = _cell_text(tc)
            span = _span(tc)
            for covered in range(column, column + span):
                above[covered] = text
            column += span
            cells.append(text)
        if any(cells):
            rows.append(" | ".join(cells))
    return rows


def _blocks(document: Any) -> Iterator[tuple[str, int | None]]:
    """(text, heading level or None) of each paragraph and table row, in body order."""
    from docx.table import Table

    levels = _levels(document)
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            rows = _table_rows(item._tbl)
            if rows:
                yield "\n".join(rows), None
            continue
        text = item.text.strip()
        if text:
            yield text, _level(item, levels)


def _dates(props: Any) -> tuple[Any, Any]:
    """(created, modified), None for those that are python-docx's template's (1.x keeps them)."""
    created, modified = props.created, props.modified
    if isinstance(created, dt.datetime) and _utc(created) == TEMPLATE_DATE:
        created = None
    if isinstance(modified, dt.datetime) and _utc(modified) == TEMPLATE_DATE:
        modified = None
    return created, modified


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _metadata(props: Any) -> dict[str, MetaValue]:
    keywords = props.keywords or ""
    created, modified = _dates(props)
    return flatten(
        {
            "author": props.author,
            "subject": props.subject,
            "keywords": [k.strip() for k in re.split(r"[,;]", keywords) if k.strip()],
            "category": props.category,
            "comments": props.comments,
            "language": props.language,
            "created": created,
            "modified": modified,
        }
    )


class DocxReader:
    format = "docx"
    version = 2
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
            date=iso_date(_dates(props)[1] or _dates(props)[0]),
            metadata=_metadata(props),
            sections=tuple(sections),
        )
