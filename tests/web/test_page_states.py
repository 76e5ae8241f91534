"""The page's states beyond a plain search, in a real browser against real servers: an API key asked
for and kept only in the tab, no index yet (and the page noticing when one is published), and rate
limiting, each said in words."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from playwright.sync_api import Browser, Route, expect

from indexer.build import Builder
from indexer.embedding import Embedder
from service.app import create_app
from service.settings import AppSettings, AuthSettings
from tests.conftest import SEEDS
from tests.e2e.test_seed_question import ANSWER, QUESTION
from tests.service.server import serve
from tests.web.conftest import Tab, open_tab, variant

KEY = "page-test-key-0123456789"


@pytest.fixture(scope="module")
def keyed_site(web_settings: AppSettings, embedder: Embedder) -> Iterator[str]:
    """The service with API keys on (the same index, over real HTTP)."""
    settings = msgspec.structs.replace(web_settings, auth=AuthSettings(api_keys=(KEY,)))
    with serve(create_app(settings, embedder=embedder)) as base:
        yield base


def test_the_page_asks_for_an_api_key_and_keeps_it_only_in_the_tab(browser: Browser, keyed_site: str) -> None:
    with open_tab(browser) as tab:
        page = tab.page
        response = page.goto(keyed_site + "/")
        assert response is not None and response.status == 200  # the page itself needs no key
        dialog = page.get_by_role("dialog")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("An API key is needed")
        expect(page.get_by_test_id("api-key")).to_be_focused()
        tab.screenshot("api-key-prompt")

        page.get_by_test_id("api-key").fill("not-the-key")
        page.keyboard.press("Enter")
        expect(dialog).to_contain_text("That key was not accepted")
        page.get_by_test_id("api-key").fill(KEY)
        page.keyboard.press("Enter")
        expect(dialog).to_be_hidden()
        expect(page.locator("#status")).to_contain_text("documents")

        page.get_by_test_id("query").fill(QUESTION)
        page.get_by_test_id("query").press("Enter")
        expect(page.get_by_test_id("result").first).to_contain_text(ANSWER)
        page.get_by_test_id("citation").first.click()
        expect(page.locator("mark")).to_contain_text(ANSWER)

        assert page.evaluate("sessionStorage.getItem('citesearch.apiKey')") == KEY
        assert page.evaluate("localStorage.length") == 0
        assert page.context.cookies() == []
        page.go_back()
        page.get_by_role("button", name="Forget API key").click()
        assert page.evaluate("sessionStorage.length") == 0

    with open_tab(browser) as tab:  # another tab (another session): asked again
        tab.page.goto(keyed_site + "/")
        expect(tab.page.get_by_role("dialog")).to_be_visible()


def test_no_index_yet_then_the_page_notices_the_first_build(
    browser: Browser, tmp_path: Path, embedder: Embedder, web_settings: AppSettings
) -> None:
    (tmp_path / "seeds").mkdir()
    settings = msgspec.structs.replace(
        variant(web_settings, reload_poll_seconds=0.5),
        seeds_dir=tmp_path / "seeds",
        index_dir=tmp_path / "index",
    )
    with serve(create_app(settings, embedder=embedder)) as base, open_tab(browser) as tab:
        page = tab.page
        page.goto(base + "/")
        expect(page.locator("#status")).to_contain_text("No index is served yet")
        page.get_by_test_id("query").fill(QUESTION)
        page.get_by_test_id("query").press("Enter")
        expect(page.locator("#message [role=alert]")).to_contain_text("No index is served yet")
        expect(page.locator("#message")).to_contain_text("python -m indexer build")
        tab.screenshot("no-index")

        for source in SEEDS.iterdir():
            (tmp_path / "seeds" / source.name).write_bytes(source.read_bytes())
        Builder(settings, lambda: embedder).build()
        expect(page.locator("#status")).to_contain_text("1 document", timeout=30_000)
        expect(page.get_by_test_id("result").first).to_contain_text(ANSWER)  # the search is run again


def test_rate_limited_searches_say_when_to_try_again(
    browser: Browser, web_settings: AppSettings, embedder: Embedder
) -> None:
    settings = variant(web_settings, rate_limit=3, rate_limit_period="minute")
    with serve(create_app(settings, embedder=embedder)) as base, open_tab(browser) as tab:
        page = tab.page
        page.goto(base + "/")  # the page and its files are not counted; /v1/index is
        expect(page.locator("#status")).to_contain_text("documents")
        for question in (QUESTION, "Who walked on the Moon?"):
            page.get_by_test_id("query").fill(question)
            with page.expect_response(lambda r: r.url.endswith("/v1/search")) as answer:
                page.get_by_test_id("query").press("Enter")
            assert answer.value.status == 200
        page.get_by_test_id("query").fill("What sank the ship?")
        page.get_by_test_id("query").press("Enter")
        alert = page.locator("#message [role=alert]")
        expect(alert).to_contain_text("Too many requests")
        expect(alert).to_contain_text("Try again in")
        tab.screenshot("rate-limited")


def test_what_a_person_types_while_the_page_starts_is_kept(tab: Tab, site: str) -> None:
    """The page's start (GET /v1/index, the collections) may end after the person began: their
    question and their choice of mode stay, and the search runs as they asked."""
    page = tab.page
    held: list[Route] = []
    page.route("**/v1/index", lambda route: held.append(route) if not held else route.continue_())
    page.goto(site + "/")
    page.locator("#mode").select_option("lexical")
    page.get_by_test_id("query").fill(QUESTION)
    expect(page.locator("#status")).not_to_contain_text("indexed")
    held[0].continue_()
    expect(page.locator("#status")).to_contain_text("indexed")
    expect(page.get_by_test_id("query")).to_have_value(QUESTION)
    expect(page.locator("#mode")).to_have_value("lexical")
    page.get_by_test_id("query").press("Enter")
    expect(page.get_by_test_id("result").first).to_be_visible()
    assert "mode=lexical" in page.url
