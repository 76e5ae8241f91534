"""The search page in a real browser (Chromium via Playwright) against ``python -m service``: a person
asks a question, reads the ranked passages, opens a citation and sees the passage marked in its
document, with the mouse, with the keyboard only, and on a 375 px wide screen. Every test also checks
(in the ``tab`` fixture) that the page requested nothing beyond 127.0.0.1 and no script failed."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_seed_question import ANSWER, QUESTION
from tests.web.conftest import LONG_NEEDLE, PHONE, Tab, open_tab

SEED_DOC = "000_9d8dce6cf410ff07.txt"
DASH = "\u2013"  # the page writes ranges with an en dash: lines 11-13


def ask(page: Page, question: str) -> dict[str, Any]:
    """Type ``question``, press Enter; the API's answer, once the page shows its results."""
    page.get_by_test_id("query").fill(question)
    with page.expect_response(lambda r: r.url.endswith("/v1/search")) as answer:
        page.get_by_test_id("query").press("Enter")
    body: dict[str, Any] = answer.value.json()
    expect(page.get_by_test_id("result")).to_have_count(len(body["results"]))
    return body


def document(site: str, doc_id: str) -> dict[str, Any]:
    response = httpx.get(f"{site}/v1/documents/{doc_id}", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_a_question_about_the_seed_article_opens_its_answer_marked_in_the_source(tab: Tab, site: str) -> None:
    page = tab.page
    response = page.goto(site + "/")
    assert response is not None and response.status == 200
    assert "default-src 'none'" in response.headers["content-security-policy"]
    expect(page.locator("#status")).to_contain_text("documents")
    expect(page.get_by_test_id("query")).to_be_focused()
    tab.screenshot("home-desktop")

    answer = ask(page, QUESTION)
    first = page.get_by_test_id("result").first
    passage = answer["results"][0]["text"]
    assert ANSWER in passage
    expect(first.get_by_test_id("passage")).to_have_text(passage)
    expect(first.locator("strong", has_text="Ukraine").first).to_be_visible()  # query terms emphasised
    expect(first).to_contain_text("2025-04-04")
    expect(first.get_by_test_id("score")).to_have_text(f"score {answer['results'][0]['score']:.2f}")
    expect(page).to_have_url(re.compile(r"/\?q=What\+did\+the\+Secretary"))  # a link to this search
    tab.screenshot("results-desktop", full_page=True)

    first.get_by_test_id("citation").click()
    citation = answer["results"][0]["citation"]
    expect(page).to_have_url(
        f"{site}/documents/{SEED_DOC}?start={citation['char_start']}&end={citation['char_end']}"
    )
    mark = page.locator("mark")
    expect(mark).to_have_count(1)
    expect(mark).to_have_text(passage, use_inner_text=False)
    assert mark.text_content() == passage  # exactly the passage, nothing trimmed or added
    expect(mark).to_be_in_viewport()
    assert page.get_by_test_id("document-text").text_content() == document(site, SEED_DOC)["text"]
    expect(page.locator("#doc-meta")).to_contain_text(f"lines 11{DASH}13")
    tab.screenshot("document-desktop")

    page.go_back()  # the results again, without asking the service again
    expect(page.get_by_test_id("result").first.get_by_test_id("passage")).to_have_text(passage)
    assert sum(url.endswith("/v1/search") for url in tab.requests) == 1


def test_a_document_link_can_be_opened_directly(tab: Tab, site: str) -> None:
    page = tab.page
    text = document(site, SEED_DOC)["text"]
    start = text.index(ANSWER)
    page.goto(f"{site}/documents/{SEED_DOC}?start={start}&end={start + len(ANSWER)}")
    expect(page.locator("mark")).to_have_text(ANSWER)
    expect(page.locator("mark")).to_be_in_viewport()
    page.locator("#back").click()
    expect(page).to_have_url(f"{site}/")
    expect(page.get_by_test_id("query")).to_be_visible()


def test_on_a_375_px_wide_screen(browser: Browser, site: str) -> None:
    with open_tab(browser, PHONE) as tab:
        page = tab.page
        page.goto(site + "/")
        expect(page.locator("#status")).to_contain_text("documents")
        tab.screenshot("home-375px")
        answer = ask(page, QUESTION)
        assert ANSWER in answer["results"][0]["text"]
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scroll
        tab.screenshot("results-375px", full_page=True)
        page.get_by_test_id("citation").first.click()
        expect(page.locator("mark")).to_have_text(answer["results"][0]["text"])
        expect(page.locator("mark")).to_be_in_viewport()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        tab.screenshot("document-375px")


def test_keyboard_only(tab: Tab, site: str) -> None:
    """Type, Enter, Tab to the first citation (focus visible), Enter opens it, Escape comes back."""
    page = tab.page
    page.goto(site + "/")
    expect(page.locator("#status")).to_contain_text("documents")
    expect(page.get_by_test_id("query")).to_be_focused()  # the search box has the focus when the page opens
    page.keyboard.type(QUESTION)
    with page.expect_response(lambda r: r.url.endswith("/v1/search")):
        page.keyboard.press("Enter")
    expect(page.get_by_test_id("result").first).to_contain_text(ANSWER)
    first_citation = page.get_by_test_id("citation").first
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.testid") == "citation":
            break
    expect(first_citation).to_be_focused()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), "the focused link shows no focus"
    tab.screenshot("keyboard-focus")

    page.keyboard.press("Enter")
    mark = page.locator("mark")
    expect(mark).to_contain_text(ANSWER)
    expect(mark).to_be_in_viewport()
    expect(mark).to_be_focused()  # read out by screen readers
    page.keyboard.press("Escape")
    expect(first_citation).to_be_focused()  # back where the reader left

    page.get_by_test_id("query").focus()
    page.keyboard.press("ArrowDown")  # a shortcut from the search box to the results
    expect(first_citation).to_be_focused()


