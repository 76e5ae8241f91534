"""Documents of every format, made in the tests: PDFs with reportlab, DOCX with python-docx, HTML and
Markdown as strings. ``write_collection`` lays out a small collection with known pages, sections,
metadata and boilerplate."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

PdfOutline = Sequence[tuple[int, str, int]]
"""(level from 0, title, page index) of each bookmark."""


def make_pdf(
    pages: Sequence[Sequence[str]],
    *,
    title: str | None = None,
    author: str | None = None,
    keywords: str | None = None,
    header: str | None = None,
    page_numbers: bool = False,
    outline: PdfOutline = (),
    labels: Sequence[tuple[int, str, int, str]] = (),
) -> bytes:
    """A PDF with a text layer: each page's lines top to bottom, optionally under a running ``header``
    and over a ``Page n of N`` footer, with bookmarks, and page labels: (page index where a range
    starts, style ``ROMAN_LOWER``/``ARABIC``/..., first number, prefix)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    if title:
        pdf.setTitle(title)
    if author:
        pdf.setAuthor(author)
    if keywords:
        pdf.setKeywords(keywords)
    marks = {
        index: [(level, text) for level, text, page in outline if page == index]
        for index in range(len(pages))
    }
    for start, style, first, prefix in labels:
        pdf.addPageLabel(start, style=style, start=first, prefix=prefix or None)
    for index, lines in enumerate(pages):
        for number, (level, text) in enumerate(marks[index]):
            key = f"p{index}-{number}"
            pdf.bookmarkPage(key)
            pdf.addOutlineEntry(text, key, level=level)
        if header:
            pdf.drawString(72, 800, header)
        y = 760
        for line in lines:
            pdf.drawString(72, y, line)
            y -= 16
        if page_numbers:
            pdf.drawString(280, 40, f"Page {index + 1} of {len(pages)}")
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def make_scanned_pdf() -> bytes:
    """A PDF whose pages hold only drawings (no text layer), as a scan would."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    for _ in range(2):
        pdf.rect(72, 400, 300, 200, fill=1)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def make_image_pdf(pages: Sequence[Sequence[str]], *, dpi: int = 150) -> bytes:
    """A PDF of scans: each page of :func:`make_pdf` rendered at ``dpi`` and placed as the page's only
    content, an image (no text layer)."""
    import pypdfium2 as pdfium
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    source = pdfium.PdfDocument(make_pdf(pages))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    for index in range(len(source)):
        image = source[index].render(scale=dpi / 72, grayscale=True).to_pil()
        pdf.drawImage(ImageReader(image), 0, 0, width=A4[0], height=A4[1])
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def make_docx(
    blocks: Sequence[tuple[str, object]],
    *,
    title: str | None = None,
    author: str | None = None,
    keywords: str | None = None,
) -> bytes:
    """A DOCX: ``("title"|"h1"|"h2"|"h3"|"p", text)`` or ``("table", [[cell, ...], ...])`` blocks."""
    import docx

    document = docx.Document()
    for kind, content in blocks:
        if kind == "table":
            rows = list(content)  # type: ignore[call-overload]
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = str(cell)
        elif kind == "title":
            document.add_heading(str(content), level=0)
        elif kind.startswith("h"):
            document.add_heading(str(content), level=int(kind[1:]))
        else:
            document.add_paragraph(str(content))
    props = document.core_properties
    if title:
        props.title = title
    if author:
        props.author = author
    if keywords:
        props.keywords = keywords
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


COOKIE = "We use cookies to improve your experience. Accept all cookies to continue."
NAV = ("Home", "World", "Politics", "Subscribe now")
FOOTER = "Copyright 2025 The Daily Example. All rights reserved."
RELATED = "Ten things you did not know about the city council budget"
COMMENT = "Great article, thanks for sharing this with us all!"


def news_page(title: str, sections: Sequence[tuple[str, Sequence[str]]], *, date: str = "2025-03-04") -> str:
    """A news article page with the usual boilerplate around it: scripts, styles, a cookie banner,
    navigation, sharing buttons, related links, comments and a footer."""
    body = [f"<h1>{title}</h1>"]
    for heading, paragraphs in sections:
        if heading:
            body.append(f"<h2>{heading}</h2>")
        body.extend(f"<p>{p}</p>" for p in paragraphs)
    nav = "".join(f'<li><a href="/{n.lower()}">{n}</a></li>' for n in NAV)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{title} | The Daily Example</title>
<meta property="article:published_time" content="{date}T09:30:00Z">
<meta name="author" content="Jane Reporter"><meta name="keywords" content="harbour, city">
<style>body {{ font-family: serif }} .cookie-banner {{ position: fixed }}</style>
<script>window.dataLayer = []; function track() {{ console.log("tracking pixel") }}</script></head>
<body><div class="cookie-banner" id="cookie-consent"><p>{COOKIE}</p><button>Accept</button></div>
<header class="site-header"><a href="/">The Daily Example</a><nav><ul>{nav}</ul></nav></header>
<main><article><p class="byline">By Jane Reporter, <time datetime="{date}">{date}</time></p>
{"".join(body)}
<div class="share-buttons"><a href="#">Share on Facebook</a> <a href="#">Share on Twitter</a></div></article>
<aside><h2>Related articles</h2><ul><li><a href="/a1">{RELATED}</a></li></ul></aside>
<section class="comments"><h3>Comments</h3><p>{COMMENT}</p></section>
</main><footer><p>{FOOTER}</p></footer><script>track()</script></body></html>"""


