"""How well the HTML reader keeps a page's article and drops its boilerplate, beside trafilatura (when
it is installed: ``pip install trafilatura``; it is not a dependency).

Pages: news and blog pages generated here in four layouts (semantic HTML5, class-named divs, an old
table layout, a Bootstrap blog), each around an article with cookie banners, navigation, sharing
buttons, related links, comments, newsletter forms and footers; and, with ``--pages DIR`` (repeatable),
real pages whose article is marked by one of ``#main-content``, ``main``, ``#apicontent``,
``#_content``, ``div.chapter`` (rustdoc, mdBook, Node.js, npm and DocBook manuals: e.g. the HTML docs
under ``/usr/share/doc``). Scores: precision and recall of the article's words (bags of words), F1,
boilerplate sentences leaked (generated pages), milliseconds per page.

    flock /tmp/heavy.lock python -m bench.html_extractors --pages /usr/share/doc/nodejs/api
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from indexer.config import ReadingSettings
from indexer.errors import UnreadableDocumentError
from indexer.reading.readers.html import HtmlReader

GOLD_SELECTORS = ("#main-content", "main", "#apicontent", "#_content", "div.chapter")
BOILERPLATE = [
    "We use cookies to improve your experience. By continuing you accept our cookie policy.",
    "Subscribe to our newsletter for the latest stories delivered every morning.",
    "Ten things you did not know about the city council budget",
    "Why the mayor's new transit plan has critics worried about costs",
    "Great article, thanks for sharing this with us all!",
    "I disagree with the premise of this piece entirely.",
    "Copyright 2025 The Daily Example. All rights reserved.",
]
MENU = ["Home", "World", "Politics", "Business", "Technology", "Sports", "Share on Facebook", "Sign up"]
SENTENCES = [
    "Officials said the {t} would be completed ahead of schedule, according to documents seen by reporters.",
    "Residents met on Tuesday to discuss how the {t} would change the neighbourhood; many voiced concerns.",
    "The {t} has cost more than expected, with estimates rising by a third since the plan was approved.",
    "Experts say the {t} could become a model for other regions, although the evidence remains limited.",
    "Critics argue that the {t} diverts money from schools and hospitals, which need it more urgently.",
    "The council will vote on the next phase of the {t} in March, after a public consultation closes.",
]
TOPICS = ["harbour", "library", "solar farm", "rail tunnel", "river clean-up", "museum"]
WORD = re.compile(r"\w+")
Page = tuple[str, str, bytes, str]
"""(kind, name, html, article text)."""


def _article(rng: random.Random, topic: str) -> tuple[str, str]:
    """The article's HTML and its text."""
    html, text = [f"<h1>City approves {topic}</h1>"], [f"City approves {topic}"]
    for part in range(rng.randint(2, 3)):
        if part:
            html.append(f"<h2>What the {topic} means, part {part}</h2>")
            text.append(f"What the {topic} means, part {part}")
        for _ in range(rng.randint(2, 4)):
            paragraph = " ".join(rng.choice(SENTENCES).format(t=topic) for _ in range(rng.randint(2, 4)))
            html.append(f"<p>{paragraph}</p>")
            text.append(paragraph)
    return "\n".join(html), "\n".join(text)


def _layout(kind: str, article: str) -> str:
    nav = "".join(f'<li><a href="#">{m}</a></li>' for m in MENU)
    cookie, newsletter, related1, related2, comment1, comment2, footer = BOILERPLATE
    related = f'<ul><li><a href="/1">{related1}</a></li><li><a href="/2">{related2}</a></li></ul>'
    comments = f"<h3>Comments (2)</h3><p>{comment1}</p><p>{comment2}</p>"
    head = (
        "<head><meta charset='utf-8'><title>News | The Daily Example</title>"
        "<style>body{font:12px serif}</style>"
        "<script>window.dataLayer=[];function track(){console.log('pixel')}</script></head>"
    )
    if kind == "semantic":
        body = (
            f"<div class='cookie-banner'><p>{cookie}</p><button>Accept</button></div>"
            f"<header><nav><ul>{nav}</ul></nav></header><main><article>{article}"
            f"<div class='share-buttons'><a href='#'>Share on Twitter</a></div></article>"
            f"<aside><h2>Related articles</h2>{related}</aside>"
            f"<section class='comments'>{comments}</section></main>"
            f"<div class='newsletter'><p>{newsletter}</p><form><input></form></div>"
            f"<footer><p>{footer}</p></footer>"
        )
    elif kind == "divs":
        body = (
            f"<div id='onetrust-banner-sdk'><p>{cookie}</p></div><div class='menu'><ul>{nav}</ul></div>"
            f"<div class='wrapper'><div class='post'><div class='entry-content'>{article}</div>"
            f"<div id='comments'>{comments}</div></div><div class='widget-area'>{related}</div></div>"
            f"<div class='site-footer'><p>{footer}</p></div>"
        )
    elif kind == "table":
        body = (
            f"<table><tr><td colspan='2'>{' | '.join(MENU)}</td></tr><tr><td>"
            f"<p><b>Related</b></p><p><a href='/1'>{related1}</a></p><p><a href='/2'>{related2}</a></p></td>"
            f"<td>{article}</td></tr><tr><td colspan='2'><small>{footer}</small></td></tr></table>"
        )
    else:  # a Bootstrap blog
        body = (
            f"<div class='navbar'><ul class='navbar-nav'>{nav}</ul></div>"
            f"<div class='container'><div class='row'>"
            f"<div class='col-md-8'><div class='card'><div class='card-body'>{article}</div></div>"
            f"<div id='disqus_thread'>{comments}</div></div><div class='col-md-4'><div class='card'>"
            f"<h5 class='card-header'>Related</h5>{related}</div></div></div></div>"
            f"<div id='gdpr-consent-tool-wrapper'><p>{cookie}</p></div>"
            f"<div class='bg-dark'><p>{footer}</p></div>"
        )
    return f"<!doctype html><html lang='en'>{head}<body>{body}<script>track()</script></body></html>"


