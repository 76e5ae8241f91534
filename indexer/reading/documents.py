"""Find the documents under the seeds folder, read them, and derive their id, title and date."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from indexer.errors import UnreadableDocumentError
from indexer.reading.readers import reader_for

# "date 2025-04-04 Some headline" on the first non-blank line (leading whitespace allowed).
_DATE_HEADER = re.compile(r"\A\s*date[ \t]+(\d{4}-\d{2}-\d{2})[ \t]+(\S[^\n]*?)[ \t]*\r?(?:\n|\Z)")
_MD_HEADING = re.compile(r"^#[ \t]+(\S[^\n]*?)[ \t#]*\r?$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class SourceFile:
    doc_id: str
    """Path relative to the seeds folder, with forward slashes: stable across machines."""
    path: Path
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True, slots=True)
class Document:
    doc_id: str
    source: str
    title: str
    date: str | None
    sha256: str
    text: str


def discover(root: Path) -> Iterator[Path]:
    """Supported files under ``root``, recursively, in a stable order; hidden entries are skipped."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if not name.startswith(".") and reader_for(path) is not None and path.is_file():
                yield path


def doc_id_for(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def load_source(root: Path, path: Path) -> SourceFile:
    return SourceFile(doc_id=doc_id_for(root, path), path=path, data=path.read_bytes())


def parse_document(source: SourceFile, source_label: str) -> Document:
    """Decode ``source`` and pull its title and date from a ``date YYYY-MM-DD headline`` line,
    a Markdown ``# heading``, or the file name, in that order."""
    reader = reader_for(source.path)
    if reader is None:
        raise UnreadableDocumentError(f"unsupported file type: {source.path.suffix}")
    text = reader.read(source.data, source.path)
    title, date = extract_title_and_date(text)
    return Document(
        doc_id=source.doc_id,
        source=source_label,
        title=title or source.path.stem,
        date=date,
        sha256=source.sha256,
        text=text,
    )


def extract_title_and_date(text: str) -> tuple[str | None, str | None]:
    match = _DATE_HEADER.match(text)
    if match:
        try:
            date = dt.date.fromisoformat(match.group(1)).isoformat()
        except ValueError:
            date = None
        if date is not None:
            return match.group(2), date
    heading = _MD_HEADING.search(text)
    return (heading.group(1) if heading else None), None
