from __future__ import annotations

from pathlib import Path

import pytest

from indexer.errors import UnreadableDocumentError
from indexer.reading.documents import discover, load_source, parse_document
from indexer.reading.readers.text import extract_title_and_date


def test_date_header_gives_date_and_title() -> None:
    text = " date 2025-04-04 NATO chief speaks.\n\nBody."
    assert extract_title_and_date(text) == ("NATO chief speaks.", "2025-04-04")


def test_invalid_date_falls_back_to_markdown_heading() -> None:
    assert extract_title_and_date("date 2025-13-40 Nope\n# Real title\n") == ("Real title", None)


def test_no_header_means_no_title() -> None:
    assert extract_title_and_date("plain text") == (None, None)


def test_discovery_is_recursive_sorted_and_skips_hidden_entries(tmp_path: Path) -> None:
    for name in [
        "b.txt",
        "a.md",
        "sub/c.TXT",
        "skip.pdf",
        ".hidden.txt",
        ".git/x.txt",
        "sub/deeper/d.markdown",
    ]:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    found = [p.relative_to(tmp_path).as_posix() for p in discover(tmp_path)]
    assert found == ["a.md", "b.txt", "skip.pdf", "sub/c.TXT", "sub/deeper/d.markdown"]


def test_text_is_kept_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "crlf.txt"
    path.write_bytes("\ufeffline one\r\nline two\r\n".encode())
    doc = parse_document(load_source(tmp_path, path), "crlf.txt")
    assert doc.text == "line one\r\nline two\r\n"
    assert doc.title == "crlf"
    assert doc.doc_id == "crlf.txt"


def test_invalid_utf8_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"caf\xe9")
    with pytest.raises(UnreadableDocumentError, match="UTF-8"):
        parse_document(load_source(tmp_path, path), "bad.txt")
