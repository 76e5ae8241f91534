"""Fixtures of the browser tests: Chromium (Debian's package, not Playwright's download) driven by
Playwright for Python, and the service running over real HTTP on 127.0.0.1 on a collection that shows
every part of the page (the seed article, one document of each format, a long document).

The browser is ``CITESEARCH_CHROMIUM``, else a Chromium or Chrome on the PATH, else the one
``playwright install chromium`` downloaded (where that download is reachable). No browser is a failure,
not a skip, so CI cannot pass without running these tests; set ``CITESEARCH_NO_BROWSER=1`` to skip them
on purpose."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import msgspec
import pytest

from bench.page_bench import CHROMIUM_ARGS
from indexer.build import Builder
from indexer.embedding import Embedder
from service.settings import AppSettings
from tests.conftest import REPO, copy_seeds, free_port, make_settings, running_service, service_env, wait_for
from tests.documents import write_collection

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Request

CHROMIUM_ENV = "CITESEARCH_CHROMIUM"
NO_BROWSER_ENV = "CITESEARCH_NO_BROWSER"
ARTIFACTS = REPO / "test-artifacts" / "web"
"""Screenshots the tests take (git-ignored; CI may keep them)."""
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 375, "height": 760}
LONG_NEEDLE = "The lighthouse keeper's log records that the great storm of 1893 destroyed the northern pier."


def chromium_path(downloaded: str) -> str | None:
    """``CITESEARCH_CHROMIUM``, else the first Chromium on the PATH, else Playwright's own download
    (``downloaded``, its expected place) if it is there."""
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        return configured
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return downloaded if Path(downloaded).is_file() else None


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if os.environ.get(NO_BROWSER_ENV) == "1":
        pytest.skip(f"{NO_BROWSER_ENV}=1: the browser tests are skipped on purpose")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        path = chromium_path(playwright.chromium.executable_path)
        if path is None:
            pytest.fail(
                "no Chromium to run the browser tests: apt-get install -y chromium, set "
                f"{CHROMIUM_ENV}=/path/to/chrome, or run `playwright install chromium` "
                f"({NO_BROWSER_ENV}=1 skips them on purpose)"
            )
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Tab:
    """A page in a fresh browser context, with every request it made and every script error."""

    page: Page
    requests: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)

    def left_localhost(self) -> list[str]:
        """Requests to anywhere but 127.0.0.1 (data: and blob: URLs never leave the browser)."""
        return [
            url
            for url in self.requests
            if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).hostname != "127.0.0.1"
        ]

    def screenshot(self, name: str, *, full_page: bool = False) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=path, full_page=full_page)
        return path


def _console(tab: Tab, message: ConsoleMessage) -> None:
    # Chromium logs every 4xx/5xx fetch as "Failed to load resource": the error tests cause those.
    if message.type == "error" and "Failed to load resource" not in message.text:
        tab.script_errors.append(message.text)


@contextlib.contextmanager
def open_tab(browser: Browser, viewport: dict[str, int] = DESKTOP, **options: Any) -> Iterator[Tab]:
    """A page in a new browser context (``options``: more for ``new_context``, e.g. ``color_scheme``)."""
    context = browser.new_context(viewport=viewport, **options)  # type: ignore[arg-type]
    page = context.new_page()
    tab = Tab(page)

    def record(request: Request) -> None:
        tab.requests.append(request.url)

    page.on("request", record)
    page.on("console", lambda message: _console(tab, message))
    page.on("pageerror", lambda error: tab.script_errors.append(str(error)))
    page.set_default_timeout(30_000)
    try:
        yield tab
    finally:
        context.close()
    assert not tab.left_localhost(), tab.left_localhost()
    assert not tab.script_errors, tab.script_errors


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    """A desktop-sized page; fails the test if it requested anything beyond 127.0.0.1 or a script failed."""
    with open_tab(browser) as opened:
        yield opened


def write_long_document(path: Path) -> None:
    """A text of about 120,000 characters (above the page's 100,000 that render in windows), with one
    sentence deep inside that answers a question."""
    topics = ["budget", "staffing", "schedules", "moorings", "dredging", "tariffs", "lighting", "cranes"]
    paragraphs = []
    for n in range(440):
        topic, other = topics[n % len(topics)], topics[(n * 3 + 1) % len(topics)]
        paragraphs.append(
            f"Item {n}. The harbour committee reviewed {topic} and {other} for the coming quarter, heard "
            f"the report of the {other} officer and agreed to return to {topic} at meeting {n + 1}. "
            "No objection was recorded and the minutes of the previous meeting were approved as read."
        )
        if n == 340:
            paragraphs.append(LONG_NEEDLE)
    path.write_text("Minutes of the harbour committee\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")


@pytest.fixture(scope="package")
def web_settings(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> AppSettings:
    """The shipped seeds, one document of each format (apollo/) and a long document, indexed once."""
    root = tmp_path_factory.mktemp("web")
    copy_seeds(root / "seeds")
    write_collection(root / "seeds" / "apollo")
    write_long_document(root / "seeds" / "harbour-minutes.txt")
    settings = make_settings(root)
    report = Builder(settings, lambda: embedder).build()
    assert not report.skipped, report.skipped
    return settings


@pytest.fixture(scope="package")
def site(web_settings: AppSettings) -> Iterator[str]:
    """``python -m service`` on a free port of 127.0.0.1, as a user starts it; its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running_service(service_env(web_settings), port) as proc:
        wait_for(proc, lambda: httpx.get(f"{base}/ready", timeout=1).status_code == 200)
        yield base


def variant(settings: AppSettings, **service: object) -> AppSettings:
    """``settings`` with some ``service`` keys changed."""
    return msgspec.structs.replace(settings, service=msgspec.structs.replace(settings.service, **service))
