"""A service whose search is open but whose writes need a key (only ``auth.admin_keys``): the page
searches without asking for a key, and its header offers "Use an API key", so that a person with a
key that may write can reach the upload panel; a key that may not write is told so."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from indexer.build import Builder
from service.app import create_app
from service.settings import AuthSettings
from tests.conftest import make_settings
from tests.hash_embedder import HashEmbedder
from tests.service.server import serve
from tests.web.conftest import open_tab
from tests.web.test_page_writes import open_panel

ADMIN = "page-admin-key-0123456789"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("page-key")
    (root / "seeds").mkdir()
    (root / "seeds" / "harbour.txt").write_text("The harbour ledger lists every ship.\n", encoding="utf-8")
    settings = make_settings(root, auth=AuthSettings(admin_keys=(ADMIN,)))
    assert Builder(settings, HashEmbedder).build().published
    with serve(create_app(settings, embedder=HashEmbedder())) as base:
        yield base


def open_search(page: Page, site: str) -> None:
    page.goto(site + "/")
    expect(page.locator("#status")).to_contain_text("indexed")
    expect(page.locator("#key-dialog")).to_be_hidden()  # searching asks for no key
    expect(page.get_by_test_id("writes")).to_be_hidden()


def give_key(page: Page, key: str) -> None:
    page.get_by_role("button", name="Use an API key").click()
    expect(page.get_by_role("heading", name="Use an API key")).to_be_visible()
    expect(page.locator("#key-dialog")).to_contain_text("Searching here needs no key")
    page.get_by_test_id("api-key").fill(key)
    page.keyboard.press("Enter")


def test_a_key_given_from_the_header_shows_the_upload_panel(browser: Browser, site: str) -> None:
    with open_tab(browser) as tab:
        page = tab.page
        open_search(page, site)
        give_key(page, ADMIN)
        open_panel(page)
        expect(page.get_by_test_id("document-row").filter(has_text="harbour.txt")).to_be_visible()
        expect(page.get_by_role("button", name="Use an API key")).to_be_hidden()
        tab.screenshot("key-for-writes", full_page=True)
        page.get_by_role("button", name="Forget API key").click()
        expect(page.get_by_test_id("writes")).to_be_hidden()
        expect(page.get_by_role("button", name="Use an API key")).to_be_visible()


def test_a_key_that_may_not_write_is_told_so(browser: Browser, site: str) -> None:
    with open_tab(browser) as tab:
        page = tab.page
        open_search(page, site)
        give_key(page, "not-a-key-of-this-service")
        expect(page.locator("#status")).to_contain_text("This key may not add documents here")
        expect(page.get_by_test_id("writes")).to_be_hidden()
        expect(page.get_by_role("button", name="Forget API key")).to_be_visible()
