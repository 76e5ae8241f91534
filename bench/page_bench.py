"""The search page's weight and rendering speed, measured in Chromium (driven by Playwright) against
the real service on 127.0.0.1. Run from the repository root, under the heavy-job lock:

    flock /tmp/heavy.lock python -m bench.page_bench
    python -m bench.page_bench --runs 50 --long-chars 2000000 --json page.json

It indexes the files of ``--seeds`` (default: the repository's seeds) and a generated long document
of ``--long-chars`` characters (``python -m indexer build``, in ``--workdir``, reused by later runs),
starts ``python -m service`` on a free port and reports:

- the page's own weight: the bytes of its HTML, JavaScript and CSS as served (and gzipped);
- its load: time to DOMContentLoaded, and until it shows what the index holds (``/ready`` and
  ``/v1/index`` answered);
- the first search after a page load, for top_k 5, 20 and 100 (every passage shown: min score 0): the
  time from the API's answer arriving to the results in the DOM (the page's ``citesearch:search-render``
  measure) and to the next frame (``citesearch:search-paint``), median, p95 and max over ``--runs``;
- the document view (answer to passage marked, DOM and next frame), for the seed article and for the
  long document (which renders a window of text around the passage).

Chromium is ``--chromium``, else ``$CITESEARCH_CHROMIUM``, else ``chromium`` on the PATH; nothing is
fetched from beyond 127.0.0.1 (checked: the run fails if the page asks for anything else).
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx

from bench.common import CONFIG, REPO, describe_machine, free_port, machine, warn_unless_locked, write_json

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""How Chromium is launched here and by the browser tests (tests/web): headless, no background traffic."""
QUESTIONS = [
    "What did the Secretary General call the war against Ukraine an example of?",
    "Which ministers met at NATO?",
    "What did Marco Rubio say about NATO spending?",
    "How much security assistance did allies pledge?",
    "Who are NATO's Indo-Pacific partners?",
]
WEIGHT_TARGET = 100_000
"""The page's own load (HTML, JavaScript, CSS) stays under this many bytes."""
RENDER_TARGET_MS = 300
"""A first search's results are on screen within this many ms of the API's answer."""
LONG_NAME = "long-minutes.txt"
LONG_QUESTION = "What destroyed the northern pier?"
NEEDLE = "The lighthouse keeper's log records that the great storm of 1893 destroyed the northern pier."