def generated(count: int) -> Iterator[Page]:
    rng = random.Random(11)
    for n in range(count):
        kind = ("semantic", "divs", "table", "blog")[n % 4]
        html, text = _article(rng, TOPICS[n % len(TOPICS)])
        yield f"generated-{kind}", f"{kind}-{n}.html", _layout(kind, html).encode(), text


def real(folder: Path) -> Iterator[Page]:
    from selectolax.lexbor import LexborHTMLParser

    for path in sorted(folder.rglob("*.htm*")):
        data = path.read_bytes()
        tree = LexborHTMLParser(data.decode("utf-8", errors="replace"))
        gold = next((node for s in GOLD_SELECTORS if (node := tree.css_first(s)) is not None), None)
        if gold is None:
            continue
        for noise in gold.css("script, style, nav, table.nav"):
            noise.decompose()
        yield folder.name, path.name, data, gold.text(deep=True, separator=" ")


def ours(data: bytes) -> str:
    try:
        return HtmlReader().read(data, Path("page.html"), ReadingSettings()).text
    except UnreadableDocumentError:
        return ""


def extractors() -> dict[str, Callable[[bytes], str]]:
    found: dict[str, Callable[[bytes], str]] = {"citesearch": ours}
    try:
        import trafilatura
    except ImportError:
        print("trafilatura is not installed: measuring citesearch's reader only", file=sys.stderr)
        return found

    def extract(data: bytes) -> str:
        page = data.decode("utf-8", errors="replace")
        return str(trafilatura.extract(page, include_tables=True, include_comments=False) or "")

    found["trafilatura"] = extract
    return found


def _words(text: str) -> Counter[str]:
    return Counter(w.lower() for w in WORD.findall(text))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.html_extractors", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--generated", type=int, default=40, help="generated pages (default 40)")
    parser.add_argument("--pages", type=Path, action="append", default=[], help="a folder of real pages")
    args = parser.parse_args(argv)
    pages = list(generated(args.generated)) + [p for folder in args.pages for p in real(folder)]
    rows: dict[tuple[str, str], list[tuple[float, float, float, int]]] = {}
    for kind, _, data, gold in pages:
        expected = _words(gold)
        for name, extract in extractors().items():
            started = time.perf_counter()
            text = extract(data)
            seconds = time.perf_counter() - started
            found = _words(text)
            common = sum((expected & found).values())
            leaks = sum(1 for b in BOILERPLATE if b in text)
            precision = common / max(sum(found.values()), 1)
            recall = common / max(sum(expected.values()), 1)
            rows.setdefault((name, kind), []).append((precision, recall, seconds, leaks))
    header = (
        f"{'extractor':<12} {'pages':<20} {'n':>3} {'precision':>9} {'recall':>7} {'F1':>6} {'ms/page':>8}"
    )
    print(f"{header} leaks")
    for (name, kind), found_rows in sorted(rows.items(), key=lambda item: (item[0][1], item[0][0])):
        n = len(found_rows)
        p = sum(r[0] for r in found_rows) / n
        r = sum(r[1] for r in found_rows) / n
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        ms = 1000 * sum(row[2] for row in found_rows) / n
        leaks = sum(x[3] for x in found_rows)
        print(f"{name:<12} {kind:<20} {n:>3} {p:>9.3f} {r:>7.3f} {f1:>6.3f} {ms:>8.2f} {leaks}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
