"""The main content of an HTML page, as text blocks (selectolax's Lexbor parser).

Boilerplate goes first: scripts, styles, forms' controls, ``nav``/``aside``/``footer``, the page's own
``header``, landmarks (``role=navigation``, ``banner``, ``contentinfo``, ...), hidden elements, and
elements whose class or id names navigation, cookie banners, sharing, comments, related links or
ads. The content is then the page's ``articleBody``, ``main`` or largest ``article``, else the block
that holds the most paragraph text with the fewest links (a readability-style score). Headings,
paragraphs, list items, table rows (cells joined by `` | ``) and preformatted text become blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SKIP_TAGS = frozenset(
    [
        "script",
        "style",
        "noscript",
        "template",
        "svg",
        "math",
        "canvas",
        "iframe",
        "object",
        "embed",
        "button",
        "input",
        "select",
        "option",
        "textarea",
        "label",
        "dialog",
        "nav",
        "aside",
        "footer",
        "menu",
        "head",
        "link",
        "meta",
    ]
)
HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "blockquote",
        "body",
        "center",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "form",
        "header",
        "hgroup",
        "hr",
        "html",
        "li",
        "main",
        "ol",
        "p",
        "section",
        "summary",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "ul",
        "caption",
    ]
)
LINE_TAGS = frozenset({"li", "dt", "dd", "tr"})
INLINE_TAGS = frozenset(
    [
        "a",
        "abbr",
        "b",
        "cite",
        "code",
        "em",
        "i",
        "kbd",
        "mark",
        "q",
        "s",
        "samp",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "time",
        "u",
        "var",
    ]
)
"""Never taken for boilerplate by their class (syntax highlighting marks up ``comment`` spans)."""
"""Blocks joined to a neighbour of the same kind by a line break, not a blank line."""
BOILERPLATE_ROLES = frozenset(
    [
        "navigation",
        "banner",
        "contentinfo",
        "complementary",
        "search",
        "dialog",
        "alertdialog",
        "menu",
        "menubar",
        "toolbar",
    ]
)
BOILERPLATE_WORDS = frozenset(
    [
        "cookie",
        "cookies",
        "consent",
        "gdpr",
        "comment",
        "comments",
        "disqus",
        "newsletter",
        "subscribe",
        "subscription",
        "share",
        "sharing",
        "social",
        "related",
        "sponsor",
        "sponsored",
        "promo",
        "advert",
        "advertisement",
        "ad",
        "ads",
        "adsbygoogle",
        "popup",
        "modal",
        "breadcrumb",
        "breadcrumbs",
        "pagination",
        "pager",
        "paywall",
        "sidebar",
        "navbar",
        "nav",
        "navigation",
        "menu",
        "footer",
        "masthead",
        "toolbar",
        "skip",
        "signup",
        "outbrain",
        "taboola",
    ]
)
_WORDS = re.compile(r"[a-z]+")
_SPACE = re.compile(r"\s+")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_BREAK = "\x00"
MIN_PARAGRAPH = 25
_BLOCKS_INSIDE = "p, div, table, ul, ol, dl, pre, blockquote, section, article, h1, h2, h3, h4, h5, h6"


@dataclass(frozen=True, slots=True)
class Block:
    text: str
    level: int | None = None
    """Heading level (1-6); None for other blocks."""
    line: str = ""
    """For a list item or table row, its kind (``li``, ``tr``): consecutive ones of a kind are lines."""


def collapse(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _names(node: Any) -> set[str]:
    attrs = node.attributes
    joined = f"{attrs.get('class') or ''} {attrs.get('id') or ''}".lower()
    return set(_WORDS.findall(joined))


def _is_boilerplate(node: Any, inside_content: bool) -> bool:
    attrs = node.attributes
    if node.tag in ("html", "body", "main", "article") or node.tag in INLINE_TAGS:
        return False
    if node.tag == "header" and not inside_content:
        return True
    if "hidden" in attrs or (attrs.get("aria-hidden") or "").lower() == "true":
        return True
    if _HIDDEN_STYLE.search(attrs.get("style") or ""):
        return True
    if (attrs.get("role") or "").lower() in BOILERPLATE_ROLES:
        return True
    return bool(_names(node) & BOILERPLATE_WORDS)


def _text_length(node: Any) -> int:
    return len(collapse(node.text(deep=True)))


def remove_boilerplate(body: Any) -> None:
    """Take boilerplate out of ``body``'s tree. An element that holds the page's article, or more than
    half its text, is kept whatever its class says (a ``sidebar-layout`` wrapper)."""
    total = max(_text_length(body), 1)
    inside = {d.mem_id for content in body.css("article, main") for d in content.css("*")}
    code = {d.mem_id for block in body.css("pre, code") for d in block.css("*")}  # highlighting spans
    gone: set[int] = set()
    doomed = []
    for node in body.css("*"):  # document order: an element comes before its descendants
        if node.mem_id in gone or node.mem_id in code:
            continue
        if node.tag not in SKIP_TAGS:
            if not _is_boilerplate(node, node.mem_id in inside):
                continue
            if node.css_first("article, main, [itemprop=articleBody]") is not None:
                continue
            if _text_length(node) * 2 >= total:
                continue
        gone.update(d.mem_id for d in node.css("*"))
        doomed.append(node)
    for node in doomed:  # none inside another: each is freed once
        node.decompose()


def _link_density(node: Any, length: int) -> float:
    linked = sum(_text_length(a) for a in node.css("a"))
    return linked / max(length, 1)


def _scored_root(body: Any) -> Any:
    """The element holding the most paragraph text (readability's scoring, simplified), widened to its
    ancestors while it holds less than two thirds of the page's paragraph text or its parent a quarter
    more than it (a chapter split into sections)."""
    scores: dict[int, tuple[float, Any]] = {}
    held: dict[int, int] = {}  # paragraph text (few links) inside each element
    for paragraph in body.css("p, pre, td, blockquote, div"):
        if paragraph.tag not in ("p", "pre") and paragraph.css_first(_BLOCKS_INSIDE) is not None:
            continue  # a container, not a paragraph: its paragraphs count
        text = collapse(paragraph.text(deep=True))
        if len(text) < MIN_PARAGRAPH:
            continue
        score = 1.0 + text.count(",") + min(len(text) // 100, 3)
        for weight, node in ((1.0, paragraph.parent), (0.5, paragraph.parent and paragraph.parent.parent)):
            if node is not None:
                old = scores.get(node.mem_id, (0.0, node))[0]
                scores[node.mem_id] = (old + score * weight, node)
        if _link_density(paragraph, len(text)) < 0.5:
            node = paragraph
            while node is not None:
                held[node.mem_id] = held.get(node.mem_id, 0) + len(text)
                node = node.parent
    best, root = 0.0, body
    for score, node in scores.values():
        adjusted = score * (1 - _link_density(node, _text_length(node)))
        if adjusted > best:
            best, root = adjusted, node
    total = held.get(body.mem_id, 0)
    while root.mem_id != body.mem_id and root.parent is not None:
        mine, theirs = held.get(root.mem_id, 0), held.get(root.parent.mem_id, 0)
        if mine * 3 >= total * 2 and theirs * 4 < mine * 5:
            break
        root = root.parent
    return root


def content_root(body: Any) -> Any:
    """Where the page's main content is, once boilerplate is out."""
    marked = body.css_first("[itemprop=articleBody]")
    if marked is not None and _text_length(marked) >= MIN_PARAGRAPH:
        return marked
    total = _text_length(body)
    for selector in ("main", "[role=main]"):
        node = body.css_first(selector)
        if node is not None and _text_length(node) * 4 >= total:
            return node
    articles = sorted(body.css("article"), key=_text_length, reverse=True)
    if articles and _text_length(articles[0]) * 4 >= total:
        return articles[0]
    return _scored_root(body)


class _Renderer:
    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self._inline: list[str] = []

    def flush(self, line: str = "") -> None:
        if self._inline:
            raw = "".join(self._inline)
            self._inline = []
            text = "\n".join(filter(None, (collapse(part) for part in raw.split(_BREAK))))
            if text:
                self.blocks.append(Block(text, line=line))

    def element(self, node: Any) -> bool:
        """Handle ``node`` whole (True) or let the walk enter its children (False)."""
        tag = node.tag
        if tag in SKIP_TAGS:
            return True
        if tag == "br":
            self._inline.append(_BREAK)
            return True
        if tag in HEADINGS:
            self.flush()
            text = collapse(node.text(deep=True))
            if text:
                self.blocks.append(Block(text, level=HEADINGS[tag]))
            return True
        if tag == "pre":
            self.flush()
            text = node.text(deep=True).strip("\n").rstrip()
            if text.strip():
                self.blocks.append(Block(text))
            return True
        if tag == "tr":
            self.flush()
            cells = [collapse(c.text(deep=True)) for c in node.iter() if c.tag in ("td", "th")]
            if any(cells):
                self.blocks.append(Block(" | ".join(cells), line="tr"))
            return True
        if tag == "img":
            return True
        if tag in BLOCK_TAGS or tag in LINE_TAGS:
            self.flush()
        return False

    def text(self, node: Any) -> None:
        self._inline.append(node.text(deep=False) or "")


def render(root: Any) -> list[Block]:
    """``root``'s text as blocks, in document order (an explicit stack: nesting depth is unbounded)."""
    out = _Renderer()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            if node.tag in BLOCK_TAGS or node.tag in LINE_TAGS:
                out.flush(line=node.tag if node.tag in LINE_TAGS else "")
            continue
        if node.is_text_node:
            out.text(node)
            continue
        if not node.is_element_node or out.element(node):
            continue
        stack.append((node, True))
        children = list(node.iter(include_text=True))
        stack.extend((child, False) for child in reversed(children))
    out.flush()
    return out.blocks