def test_pdf_passages_show_their_page_and_filters_narrow_the_search(tab: Tab, site: str) -> None:
    page = tab.page
    page.goto(site + "/")
    expect(page.locator("#status")).to_contain_text("documents")
    page.locator("#filters summary").click()
    page.get_by_label("Format").select_option("pdf")
    answer = ask(page, "How did the Apollo 13 crew survive?")
    assert answer["results"] and {r["citation"]["format"] for r in answer["results"]} == {"pdf"}
    first = answer["results"][0]
    pages = first["citation"]["page_start"], first["citation"]["page_end"]
    shown = f"page {pages[0]}" if pages[0] == pages[1] else f"pages {pages[0]}{DASH}{pages[1]}"
    expect(page.get_by_test_id("result").first).to_contain_text(shown)

    page.get_by_test_id("citation").first.click()
    expect(page.locator("mark")).to_have_text(first["text"])
    badge = f"p. {pages[0]}" if pages[0] == pages[1] else f"pp. {pages[0]}{DASH}{pages[1]}"
    expect(page.get_by_test_id("mark-page")).to_have_text(badge)  # the page, beside the passage
    expect(page.locator(".page-label", has_text="Page 1")).to_be_visible()
    tab.screenshot("document-pdf")


def test_lines_of_an_extracted_format_say_they_count_the_extracted_text(tab: Tab, site: str) -> None:
    """HTML, Word and PDF passages are cited in the text extracted from the file (what
    /v1/documents serves), whose lines are not the file's: the page says so; a text file's are."""
    page = tab.page
    page.goto(site + "/")
    expect(page.locator("#status")).to_contain_text("documents")
    page.locator("#filters summary").click()
    page.get_by_label("Format").select_option("html")
    answer = ask(page, "When is the Moon rocks exhibition open?")
    citation = answer["results"][0]["citation"]
    assert citation["format"] == "html" and citation["page_start"] is None
    lines = f"{citation['line_start']}" + (
        "" if citation["line_start"] == citation["line_end"] else f"{DASH}{citation['line_end']}"
    )
    link = page.get_by_test_id("citation").first
    shown = rf"^Show in {re.escape(citation['source'])}, lines? {lines} of the extracted text$"
    expect(link).to_have_text(re.compile(shown))
    link.click()
    expect(page.locator("#doc-meta")).to_contain_text(f"{lines}, characters ")
    expect(page.locator("#doc-meta")).to_contain_text(" of the extracted text")

    page.goto(site + "/")
    answer = ask(page, QUESTION)  # the seed article, a text file: its lines are the file's
    assert answer["results"][0]["citation"]["format"] == "text"
    expect(page.get_by_test_id("citation").first).not_to_contain_text("extracted")