def write_collection(seeds: Path) -> None:
    """One document of each format, on a shared subject (the Apollo program) with distinct facts."""
    seeds.mkdir(parents=True, exist_ok=True)
    (seeds / "apollo.md").write_text(
        "---\ntitle: Apollo program\ndate: 2024-05-01\nauthor: NASA History Office\n"
        "tags: [apollo, moon]\nyear: 1969\ndraft: false\n---\n"
        "# Apollo program\n\nThe Apollo program put twelve astronauts on the Moon.\n\n"
        "## Part 1\n\nApollo 8 was the first crewed flight to orbit the Moon, in December 1968.\n\n"
        "## Part 2\n\nApollo 11 landed in the Sea of Tranquility on 20 July 1969.\n"
        "Neil Armstrong and Buzz Aldrin walked on the surface for about two and a half hours.\n",
        encoding="utf-8",
    )
    (seeds / "mission-report.pdf").write_bytes(
        make_pdf(
            [
                ["Mission report", "Apollo 13 suffered an oxygen tank explosion on the way to the Moon."],
                ["Chapter 2: The return", "The crew used the lunar module as a lifeboat to survive."],
                ["The command module splashed down safely in the Pacific Ocean on 17 April 1970."],
            ],
            title="Apollo 13 mission report",
            author="Flight Director",
            keywords="apollo, accident",
            header="NASA internal - mission report",
            page_numbers=True,
            outline=[(0, "Mission report", 0), (0, "Chapter 2: The return", 1)],
        )
    )
    (seeds / "saturn.docx").write_bytes(
        make_docx(
            [
                ("title", "Saturn V rocket"),
                ("h1", "Stages"),
                ("p", "The Saturn V had three stages and burned kerosene and liquid hydrogen."),
                ("h1", "Flights"),
                ("p", "The Saturn V flew thirteen times between 1967 and 1973 without losing a payload."),
                ("table", [["Stage", "Engines"], ["S-IC", "five F-1"], ["S-II", "five J-2"]]),
            ],
            author="Marshall Space Flight Center",
            keywords="rocket, saturn",
        )
    )
    (seeds / "news.html").write_text(
        news_page(
            "Moon rocks go on display",
            [
                ("", ["The city museum opened an exhibition of lunar samples brought back by Apollo 17."]),
                (
                    "Visiting",
                    ["The exhibition is open every day except Monday, and entry is free for children."],
                ),
            ],
        ),
        encoding="utf-8",
    )
    (seeds / "notes.txt").write_text("Skylab was launched in 1973 on the last Saturn V.\n", encoding="utf-8")
