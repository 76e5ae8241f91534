"""The readers, one per format, on documents made in the test: extracted text, title, date, metadata,
pages, sections, boilerplate, and bad files refused with a reason."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from indexer.config import ReadingSettings
from indexer.errors import UnreadableDocumentError
from indexer.reading.documents import load_source, parse_document
from indexer.reading.readers import Extracted, reader_for, sniff
from indexer.reading.readers.docx import DocxReader
from indexer.reading.readers.html import HtmlReader
from indexer.reading.readers.markdown import MarkdownReader
from indexer.reading.readers.pdf import PdfReader, strip_running_lines
from indexer.reading.readers.text import TextReader
from tests.documents import (
    COMMENT,
    COOKIE,
    FOOTER,
    NAV,
    RELATED,
    make_docx,
    make_pdf,
    make_scanned_pdf,
    news_page,
)

LIMITS = ReadingSettings()


def read(reader: object, data: bytes, name: str, limits: ReadingSettings = LIMITS) -> Extracted:
    return reader.read(data, Path(name), limits)  # type: ignore[attr-defined, no-any-return]


def section_at(extracted: Extracted, needle: str) -> str | None:
    """The path of the last section starting before ``needle`` in the text."""
    at = extracted.text.index(needle)
    found = [s.path for s in extracted.sections if s.start <= at]
    return found[-1] if found else None


# -- text and Markdown ----------------------------------------------------------------------------


def test_front_matter_is_metadata_kept_in_the_text_but_not_indexed() -> None:
    source = (
        "---\ntitle: Apollo program\ndate: 2024-05-01\ntags: [apollo, moon]\nyear: 1969\n"
        "author:\n  name: NASA\n---\n# Heading\n\nBody text.\n"
    )
    extracted = read(MarkdownReader(), source.encode(), "a.md")
    assert extracted.text == source  # the file as it is: lines and offsets match the file on disk
    assert extracted.text[extracted.body_start :] == "# Heading\n\nBody text.\n"
    assert extracted.title == "Apollo program" and extracted.date == "2024-05-01"
    assert extracted.metadata == {
        "title": "Apollo program",
        "date": "2024-05-01",
        "tags": ["apollo", "moon"],
        "year": 1969,
        "author.name": "NASA",
    }
    assert extracted.format == "markdown"


@pytest.mark.parametrize(
    "source",
    [
        "---\nnot: [closed\n---\nbody\n",  # not YAML
        "---\n- a list\n---\nbody\n",  # not a mapping
        "--- not a fence\nbody\n",
        "---\ntitle: never closed\nbody\n",
    ],
)
def test_a_block_that_is_not_front_matter_is_text(source: str) -> None:
    extracted = read(TextReader(), source.encode(), "a.txt")
    assert extracted.body_start == 0 and extracted.metadata == {} and extracted.text == source


def test_plain_text_keeps_its_title_and_date_rules() -> None:
    extracted = read(TextReader(), b" date 2025-04-04 NATO chief speaks\n\nBody.", "a.txt")
    assert (extracted.title, extracted.date, extracted.sections, extracted.format) == (
        "NATO chief speaks",
        "2025-04-04",
        (),
        "text",
    )


def test_markdown_headings_give_sections_outside_code_fences() -> None:
    source = (
        "# Apollo program\n\nIntro.\n\n## Part 1\n\nText one.\n\n```\n# not a heading\n```\n\n"
        "Setext title\n------------\n\nText two.\n\n### Deeper `code` [link](http://x)\n\nText three.\n\n"
        "# Other\n\nText four.\n"
    )
    extracted = read(MarkdownReader(), source.encode(), "a.md")
    assert [s.path for s in extracted.sections] == [
        "Apollo program",
        "Apollo program > Part 1",
        "Apollo program > Setext title",
        "Apollo program > Setext title > Deeper code link",
        "Other",
    ]
    for section in extracted.sections:  # each heading's own line(s), from the start of its line
        heading = source[section.start : section.body]
        assert section.start == 0 or source[section.start - 1] == "\n"
        assert heading.split("\n")[0].lstrip("# ").split(" ")[0] in section.path.rsplit(" > ", 1)[-1]
    assert section_at(extracted, "not a heading") == "Apollo program > Part 1"
    assert section_at(extracted, "Text three") == "Apollo program > Setext title > Deeper code link"
    assert extracted.title == "Apollo program"


# -- PDF --------------------------------------------------------------------------------------------


def test_pdf_pages_title_metadata_and_outline() -> None:
    data = make_pdf(
        [
            ["Mission report", "Apollo 13 suffered an oxygen tank explosion."],
            ["Chapter 2: The return", "The crew used the lunar module as a lifeboat."],
            ["The command module splashed down in the Pacific Ocean."],
        ],
        title="Apollo 13 mission report",
        author="Flight Director",
        keywords="apollo, accident",
        outline=[(0, "Mission report", 0), (0, "Chapter 2: The return", 1)],
    )
    extracted = read(PdfReader(), data, "r.pdf")
    text, pages = extracted.text, extracted.pages
    assert len(pages) == 3 and pages[0] == 0
    assert text[pages[1] :].startswith("Chapter 2: The return\nThe crew used")
    assert text[pages[2] :] == "The command module splashed down in the Pacific Ocean."
    assert extracted.title == "Apollo 13 mission report" and extracted.format == "pdf"
    assert extracted.metadata["author"] == "Flight Director"
    assert extracted.metadata["keywords"] == ["apollo", "accident"]
    assert extracted.date is not None and len(extracted.date) == 10
    assert [(s.path, text[s.start : s.body]) for s in extracted.sections] == [
        ("Mission report", "Mission report"),
        ("Chapter 2: The return", "Chapter 2: The return"),
    ]


def test_running_headers_and_page_numbers_are_left_out() -> None:
    pages = [[f"Finding {n}: the crater rim is {n * 10} metres high."] for n in range(1, 6)]
    data = make_pdf(pages, header="ACME Lunar Survey - confidential", page_numbers=True)
    text = read(PdfReader(), data, "s.pdf").text
    assert "confidential" not in text and "Page " not in text
    for n in range(1, 6):
        assert f"Finding {n}: the crater rim is {n * 10} metres high." in text


def test_chapter_running_headers_with_page_numbers_are_left_out() -> None:
    lines = [
        [f"Chapter {1 + i // 4}: Results {i + 3}", f"Body line {i} about regolith samples."]
        for i in range(12)
    ]
    stripped = strip_running_lines(lines)
    assert stripped == [[f"Body line {i} about regolith samples."] for i in range(12)]


def test_a_pdf_without_text_layer_is_refused_with_the_reason() -> None:
    with pytest.raises(UnreadableDocumentError, match="no text layer"):
        read(PdfReader(), make_scanned_pdf(), "scan.pdf")


@pytest.mark.parametrize("data", [b"%PDF-1.4\n1 0 obj <<", b"not a pdf at all", b""])
def test_a_damaged_pdf_is_refused(data: bytes) -> None:
    with pytest.raises(UnreadableDocumentError, match="PDF"):
        read(PdfReader(), data, "bad.pdf")


def test_a_truncated_pdf_is_refused_with_the_reason_or_read_without_invented_text() -> None:
    """Cut anywhere, a PDF is refused as unreadable (the build lists it with that reason) or read, and
    then what was read is the document's own lines in order, nothing else."""
    lines = ["Some text on page one.", "More text on page two."]
    data = make_pdf([[line] for line in lines])
    outcomes = []
    for cut in [*range(0, len(data), max(1, len(data) // 25)), len(data) - 20]:
        try:
            extracted = read(PdfReader(), data[:cut], "cut.pdf")
        except UnreadableDocumentError as refused:
            assert "not a readable PDF" in str(refused), (cut, str(refused))
            outcomes.append("refused")
            continue
        kept = [line for line in extracted.text.split("\n") if line.strip()]
        assert kept and kept == lines[: len(kept)], (cut, extracted.text)
        outcomes.append("read")
    # Most cuts lose the cross-reference table; one that drops only the end of the trailer is read.
    assert outcomes.count("refused") >= 20 and outcomes[-1] == "read", outcomes


def test_pdf_page_limit() -> None:
    data = make_pdf([["page"]] * 4)
    with pytest.raises(UnreadableDocumentError, match="max_pages"):
        read(PdfReader(), data, "long.pdf", ReadingSettings(max_pages=3))


# -- DOCX -------------------------------------------------------------------------------------------


def test_docx_headings_paragraphs_and_tables() -> None:
    data = make_docx(
        [
            ("title", "Saturn V rocket"),
            ("h1", "Stages"),
            ("p", "The Saturn V had three stages."),
            ("h2", "First stage"),
            ("p", "Five F-1 engines."),
            ("h1", "Flights"),
            ("table", [["Year", "Flights"], ["1967", "2"], ["1973", "1"]]),
        ],
        author="Marshall",
        keywords="rocket; saturn",
    )
    extracted = read(DocxReader(), data, "s.docx")
    assert extracted.text == (
        "Saturn V rocket\n\nStages\n\nThe Saturn V had three stages.\n\nFirst stage\n\nFive F-1 engines.\n\n"
        "Flights\n\nYear | Flights\n1967 | 2\n1973 | 1"
    )
    assert [s.path for s in extracted.sections] == [
        "Saturn V rocket",
        "Saturn V rocket > Stages",
        "Saturn V rocket > Stages > First stage",
        "Saturn V rocket > Flights",
    ]
    assert section_at(extracted, "1973 | 1") == "Saturn V rocket > Flights"
    assert extracted.title == "Saturn V rocket"  # no title property: the first heading
    assert extracted.metadata["author"] == "Marshall" and extracted.metadata["keywords"] == [
        "rocket",
        "saturn",
    ]


def test_docx_title_property_wins() -> None:
    data = make_docx([("h1", "Intro"), ("p", "text")], title="The real title")
    assert read(DocxReader(), data, "t.docx").title == "The real title"


def test_a_zip_bomb_disguised_as_docx_is_refused_before_unpacking() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\0" * (3 * 2**20))
    data = buffer.getvalue()
    assert len(data) < 20_000
    with pytest.raises(UnreadableDocumentError, match="zip bomb"):
        read(DocxReader(), data, "bomb.docx", ReadingSettings(max_unpacked_mb=1))


@pytest.mark.parametrize("data", [b"PK\x03\x04 truncated", b"plain text", b"\xd0\xcf\x11\xe0 old doc"])
def test_a_damaged_docx_is_refused(data: bytes) -> None:
    with pytest.raises(UnreadableDocumentError):
        read(DocxReader(), data, "bad.docx")


def test_a_docx_that_is_a_zip_of_something_else_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<not-word/>")
    with pytest.raises(UnreadableDocumentError):
        read(DocxReader(), buffer.getvalue(), "odd.docx")


# -- HTML -------------------------------------------------------------------------------------------


def test_html_keeps_the_article_and_drops_the_boilerplate() -> None:
    page = news_page(
        "Moon rocks go on display",
        [("", ["The museum opened an exhibition of lunar samples."]), ("Visiting", ["Open every day."])],
    )
    extracted = read(HtmlReader(), page.encode(), "n.html")
    text = extracted.text
    assert "The museum opened an exhibition of lunar samples." in text and "Open every day." in text
    for boilerplate in (COOKIE, FOOTER, RELATED, COMMENT, "tracking pixel", "font-family", "Share on", *NAV):
        assert boilerplate not in text, boilerplate
    assert extracted.title == "Moon rocks go on display"
    assert extracted.date == "2025-03-04"
    assert extracted.metadata == {"author": "Jane Reporter", "tags": ["harbour", "city"], "language": "en"}
    assert [s.path for s in extracted.sections] == [
        "Moon rocks go on display",
        "Moon rocks go on display > Visiting",
    ]
    assert section_at(extracted, "Open every day.") == "Moon rocks go on display > Visiting"


def test_html_without_landmarks_finds_the_text_by_its_paragraphs() -> None:
    article = " ".join(
        f"Sentence {i} about the rover, its wheels, and the dust it raised." for i in range(12)
    )
    page = (
        "<html><body><div id='top'><a href='/'>Home</a> | <a href='/b'>Blog</a></div>"
        "<div class='wrap'><div class='left'><p><a href='/x'>A link list entry that is long enough</a></p>"
        f"<p><a href='/y'>Another link list entry that is long enough</a></p></div>"
        f"<div class='post'><h2>The rover</h2><p>{article}</p><p>{article}</p></div></div></body></html>"
    )
    extracted = read(HtmlReader(), page.encode(), "p.html")
    assert extracted.text.startswith("The rover\n\nSentence 0")
    assert "link list" not in extracted.text and "Home" not in extracted.text


def test_html_tables_lists_code_and_charset() -> None:
    page = (
        '<html><head><meta charset="windows-1252"><title>T</title></head><body><main><h1>Caf\xe9</h1>'
        "<ul><li>one</li><li>two</li></ul><table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr>"
        '</table><pre><code>x = 1\n<span class="hljs-comment"># a comment</span>\n  y = 2</code></pre>'
        "</main></body></html>"
    ).encode("cp1252")
    extracted = read(HtmlReader(), page, "t.html")
    assert extracted.text == "Caf\xe9\n\none\ntwo\n\na | b\n1 | 2\n\nx = 1\n# a comment\n  y = 2"
    assert extracted.title == "Caf\xe9"


@pytest.mark.parametrize(
    "page",
    [
        b"<html><body><p>unclosed <b>bold <i>italic<div>block</p></span></body>",
        b"<p>" * 20_000 + b"deep text",
        b"<div>" * 50_000 + b"very deep text",
        b"\x00\xff\xfe<html>garbage \x80\x81</html>",
    ],
)
def test_malformed_html_is_read_or_refused(page: bytes) -> None:
    try:
        extracted = read(HtmlReader(), page, "m.html")
    except UnreadableDocumentError:
        return
    assert extracted.text.strip()


def test_an_html_page_without_text_is_refused() -> None:
    with pytest.raises(UnreadableDocumentError, match="no text"):
        read(
            HtmlReader(),
            b"<html><body><nav><a href='/'>Home</a></nav><script>x()</script></body></html>",
            "e.html",
        )


# -- choosing a reader, limits ----------------------------------------------------------------------


def test_readers_are_chosen_by_suffix_or_sniffed_content(tmp_path: Path) -> None:
    assert reader_for(Path("a.PDF")) is not None and reader_for(Path("a.PDF")).format == "pdf"  # type: ignore[union-attr]
    assert reader_for(Path("a.png")) is None
    docx = tmp_path / "report"
    docx.write_bytes(make_docx([("p", "x")]))
    found = {
        "pdf": sniff(b"%PDF-1.7\n"),
        "html": sniff(b"\n  <!DOCTYPE html><html>"),
        "docx": sniff(docx.read_bytes()[:64], docx),
    }
    assert {name: r.format if r else None for name, r in found.items()} == {
        "pdf": "pdf",
        "html": "html",
        "docx": "docx",
    }
    assert sniff(b"\x89PNG\r\n") is None


def test_files_over_the_size_limit_are_not_read(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * (2 * 2**20))
    source = load_source(tmp_path, big, ReadingSettings(max_file_mb=1))
    assert source.skip is not None and "max_file_mb" in source.skip
    assert source.sha256.startswith("stat:")  # never read just to be hashed
    with pytest.raises(UnreadableDocumentError, match="max_file_mb"):
        parse_document(source, "big.txt", ReadingSettings(max_file_mb=1))


def test_extracted_text_limit(tmp_path: Path) -> None:
    path = tmp_path / "long.md"
    path.write_text("word " * 1000)
    with pytest.raises(UnreadableDocumentError, match="max_chars"):
        parse_document(load_source(tmp_path, path), "long.md", ReadingSettings(max_chars=100))


def test_a_reader_bug_skips_the_file_instead_of_stopping_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "page.html"
    path.write_text("<html><body><p>text</p></body></html>")

    def broken(*args: object) -> Extracted:
        raise KeyError("bug")

    monkeypatch.setattr(HtmlReader, "read", broken)
    with pytest.raises(UnreadableDocumentError, match="html reader failed"):
        parse_document(load_source(tmp_path, path), "page.html")
