"""Markdown: kept character for character like plain text; headings (ATX ``#`` and setext underlines,
not inside code fences) give each passage its section, YAML front matter gives metadata."""

from __future__ import annotations

import re
from pathlib import Path

from indexer.config import ReadingSettings
from indexer.reading.readers.base import Extracted, Section
from indexer.reading.readers.frontmatter import front_matter
from indexer.reading.readers.headings import HeadingPath
from indexer.reading.readers.text import check_length, decode_utf8, extract_title_and_date

_LINE = re.compile(r"[^\n]*(?:\n|\Z)")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_ATX_OPENER = re.compile(r" {0,3}(#{1,6})(?:[ \t]+|(?=\r?\n?\Z))")
_SETEXT = re.compile(r" {0,3}(=+|-+)[ \t]*\r?\n?\Z")
_LINK = re.compile(r"!?\[([^\[\]]*)\]\([^()]*\)")  # no nested brackets: linear on "[[[[..."
_EMPHASIS = re.compile(r"(\*\*|__|`+)")


def _clean(title: str) -> str:
    """A heading's text: links and images by their text (innermost first: ``[![badge](svg)](url)``),
    emphasis marks and code ticks dropped, blanks collapsed."""
    for _ in range(3):
        title, found = _LINK.subn(r"\1", title)
        if not found:
            break
    return " ".join(_EMPHASIS.sub("", title).split())


def atx_heading(line: str) -> tuple[int, str] | None:
    """(level, raw title) of an ATX heading line (``## Title ##``), None for another line. The closing
    ``#`` run is taken off in Python, not by a lazy group before optional blanks (that backtracks
    quadratically on a line of spaces)."""
    opener = _ATX_OPENER.match(line)
    if opener is None:
        return None
    content = line[opener.end() :].rstrip("\r\n").rstrip(" \t")
    closed = content.rstrip("#")
    if closed != content and (not closed or closed[-1] in " \t"):
        content = closed.rstrip(" \t")
    return len(opener.group(1)), content


def markdown_sections(text: str, start: int = 0) -> list[tuple[int, int, int, str]]:
    """Headings of ``text`` from ``start`` on: (line start, heading end, level, title), in order."""
    found: list[tuple[int, int, int, str]] = []
    fence: str | None = None
    previous: tuple[int, int] | None = None  # the last paragraph line: (start, end without newline)
    for match in _LINE.finditer(text, start):
        line, begin = match.group(), match.start()
        if not line:
            break
        end = begin + len(line.rstrip("\r\n"))
        opener = _FENCE.match(line)
        if fence is not None:
            if opener and opener.group(1)[0] == fence[0] and len(opener.group(1)) >= len(fence):
                fence = None
            continue
        if opener:
            fence, previous = opener.group(1), None
            continue
        atx = atx_heading(line)
        if atx:
            title = _clean(atx[1])
            if title:
                found.append((begin, end, atx[0], title))
            previous = None
            continue
        setext = _SETEXT.match(line)
        if setext and previous is not None:
            title = _clean(text[previous[0] : previous[1]])
            if title:
                found.append((previous[0], end, 1 if setext.group(1)[0] == "=" else 2, title))
            previous = None
            continue
        previous = (begin, end) if line.strip() else None
    return found


class MarkdownReader:
    format = "markdown"
    version = 2
    suffixes: tuple[str, ...] = (".md", ".markdown")

    def read(self, data: bytes, path: Path, limits: ReadingSettings) -> Extracted:
        text = check_length(decode_utf8(data), limits)
        meta = front_matter(text, limits)
        headings = markdown_sections(text, meta.end)
        paths = HeadingPath()
        sections = tuple(
            Section(begin, end, paths.enter(level, title)) for begin, end, level, title in headings
        )
        title, date = extract_title_and_date(text[meta.end :])
        first_h1 = next((t for _, _, level, t in headings if level == 1), None)
        if date is None:
            title = first_h1
        return Extracted(
            text=text,
            format=self.format,
            title=meta.title or title,
            date=meta.date or date,
            metadata=meta.metadata,
            sections=sections,
            body_start=meta.end,
        )
