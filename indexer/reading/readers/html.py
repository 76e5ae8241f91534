"""HTML pages: the main content only (:mod:`~indexer.reading.readers.html_content`), with headings as
sections. Title from the article's ``<h1>``, else ``og:title`` or ``<title>``; date from the
publication ``<meta>`` tags, JSON-LD ``datePublished`` or a ``<time datetime>``; metadata from the
``<meta>`` tags (author, description, keywords, tags, site, language, canonical URL)."""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Any

from indexer.config import ReadingSettings
from indexer.errors import UnreadableDocumentError
from indexer.reading.readers.base import Extracted, MetaValue, Section
from indexer.reading.readers.headings import HeadingPath
from indexer.reading.readers.html_content import collapse, content_root, remove_boilerplate, render
from indexer.reading.readers.metadata import flatten, iso_date

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_NOT_PAGE_CODECS = frozenset(["idna", "punycode", "unicode-escape", "raw-unicode-escape", "utf-7"])
DATE_METAS = (
    "article:published_time",
    "datepublished",
    "date",
    "dc.date",
    "dc.date.issued",
    "dcterms.date",
    "dcterms.issued",
    "citation_publication_date",
    "citation_date",
    "pubdate",
    "publish-date",
    "publication_date",
    "og:published_time",
    "sailthru.date",
    "parsely-pub-date",
)
_META_KEYS = {
    "author": "author",
    "article:author": "author",
    "description": "description",
    "og:description": "description",
    "og:site_name": "site",
    "article:section": "category",
    "article:modified_time": "modified",
}


def _page_codec(name: str) -> str | None:
    """Python's codec for a declared charset, None for one unknown or that is no page encoding
    (``idna``, ``punycode``, ``unicode_escape``, ``base64``, ...: the declaration is ignored)."""
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_PAGE_CODECS:
        return None
    return info.name


def decode_html(data: bytes) -> str:
    """The page's text: by its byte-order mark, else its ``<meta charset>``, else UTF-8, else
    Windows-1252 (what browsers assume for undeclared legacy pages)."""
    for bom, codec in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(codec, errors="replace").lstrip("\ufeff")
    declared = _CHARSET.search(data[:4096])
    page_codec = _page_codec(declared.group(1).decode("ascii")) if declared else None
    if page_codec is not None:
        try:
            return data.decode(page_codec, errors="replace")
        except (UnicodeError, ValueError):  # a codec that cannot replace what it cannot decode
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _metas(tree: Any) -> dict[str, list[str]]:
    """``<meta>`` contents by lower-cased name, property or itemprop, in page order."""
    found: dict[str, list[str]] = {}
    for meta in tree.css("meta"):
        attrs = meta.attributes
        key = attrs.get("name") or attrs.get("property") or attrs.get("itemprop")
        content = collapse(attrs.get("content") or "")
        if key and content:
            found.setdefault(key.strip().lower(), []).append(content)
    return found


def _json_ld_date(tree: Any) -> str | None:
    for script in tree.css('script[type="application/ld+json"]'):
        match = re.search(r'"datePublished"\s*:\s*"([^"]+)"', script.text(deep=True) or "")
        if match and iso_date(match.group(1)):
            return iso_date(match.group(1))
    return None


def _declared_date(tree: Any, metas: dict[str, list[str]]) -> str | None:
    """The publication date the page declares: ``<meta>`` tags, then JSON-LD ``datePublished``."""
    for key in DATE_METAS:
        for value in metas.get(key, ()):
            if iso_date(value):
                return iso_date(value)
    return _json_ld_date(tree)


def _time_date(scope: Any) -> str | None:
    """The first ``<time datetime>`` in ``scope`` holding an ISO date."""
    for time in scope.css("time[datetime]"):
        found = iso_date(time.attributes.get("datetime") or "")
        if found:
            return found
    return None


def _metadata(tree: Any, metas: dict[str, list[str]]) -> dict[str, MetaValue]:
    found: dict[str, Any] = {}
    for key, name in _META_KEYS.items():
        if key in metas and name not in found:
            found[name] = metas[key][0]
    keywords = [k.strip() for v in metas.get("keywords", ()) for k in v.split(",") if k.strip()]
    tags = metas.get("article:tag", []) + keywords
    if tags:
        found["tags"] = list(dict.fromkeys(tags))
    html = tree.css_first("html")
    if html is not None and html.attributes.get("lang"):
        found["language"] = html.attributes.get("lang")
    canonical = tree.css_first('link[rel="canonical"]')
    if canonical is not None and canonical.attributes.get("href"):
        found["url"] = canonical.attributes.get("href")
    return flatten(found)


def _title(tree: Any, metas: dict[str, list[str]], root: Any) -> str | None:
    heading = root.css_first("h1") or tree.css_first("h1")
    candidates = [
        collapse(heading.text(deep=True)) if heading is not None else "",
        *metas.get("og:title", ()),
        collapse(tree.css_first("title").text(deep=True)) if tree.css_first("title") is not None else "",
    ]
    return next((c for c in candidates if c), None)


class HtmlReader:
    format = "html"
    version = 2
    suffixes: tuple[str, ...] = (".html", ".htm", ".xhtml")

    def read(self, data: bytes, path: Path, limits: ReadingSettings) -> Extracted:
        from selectolax.lexbor import LexborHTMLParser

        tree = LexborHTMLParser(decode_html(data))
        if tree.body is None:
            raise UnreadableDocumentError("no HTML body")
        metas = _metas(tree)
        date = _declared_date(tree, metas)
        first_time = _time_date(tree.body)  # before boilerplate removal (a byline in a page header)
        remove_boilerplate(tree.body)
        root = content_root(tree.body)
        date = date or _time_date(root) or first_time
        title = _title(tree, metas, root)
        text, sections = self._text(render(root), limits)
        if not text.strip():
            raise UnreadableDocumentError("no text in the page's content")
        return Extracted(
            text=text,
            format=self.format,
            title=title,
            date=date,
            metadata=_metadata(tree, metas),
            sections=sections,
        )

    @staticmethod
    def _text(blocks: list[Any], limits: ReadingSettings) -> tuple[str, tuple[Section, ...]]:
        parts: list[str] = []
        sections: list[Section] = []
        paths = HeadingPath()
        offset = 0
        previous_line = ""
        for block in blocks:
            if parts:
                separator = "\n" if block.line and block.line == previous_line else "\n\n"
                parts.append(separator)
                offset += len(separator)
            if block.level is not None:
                sections.append(
                    Section(offset, offset + len(block.text), paths.enter(block.level, block.text))
                )
            parts.append(block.text)
            offset += len(block.text)
            previous_line = block.line
            if offset > limits.max_chars:
                raise UnreadableDocumentError(f"more than reading.max_chars ({limits.max_chars}) characters")
        return "".join(parts), tuple(sections)
