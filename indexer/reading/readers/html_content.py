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


@dataclass(slots=True)
class _Span:
    """A stretch of text with its blank runs collapsed to one space: its length and whether it starts
    or ends with that space (so two stretches join without counting a space twice)."""

    length: int = 0
    starts: bool = False
    ends: bool = False

    def then(self, other: _Span) -> _Span:
        """This stretch followed by ``other``."""
        if not self.length:
            return other
        if not other.length:
            return self
        shared = 1 if self.ends and other.starts else 0
        return _Span(self.length + other.length - shared, self.starts, other.ends)

    @property
    def stripped(self) -> int:
        return max(self.length - self.starts - self.ends, 0)


@dataclass(slots=True)
class _Stats:
    """Per element (by ``mem_id``), measured in one walk of the tree: what ``collapse(text(deep))``
    would give in length, the same inside its links, its commas, and whether it is or holds a content
    marker (``article``, ``main``, ``itemprop=articleBody``) or a block. Asking each element its deep
    text instead costs the square of the nesting depth (20,000 nested ``<article>``: a minute)."""

    spans: dict[int, _Span]
    links: dict[int, int]
    commas: dict[int, int]
    marked: set[int]
    blocks: set[int]

    def text(self, node: Any) -> int:
        span = self.spans.get(node.mem_id)
        return span.stripped if span is not None else 0

    def link_density(self, node: Any, length: int) -> float:
        return self.links.get(node.mem_id, 0) / max(length, 1)


_BLOCK_TAGS_INSIDE = frozenset(tag.strip() for tag in _BLOCKS_INSIDE.split(","))


def _preorder(root: Any) -> list[tuple[Any, Any]]:
    """(node, parent) for ``root`` and every node under it (text nodes too), in document order."""
    out: list[tuple[Any, Any]] = []
    stack: list[tuple[Any, Any]] = [(root, None)]
    while stack:
        node, parent = stack.pop()
        out.append((node, parent))
        if node.is_element_node:
            stack.extend((child, node) for child in reversed(list(node.iter(include_text=True))))
    return out


def _measure(root: Any) -> _Stats:
    """:class:`_Stats` of every element under ``root``, children folded into parents last to first."""
    stats = _Stats({}, {}, {}, set(), set())
    spans, links, commas = stats.spans, stats.links, stats.commas
    for node, parent in reversed(_preorder(root)):
        key = node.mem_id
        if node.is_text_node:
            raw = node.text(deep=False) or ""
            text = _SPACE.sub(" ", raw)
            own, own_commas = _Span(len(text), text.startswith(" "), text.endswith(" ")), raw.count(",")
            own_links = 0
        elif node.is_element_node:
            own, own_commas = spans.get(key, _Span()), commas.get(key, 0)
            own_links = links.get(key, 0) + (own.stripped if node.tag == "a" else 0)
            links[key] = own_links
            if node.tag in ("article", "main") or node.attributes.get("itemprop") == "articleBody":
                stats.marked.add(key)
            if node.tag in _BLOCK_TAGS_INSIDE:
                stats.blocks.add(key)
        else:
            continue
        if parent is None:
            continue
        up = parent.mem_id
        spans[up] = own.then(spans.get(up, _Span()))
        commas[up] = commas.get(up, 0) + own_commas
        links[up] = links.get(up, 0) + own_links
        if key in stats.marked:
            stats.marked.add(up)
        if key in stats.blocks:
            stats.blocks.add(up)
    return stats


def remove_boilerplate(body: Any) -> None:
    """Take boilerplate out of ``body``'s tree. An element that holds the page's article, or more than
    half its text, is kept whatever its class says (a ``sidebar-layout`` wrapper)."""
    stats = _measure(body)
    total = max(stats.text(body), 1)
    doomed = []
    # (node, inside article/main, inside pre/code): document order, doomed elements not entered
    stack: list[tuple[Any, bool, bool]] = [(body, False, False)]
    while stack:
        node, inside, code = stack.pop()
        inside = inside or node.tag in ("article", "main")
        code = code or node.tag in ("pre", "code")  # highlighting spans
        if not code and _doomed(node, inside, stats, total):
            doomed.append(node)
            continue
        children = [child for child in node.iter() if child.is_element_node]
        stack.extend((child, inside, code) for child in reversed(children))
    for node in doomed:  # none inside another: each is freed once
        node.decompose()


def _doomed(node: Any, inside: bool, stats: _Stats, total: int) -> bool:
    if node.tag in SKIP_TAGS:
        return True
    if not _is_boilerplate(node, inside):
        return False
    return node.mem_id not in stats.marked and stats.text(node) * 2 < total


def _scored_root(body: Any) -> Any:
    """The element holding the most paragraph text (readability's scoring, simplified), widened to its
    ancestors while it holds less than two thirds of the page's paragraph text or its parent a quarter
    more than it (a chapter split into sections)."""
    stats = _measure(body)
    scores: dict[int, tuple[float, Any]] = {}
    held: dict[int, int] = {}  # paragraph text (few links) inside each element
    for paragraph in body.css("p, pre, td, blockquote, div"):
        if paragraph.tag not in ("p", "pre") and paragraph.mem_id in stats.blocks:
            continue  # a container, not a paragraph: its paragraphs count
        length = stats.text(paragraph)
        if length < MIN_PARAGRAPH:
            continue
        score = 1.0 + stats.commas.get(paragraph.mem_id, 0) + min(length // 100, 3)
        for weight, node in ((1.0, paragraph.parent), (0.5, paragraph.parent and paragraph.parent.parent)):
            if node is not None:
                old = scores.get(node.mem_id, (0.0, node))[0]
                scores[node.mem_id] = (old + score * weight, node)
        if stats.link_density(paragraph, length) < 0.5:
            held[paragraph.mem_id] = held.get(paragraph.mem_id, 0) + length
    _hold_up(body, held)
    best, root = 0.0, body
    for score, node in scores.values():
        adjusted = score * (1 - stats.link_density(node, stats.text(node)))
        if adjusted > best:
            best, root = adjusted, node
    total = held.get(body.mem_id, 0)
    while root.mem_id != body.mem_id and root.parent is not None:
        mine, theirs = held.get(root.mem_id, 0), held.get(root.parent.mem_id, 0)
        if mine * 3 >= total * 2 and theirs * 4 < mine * 5:
            break
        root = root.parent
    return root


def _hold_up(body: Any, held: dict[int, int]) -> None:
    """Add what each element holds to its ancestors' (one walk, children before parents)."""
    for node, parent in reversed(_preorder(body)):
        if parent is not None and node.mem_id in held:
            held[parent.mem_id] = held.get(parent.mem_id, 0) + held[node.mem_id]


def content_root(body: Any) -> Any:
    """Where the page's main content is, once boilerplate is out."""
    stats = _measure(body)
    marked = body.css_first("[itemprop=articleBody]")
    if marked is not None and stats.text(marked) >= MIN_PARAGRAPH:
        return marked
    total = stats.text(body)
    for selector in ("main", "[role=main]"):
        node = body.css_first(selector)
        if node is not None and stats.text(node) * 4 >= total:
            return node
    articles = sorted(body.css("article"), key=stats.text, reverse=True)
    if articles and stats.text(articles[0]) * 4 >= total:
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