def write_long_document(path: Path, chars: int) -> None:
    """About ``chars`` characters of minutes with one answering sentence two thirds in."""
    topics = ["budget", "staffing", "schedules", "moorings", "dredging", "tariffs", "lighting", "cranes"]
    paragraphs: list[str] = []
    size = 0
    placed = False
    n = 0
    while size < chars:
        topic, other = topics[n % len(topics)], topics[(n * 3 + 1) % len(topics)]
        paragraph = (
            f"Item {n}. The harbour committee reviewed {topic} and {other} for the coming quarter, heard the "
            f"report of the {other} officer and agreed to return to {topic} at meeting {n + 1}."
        )
        if not placed and size > chars * 2 // 3:
            paragraphs.append(NEEDLE)
            placed = True
        paragraphs.append(paragraph)
        size += len(paragraph) + 2
        n += 1
    text = "Minutes of the harbour committee\n\n" + "\n\n".join(paragraphs) + "\n"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def prepare(workdir: Path, long_chars: int, documents: Path = REPO / "seeds") -> dict[str, str]:
    """The files of ``documents`` (and the long document) in ``workdir``, indexed; the environment to
    serve them with."""
    seeds = workdir / "seeds"
    seeds.mkdir(parents=True, exist_ok=True)
    for source in documents.iterdir():
        shutil.copy2(source, seeds / source.name)
    long_path = seeds / LONG_NAME
    if long_chars > 0:
        write_long_document(long_path, long_chars)
    elif long_path.exists():
        long_path.unlink()
    env = {
        **os.environ,
        "CITESEARCH_CONFIG": str(CONFIG),
        "CITESEARCH__SEEDS_DIR": str(seeds),
        "CITESEARCH__INDEX_DIR": str(workdir / "index"),
        "CITESEARCH__OBSERVABILITY__ACCESS_LOG": "false",
    }
    build = [sys.executable, "-m", "indexer", "build", "--allow-shrink"]
    done = subprocess.run(build, cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the build failed:\n{done.stderr[-3000:]}")
    return env


@contextmanager
def service(env: dict[str, str]) -> Iterator[str]:
    """``python -m service`` on a free port until the block ends; its base URL once it is ready."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "service", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise SystemExit("the service exited before it was ready")
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the service was not ready within 180 s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def page_weight(base: str) -> dict[str, int]:
    """Bytes of the shell, its script and its style sheet as served, and gzipped."""
    shell = httpx.get(f"{base}/", timeout=10).content
    assets = re.findall(r'(?:src|href)="(/static/app/[^"]+\.(?:js|css)\?[^"]*)"', shell.decode())
    bodies = [shell, *(httpx.get(base + url, timeout=10).content for url in assets)]
    return {
        "html": len(shell),
        "js": sum(len(b) for url, b in zip(assets, bodies[1:], strict=True) if ".js?" in url),
        "css": sum(len(b) for url, b in zip(assets, bodies[1:], strict=True) if ".css?" in url),
        "total": sum(len(b) for b in bodies),
        "total_gzip": sum(len(gzip.compress(b, 9)) for b in bodies),
    }


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median": statistics.median(ordered), "p95": p95, "max": ordered[-1], "runs": len(ordered)}


def measures(page: Any, what: str) -> tuple[float, float]:
    """The page's ``citesearch:<what>-render`` and ``-paint`` measures (ms), once both exist."""
    page.wait_for_function(f"() => performance.getEntriesByName('citesearch:{what}-paint').length > 0")
    render, paint = page.evaluate(
        f"""['render', 'paint'].map(step =>
            performance.getEntriesByName('citesearch:{what}-' + step).at(-1).duration)"""
    )
    return float(render), float(paint)


def measure_load(page: Any, base: str, runs: int) -> dict[str, Any]:
    loads, ready = [], []
    for _ in range(runs):
        started = time.perf_counter()
        page.goto(f"{base}/", wait_until="domcontentloaded")
        loads.append(page.evaluate("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"))
        page.wait_for_function("() => document.getElementById('status').textContent.includes('indexed')")
        ready.append((time.perf_counter() - started) * 1000)
    return {"dom_content_loaded_ms": summary(loads), "index_shown_ms": summary(ready)}


def measure_search(page: Any, base: str, runs: int, top_k: int) -> dict[str, Any]:
    """The first search after a page load (the address asks it), ``runs`` times."""
    render, paint = [], []
    shown = 0
    for run in range(runs):
        query = urlencode({"q": QUESTIONS[run % len(QUESTIONS)], "k": top_k, "min": 0})
        page.goto(f"{base}/?{query}")
        page.wait_for_selector("[data-testid=result]")
        shown = page.locator("[data-testid=result]").count()
        r, p = measures(page, "search")
        render.append(r)
        paint.append(p)
    return {"results": shown, "render_ms": summary(render), "paint_ms": summary(paint)}


def measure_document(page: Any, base: str, runs: int, question: str) -> dict[str, Any]:
    """The document view of ``question``'s best passage, opened from its link ``runs`` times."""
    hit = httpx.post(f"{base}/v1/search", json={"query": question, "top_k": 1}, timeout=60).json()["results"][
        0
    ]
    citation = hit["citation"]
    doc = quote(citation["doc_id"])
    url = f"{base}/documents/{doc}?start={citation['char_start']}&end={citation['char_end']}"
    render, paint = [], []
    for _ in range(runs):
        page.goto(url)
        page.wait_for_selector("mark")
        r, p = measures(page, "document")
        render.append(r)
        paint.append(p)
    return {
        "doc_id": citation["doc_id"],
        "chars": len(httpx.get(f"{base}/v1/documents/{doc}", timeout=60).json()["text"]),
        "chars_rendered": len(page.locator("#doc-text").text_content() or ""),
        "render_ms": summary(render),
        "paint_ms": summary(paint),
    }


def measure_page(browser: Any, base: str, runs: int, long_chars: int) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    report: dict[str, Any] = {"load": measure_load(page, base, max(3, runs // 4))}
    for top_k in (5, 20, 100):
        report[f"search_top_k_{top_k}"] = measure_search(page, base, runs, top_k)
    report["document_seed_article"] = measure_document(page, base, runs, QUESTIONS[0])
    if long_chars > 0:
        report["document_long"] = measure_document(page, base, runs, LONG_QUESTION)
    context.close()
    outside = [
        u
        for u in requests
        if urlsplit(u).hostname != "127.0.0.1" and urlsplit(u).scheme not in ("data", "blob")
    ]
    if outside:
        raise SystemExit(f"the page requested something beyond 127.0.0.1: {outside[:5]}")
    report["requests"] = len(requests)
    return report


def chromium(path: str | None) -> str:
    found = path or os.environ.get("CITESEARCH_CHROMIUM") or shutil.which("chromium")
    if not found:
        raise SystemExit("no Chromium: apt-get install -y chromium, or --chromium /path/to/chromium")
    return found


def print_report(report: dict[str, Any]) -> None:
    print(f"machine: {describe_machine()}")
    weight = report["weight"]
    print(
        f"page weight: {weight['total']:,} bytes (HTML {weight['html']:,}, JS {weight['js']:,}, "
        f"CSS {weight['css']:,}); {weight['total_gzip']:,} gzipped"
    )
    load = report["load"]
    print(
        f"load: DOMContentLoaded {load['dom_content_loaded_ms']['median']:.0f} ms, index shown "
        f"{load['index_shown_ms']['median']:.0f} ms (medians)"
    )
    header = f"{'DOM median':>11}{'p95':>8}{'max':>8}{'frame median':>14}{'p95':>8}{'max':>8}"
    print(f"{'ms after the answer':<46}{header}")
    for key, row in report.items():
        if not key.startswith(("search_", "document_")):
            continue
        label = (
            f"{key} ({row['results']} shown)"
            if "results" in row
            else (f"{key} ({row['chars_rendered']:,} of {row['chars']:,} chars)")
        )
        r, p = row["render_ms"], row["paint_ms"]
        print(
            f"{label:<46}{r['median']:>11.1f}{r['p95']:>8.1f}{r['max']:>8.1f}"
            f"{p['median']:>14.1f}{p['p95']:>8.1f}{p['max']:>8.1f}"
        )
    searches = [row for key, row in report.items() if key.startswith("search_")]
    p95 = max(row["paint_ms"]["p95"] for row in searches)
    slowest = max(row["paint_ms"]["max"] for row in searches)
    print(
        f"targets: page under {WEIGHT_TARGET:,} bytes: {'yes' if weight['total'] < WEIGHT_TARGET else 'NO'}; "
        f"first search on screen within {RENDER_TARGET_MS} ms of the answer (p95 of each top_k): "
        f"{'yes' if p95 < RENDER_TARGET_MS else 'NO'} (p95 {p95:.1f} ms, slowest run {slowest:.1f} ms)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20, help="page loads per measurement (default 20)")
    parser.add_argument(
        "--long-chars",
        type=int,
        default=1_000_000,
        help="length of the long document (0: none; default 1,000,000)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "citesearch-page-bench",
        help="seeds and index",
    )
    parser.add_argument(
        "--seeds", type=Path, default=REPO / "seeds", help="documents to index (default: seeds/)"
    )
    parser.add_argument(
        "--chromium", help="the Chromium binary (default: $CITESEARCH_CHROMIUM, else chromium)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    warn_unless_locked()
    from playwright.sync_api import sync_playwright

    env = prepare(args.workdir, args.long_chars, args.seeds)
    with service(env) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(args.chromium), args=CHROMIUM_ARGS)
        report = {"weight": page_weight(base), **measure_page(browser, base, args.runs, args.long_chars)}
        report["chromium"] = browser.version
        browser.close()
    report["machine"] = machine()
    print_report(report)
    if args.json:
        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
