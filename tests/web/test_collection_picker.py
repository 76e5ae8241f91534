"""The page's collection picker, in a real browser against a real server with three collections and a
key that may search two of them: the picker lists only those, a search over both shows each result's
collection (readable in both colour schemes), and a citation of the non-default collection opens its
document with the passage marked."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pytest
from playwright.sync_api import Browser, expect

from indexer.embedding import Embedder
from service.app import create_app
from service.settings import AuthSettings, KeySettings
from tests.service.helpers import build_collection, with_collections
from tests.service.server import serve
from tests.web.conftest import open_tab
from tests.web.test_contrast import low_contrast

CORPORA = {
    "default": {"lighthouse.txt": "The old lighthouse guides ships and honey bees through the fog."},
    "papers": {"bees.txt": "Honey bees dance to tell the hive where the flowers and nectar are."},
    "private": {"salary.txt": "Confidential: the beekeepers' salary table, honey bees and hives budget."},
}
TEAM = "team-key-0123456789abcdef"  # default and papers, not private


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    settings = with_collections(tmp_path_factory.mktemp("picker"), reload_poll_seconds=0)
    for name, documents in CORPORA.items():
        build_collection(settings, name, embedder, documents)
    keys = (KeySettings(name="team", key=TEAM, collections={"default": ("search",), "papers": ("search",)}),)
    settings = msgspec.structs.replace(settings, auth=AuthSettings(keys=keys))
    with serve(create_app(settings, embedder=embedder)) as base:
        yield base


def test_picker_searches_chosen_collections_and_opens_their_documents(browser: Browser, site: str) -> None:
    with open_tab(browser) as tab:
        page = tab.page
        page.goto(site + "/")
        page.get_by_test_id("api-key").fill(TEAM)
        page.keyboard.press("Enter")
        picker = page.get_by_role("group", name="Collections to search")
        expect(picker).to_be_visible()
        expect(picker.get_by_test_id("collection")).to_have_count(2)
        expect(picker.get_by_test_id("collection").nth(1)).to_contain_text("The papers documents")
        assert "private" not in picker.inner_text()
        expect(picker.get_by_role("checkbox", name="default")).to_be_checked()
        papers = picker.get_by_role("checkbox", name="papers")
        expect(papers).not_to_be_checked()
        papers.focus()
        page.keyboard.press("Space")  # keyboard accessible
        expect(papers).to_be_checked()

        page.locator("#filters summary").click()
        page.locator("#min-score").fill("0")
        page.get_by_test_id("query").fill("honey bees")
        page.get_by_test_id("query").press("Enter")
        results = page.get_by_test_id("result")
        expect(results).to_have_count(2)
        assert sorted(page.get_by_test_id("result-collection").all_inner_texts()) == ["default", "papers"]
        assert "c=default%2Cpapers" in page.url
        assert "salary" not in page.locator("#results").inner_text()
        tab.screenshot("collections-picker")
        for scheme in ("light", "dark"):  # the picker and the collection tags are readable
            page.emulate_media(color_scheme=scheme)
            assert not low_contrast(page), (scheme, low_contrast(page))

        from_papers = results.filter(has=page.get_by_test_id("result-collection").filter(has_text="papers"))
        from_papers.get_by_test_id("citation").click()
        expect(page.get_by_test_id("cited")).to_have_text(CORPORA["papers"]["bees.txt"])
        assert "/collections/papers/documents/bees.txt?start=" in page.url
        page.reload()  # the address alone opens it again
        expect(page.get_by_test_id("cited")).to_have_text(CORPORA["papers"]["bees.txt"])
        page.go_back()
        expect(page.get_by_role("checkbox", name="papers")).to_be_checked()
