"""Plain text: UTF-8, kept character for character (no newline translation) so offsets are exact.

A ``date YYYY-MM-DD headline`` first line gives the date and title, else a Markdown-style
``# heading``; YAML front matter at the start is parsed into metadata and not indexed."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from indexer.config import ReadingSettings
from indexer.errors import UnreadableDocumentError
from indexer.reading.readers.base import Extracted
from indexer.reading.readers.frontmatter import front_matter

# "date 2025-04-04 Some headline" on the first non-blank line (leading whitespace allowed). Both
# patterns take the rest of the line greedily and trim it in Python: a lazy group before optional
# trailing blanks backtracks quadratically on a line of spaces ("# a" + 40,000 spaces + "b").
_DATE_HEADER = re.compile(r"\A\s*date[ \t]+(\d{4}-\d{2}-\d{2})[ \t]+(\S[^\n]*)")
_MD_HEADING = re.compile(r"^#[ \t]+(\S[^\n]*)", re.MULTILINE)


def decode_utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableDocumentError(f"not valid UTF-8 ({exc.reason} at byte {exc.start})") from exc


def extract_title_and_date(text: str) -> tuple[str | None, str | None]:
    """Title and date from a ``date YYYY-MM-DD headline`` first line, or a ``# heading``'s title."""
    match = _DATE_HEADER.match(text)
    if match:
        try:
            date = dt.date.fromisoformat(match.group(1)).isoformat()
        except ValueError:
            date = None
        if date is not None:
            return match.group(2).rstrip(" \t\r"), date
    heading = _MD_HEADING.search(text)
    if heading is None:
        return None, None
    title = heading.group(1)
    return title[0] + title[1:].rstrip(" \t#\r"), None


def check_length(text: str, limits: ReadingSettings) -> str:
    """``text``, if it is within ``reading.max_chars`` (checked before any other work on it)."""
    if len(text) > limits.max_chars:
        raise UnreadableDocumentError(f"more than reading.max_chars ({limits.max_chars}) characters")
    return text


class TextReader:
    format = "text"
    version = 1
    suffixes: tuple[str, ...] = (".txt", ".text")

    def read(self, data: bytes, path: Path, limits: ReadingSettings) -> Extracted:
        text = check_length(decode_utf8(data), limits)
        meta = front_matter(text, limits)
        title, date = extract_title_and_date(text[meta.end :])
        return Extracted(
            text=text,
            format=self.format,
            title=meta.title or title,
            date=meta.date or date,
            metadata=meta.metadata,
            body_start=meta.end,
        )
