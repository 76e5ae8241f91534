"""The search page with collections other than the default, in a real browser against a real server:
a key that may not search the default collection gets a working page (its header describes the
collection it may search, its searches name it), a key that sees several reads their totals in the
header, and a PDF passage of another collection shows "See it on page N" with the page image from
that collection's own address."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pytest
from playwright.sync_api import Browser, Page, expect

from indexer.build import Builder
from indexer.embedding import Embedder
from service.app import create_app
from service.settings import AuthSettings, KeySettings
from tests.documents import make_pdf
from tests.service.helpers import with_collections
from tests.service.server import serve
from tests.web.conftest import open_tab

TEAM = "team-key-0123456789abcdef"  # default and papers
PAPERS = "papers-key-0123456789abcdef"  # papers only
LIGHTHOUSE = "The old lighthouse guides ships through the fog on the rocky coast."
BEES = [["Honey bees dance to tell the hive where the flowers are."], ["Nectar and pollen feed the colony."]]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    settings = with_collections(
        tmp_path_factory.mktemp("others"), ("default", "papers"), reload_poll_seconds=0
    )
    (settings.collection("default").seeds_dir / "lighthouse.txt").write_text(LIGHTHOUSE, encoding="utf-8")
    (settings.collection("papers").seeds_dir / "bees.pdf").write_bytes(make_pdf(BEES))
    (settings.collection("papers").seeds_dir / "hives.txt").write_text("Hives of bees.", encoding="utf-8")
    for name in ("default", "papers"):
        assert Builder(settings.collection(name), lambda: embedder).build().published
    keys = (
        KeySettings(name="team", key=TEAM, collections={"default": ("search",), "papers": ("search",)}),
        KeySettings(name="papers", key=PAPERS, collections={"papers": ("search",)}),
    )
    settings = msgspec.structs.replace(settings, auth=AuthSettings(keys=keys))
    with serve(create_app(settings, embedder=embedder)) as base:
        yield base


def _enter(page: Page, site: str, key: str) -> None:
    page.goto(site + "/")
    page.get_by_test_id("api-key").fill(key)
    page.keyboard.press("Enter")


def _search(page: Page, query: str) -> None:
    page.locator("#filters summary").click()
    page.locator("#min-score").fill("0")
    page.get_by_test_id("query").fill(query)
    page.get_by_test_id("query").press("Enter")


def test_a_key_without_the_default_collection_searches_its_own(browser: Browser, site: str) -> None:
    with open_tab(browser) as tab:
        page = tab.page
        _enter(page, site, PAPERS)
        expect(page.locator("#status")).to_have_text("2 documents, 2 passages indexed in papers")
        expect(page.get_by_role("group", name="Collections to search")).to_be_hidden()
        with page.expect_request(lambda r: r.url.endswith("/v1/search")) as sent:
            _search(page, "honey bees")
        assert sent.value.post_data_json["collections"] == ["papers"]
        results = page.get_by_test_id("result")
        expect(results.first).to_contain_text("Honey bees")
        assert "lighthouse" not in page.locator("main").inner_text().lower()
        expect(page.locator("#format option")).to_have_text(["Any format", "PDF (1)", "Text (1)"])


def test_the_header_counts_every_collection_the_key_sees(browser: Browser, site: str) -> None:
    with open_tab(browser) as tab:
        page = tab.page
        _enter(page, site, TEAM)
        expect(page.locator("#status")).to_have_text("3 documents, 3 passages indexed in 2 collections")


def test_a_pdf_passage_of_another_collection_shows_its_page(browser: Browser, site: str) -> None:
    with open_tab(browser) as tab:
        page = tab.page
        _enter(page, site, TEAM)
        page.get_by_role("checkbox", name="papers").check()
        page.get_by_role("checkbox", name="default").uncheck()
        _search(page, "honey bees dance")
        first = page.get_by_test_id("result").first
        expect(first).to_contain_text("Honey bees")
        view = first.get_by_test_id("page-view")
        expect(view.locator("summary")).to_contain_text("See it on page 1")
        with page.expect_response(lambda r: "/pages/1?" in r.url) as image:
            view.locator("summary").click()
        assert "/v1/collections/papers/documents/bees.pdf/pages/1?" in image.value.url
        assert image.value.status == 200 and image.value.headers["content-type"] == "image/png"
        shown = view.get_by_test_id("page-image").first
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=shown.element_handle())
        expect(view.get_by_test_id("page-box").first).to_be_visible()