def test_date_and_metadata_filters(tab: Tab, site: str) -> None:
    page = tab.page
    page.goto(site + "/")
    expect(page.locator("#status")).to_contain_text("documents")
    page.locator("#filters summary").click()
    page.get_by_label("Dated from").fill("2025-01-01")
    answer = ask(page, "NATO allies")
    assert answer["results"] and all(r["citation"]["date"] >= "2025-01-01" for r in answer["results"])
    page.get_by_label("Dated from").fill("")

    page.get_by_label("Metadata field").select_option("year")
    page.get_by_label("Comparison").select_option("gte")
    page.get_by_label("Value").fill("1969")
    with page.expect_request(lambda r: r.url.endswith("/v1/search")) as sent:
        answer = ask(page, "Apollo landing on the Moon")
    assert sent.value.post_data_json["filters"] == {"type": "gte", "key": "year", "value": 1969}
    assert {r["citation"]["doc_id"] for r in answer["results"]} == {"apollo/apollo.md"}
    expect(page.locator("#filter-count")).to_have_text("(1 on)")


def test_a_long_document_renders_a_window_around_the_passage(tab: Tab, site: str) -> None:
    page = tab.page
    page.goto(site + "/")
    answer = ask(page, "What destroyed the northern pier?")
    first = answer["results"][0]
    assert first["citation"]["doc_id"] == "harbour-minutes.txt" and LONG_NEEDLE in first["text"]
    page.get_by_test_id("citation").first.click()
    mark = page.locator("mark")
    expect(mark).to_have_text(first["text"])
    expect(mark).to_be_in_viewport()
    full = len(document(site, "harbour-minutes.txt")["text"])
    shown = len(page.get_by_test_id("document-text").text_content() or "")
    assert shown < full / 2, (shown, full)
    expect(page.locator("#doc-message")).to_contain_text("A long document")
    earlier = page.locator("#show-earlier")
    expect(earlier).to_be_visible()
    earlier.click()
    # The earlier text is rendered after the click returns: wait for it rather than read at once.
    page.wait_for_function(
        "n => document.querySelector('[data-testid=document-text]').textContent.length > n", arg=shown
    )
    expect(mark).to_have_text(first["text"])


def test_nothing_relevant_is_said_in_words(tab: Tab, site: str) -> None:
    page = tab.page
    page.goto(site + "/")
    expect(page.locator("#status")).to_contain_text("documents")
    page.get_by_test_id("query").fill("recipe for vegan chocolate brownies")
    page.get_by_test_id("query").press("Enter")
    expect(page.locator("#message")).to_contain_text("Nothing relevant found")
    expect(page.locator("#message")).to_contain_text("minimum score")
    expect(page.get_by_test_id("result")).to_have_count(0)


def test_errors_of_the_api_are_said_in_words(tab: Tab, site: str) -> None:
    page = tab.page
    page.goto(site + "/?q=moon&k=500")  # a hand-edited address: top_k over the service's limit
    expect(page.locator("#message [role=alert]")).to_contain_text("could not run this request")
    expect(page.locator("#message")).to_contain_text("top_k")
    page.goto(site + "/documents/no/such-document.txt?start=0&end=5")
    expect(page.locator("#doc-message [role=alert]")).to_contain_text("Not found")
    expect(page.locator("#doc-message")).to_contain_text("no/such-document.txt")
    tab.screenshot("error-404")


def test_the_api_docs_work_offline(tab: Tab, site: str) -> None:
    page = tab.page
    page.goto(site + "/schema/swagger")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("citesearch")
    expect(page.locator(".opblock-summary-path", has_text="/v1/search").first).to_be_visible()
    assert any("/static/swagger-ui/" in url for url in tab.requests)
    tab.screenshot("api-docs")
