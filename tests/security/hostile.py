"""Hostile files, made in the tests (small on disk, costly to read when a reader is careless): each
returns the file's bytes."""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Callable

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
SPACES = 40_000


def _docx(build: Callable[[object], None]) -> bytes:
    """A python-docx document, changed by ``build(document)`` before it is saved."""
    import docx

    document = docx.Document()
    document.add_paragraph("Safety procedures for the lamp room.")
    build(document)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _set(tc: object, name: str, value: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    properties = tc.get_or_add_tcPr()  # type: ignore[attr-defined]
    element = OxmlElement(f"w:{name}")
    element.set(qn("w:val"), value)
    properties.append(element)


def grid_span_docx() -> bytes:
    """3 table rows whose cell spans 2**31 - 1 grid columns (python-docx builds a tuple of them)."""

    def build(document: object) -> None:
        table = document.add_table(rows=3, cols=1)  # type: ignore[attr-defined]
        for index, row in enumerate(table.rows):
            row.cells[0].text = f"span row {index}"
            _set(row.cells[0]._tc, "gridSpan", "2147483647")

    return _docx(build)


def vmerge_docx(rows: int, columns: int = 10) -> bytes:
    """``rows`` x ``columns`` cells, each column one vertical merge from top to bottom."""

    def build(document: object) -> None:
        table = document.add_table(rows=rows, cols=columns)  # type: ignore[attr-defined]
        for c, cell in enumerate(table.rows[0].cells):
            cell.text = f"merged column {c}"
        for r, tr in enumerate(table._tbl.iterchildren(W + "tr")):
            for tc in tr.iterchildren(W + "tc"):
                _set(tc, "vMerge", "restart" if r == 0 else "continue")

    return _docx(build)


def zip_bomb_docx(megabytes: int = 24) -> bytes:
    """A DOCX whose document.xml unpacks to ``megabytes`` MB (a paragraph of spaces): ~1,000 to 1."""
    normal = zipfile.ZipFile(io.BytesIO(_docx(lambda document: None)))
    body = b" " * (megabytes * 2**20)
    document = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
        b"<w:p><w:r><w:t>" + body + b"</w:t></w:r></w:p></w:body></w:document>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in normal.infolist():
            data = document if info.filename == "word/document.xml" else normal.read(info)
            bomb.writestr(info.filename, data)
    return out.getvalue()


def inflating_pdf(megabytes: int = 600, double: bool = True) -> bytes:
    """A one-page PDF whose content stream inflates to ``megabytes`` MB of text-drawing operators
    (``double``: deflated twice, /Filter [/FlateDecode /FlateDecode]: a few KB on disk)."""
    inner = zlib.compressobj(9)
    block = b"BT /F1 12 Tf 72 720 Td (lamp) Tj ET\n" * 29_000  # ~1 MB
    packed = b"".join(inner.compress(block) for _ in range(megabytes)) + inner.flush()
    filters = b"[/FlateDecode /FlateDecode]" if double else b"/FlateDecode"
    stream = zlib.compress(packed, 9) if double else packed
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter %s >>\nstream\n" % (len(stream), filters) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def heading_bomb() -> bytes:
    """A Markdown-style heading line of spaces (the title patterns backtracked quadratically)."""
    return b"# a" + b" " * SPACES + b"b\n\nBody of the note about the lamp room.\n"


def date_header_bomb() -> bytes:
    return b"date 2025-01-02 a" + b" " * SPACES + b"b\n\nBody of the note about the lamp room.\n"


def atx_bomb() -> bytes:
    return b"Intro line.\n\n## a" + b" " * SPACES + b"b\n\nBody of the note about the lamp room.\n"


def deep_html(tag: str, depth: int = 20_000) -> bytes:
    """``tag`` nested ``depth`` deep around one paragraph."""
    inner = b"<p>The lamp room is inspected every morning, before the first shift.</p>"
    open_tag, close_tag = f"<{tag}>".encode(), f"</{tag}>".encode()
    return b"<html><body>" + open_tag * depth + inner + close_tag * depth + b"</body></html>"


def big_front_matter(kilobytes: int = 1024) -> bytes:
    lines = b"".join(b"key%d: value %d\n" % (i, i) for i in range(kilobytes * 1024 // 16))
    return b"---\n" + lines + b"---\n# Note\n\nBody of the note.\n"


def idna_charset_html() -> bytes:
    return (
        b'<html><head><meta charset="idna"><title>Lamp room</title></head>'
        b"<body><article><p>The lamp room is inspected every morning, caf\xc3\xa9 included.</p>"
        b"</article></body></html>"
    )


def huge_title_markdown(chars: int = 2_000_000) -> bytes:
    """A first heading of ``chars`` characters: the title every hit would carry."""
    return b"# " + b"Lamp " * (chars // 5) + b"\n\nBody of the note about the lamp room.\n"
