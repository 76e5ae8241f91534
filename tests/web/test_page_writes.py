"""Adding and managing documents from the page, in a real browser against a real server (the fast
stand-in model): a key that may write uploads a file (chosen, or dropped on the page) and sees its
upload, then queued → indexed, then finds it by searching; a PDF without text shows why it failed; a
name with HTML in it stays text; the list pages and deletes (after a confirmation, by keyboard); a
key that may only search sees none of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
from playwright.sync_api import Browser, Page, expect

from indexer.build import Builder
from service.app import create_app
from service.settings import AppSettings, AuthSettings, KeySettings, WritesSettings
from tests.conftest import make_settings
from tests.documents import make_scanned_pdf
from tests.hash_embedder import HashEmbedder
from tests.service.helpers import build_collection, with_collections
from tests.service.server import serve
from tests.web.conftest import PHONE, Tab, open_tab
from tests.web.test_contrast import low_contrast

WRITER = "page-writer-key-0123456789"
READER = "page-reader-key-0123456789"
NOTES = 30  # more than the page's 25 a page
HOSTILE = "<img src=x onerror=alert(1)><b>bold & <i>odd.txt"
UPLOADED = "The okapi is a forest giraffe of the Ituri rainforest, shy and striped like a zebra."


def page_settings(root: Path) -> AppSettings:
    seeds = root / "seeds"
    seeds.mkdir(parents=True)
    for n in range(NOTES):
        (seeds / f"note-{n:02}.txt").write_text(
            f"Note {n}: the harbour ledger, page {n}.\n", encoding="utf-8"
        )
    auth = AuthSettings(
        keys=(
            KeySettings(name="writer", key=WRITER, collections={"default": ("search", "write")}),
            KeySettings(name="reader", key=READER, collections={"default": ("search",)}),
        )
    )
    settings = make_settings(root, auth=auth, writes=WritesSettings(max_upload_mb=1))
    return msgspec.structs.replace(settings, reading=msgspec.structs.replace(settings.reading, ocr="off"))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = page_settings(tmp_path_factory.mktemp("page-writes"))
    assert Builder(settings, HashEmbedder).build().published
    with serve(create_app(settings, embedder=HashEmbedder())) as base:
        yield base


def sign_in(page: Page, site: str, key: str) -> None:
    page.goto(site + "/")
    page.get_by_test_id("api-key").fill(key)
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_contain_text("indexed")


def open_panel(page: Page) -> None:
    panel = page.get_by_test_id("writes")
    expect(panel).to_be_visible()
    panel.locator("summary").click()
    expect(page.get_by_test_id("document-row").first).to_be_visible()


def test_a_writer_adds_a_file_sees_it_indexed_and_finds_it(browser: Browser, site: str) -> None:
    with open_tab(browser) as tab:
        page = tab.page
        sign_in(page, site, WRITER)
        open_panel(page)
        expect(page.get_by_role("table", name="Documents of default")).to_be_visible()
        page.get_by_label("Add files: choose them, or drop them here").set_input_files(
            {"name": "okapi.txt", "mimeType": "text/plain", "buffer": UPLOADED.encode()}
        )
        upload = page.get_by_test_id("upload").filter(has_text="okapi.txt")
        expect(upload.get_by_test_id("upload-status")).to_contain_text("Indexed: searchable", timeout=30_000)
        expect(upload).to_have_attribute("data-status", "indexed")
        page.get_by_role("button", name="Next page").click()  # the list is by name: note-… come first
        row = page.get_by_test_id("document-row").filter(has_text="okapi.txt")
        expect(row.get_by_test_id("doc-status")).to_have_text("Indexed: searchable")
        expect(page.locator("#status")).to_contain_text(f"{NOTES + 1} documents")
        tab.screenshot("writes-uploaded", full_page=True)
        for scheme in ("light", "dark"):  # the panel is readable in both colour schemes
            page.emulate_media(color_scheme=scheme)
            assert not low_contrast(page), (scheme, low_contrast(page))

        search(tab, "okapi forest giraffe")
        expect(page.get_by_test_id("result").first).to_contain_text("Ituri rainforest")
        expect(page.get_by_test_id("citation").first).to_contain_text("okapi.txt")


def test_a_dropped_file_is_added_and_the_same_file_again_is_unchanged(browser: Browser, site: str) -> None:
    with open_tab(browser) as tab:
        page = tab.page
        sign_in(page, site, WRITER)
        open_panel(page)
        for attempt in ("Indexed: searchable", "Unchanged: this file is indexed already"):
            drop(page, "dropped.txt", "Pangolins are scaly mammals that roll into a ball.")
            latest = page.get_by_test_id("upload").first
            expect(latest.get_by_test_id("upload-name")).to_have_text("dropped.txt")
            expect(latest.get_by_test_id("upload-status")).to_have_text(attempt, timeout=30_000)


def test_a_pdf_without_text_shows_why_it_failed(browser: Browser, site: str) -> None:
    with open_tab(browser) as tab:
        page = tab.page
        sign_in(page, site, WRITER)
        open_panel(page)
        page.get_by_test_id("upload-input").set_input_files(
            {"name": "scan.pdf", "mimeType": "application/pdf", "buffer": make_scanned_pdf()}
        )
        upload = page.get_by_test_id("upload").filter(has_text="scan.pdf")
        expect(upload.get_by_test_id("upload-status")).to_contain_text(
            "Failed: no text layer", timeout=30_000
        )
        page.get_by_label("Status", exact=True).select_option("failed")  # only the failed ones
        expect(page.get_by_test_id("document-row")).to_have_count(1)
        row = page.get_by_test_id("document-row").filter(has_text="scan.pdf")
        expect(row.get_by_test_id("doc-status")).to_contain_text("Failed: no text layer")
        tab.screenshot("writes-failed", full_page=True)

        # refused before it is stored: the service's reason, in words
        page.get_by_test_id("upload-input").set_input_files(
            {"name": "table.xlsx", "mimeType": "application/octet-stream", "buffer": b"PK\x03\x04 not read"}
        )
        refused = page.get_by_test_id("upload").filter(has_text="table.xlsx")
        expect(refused.get_by_test_id("upload-status")).to_contain_text("Not uploaded:")
        expect(refused).to_have_attribute("data-status", "failed")
        assert ".xlsx" in refused.get_by_test_id("upload-status").inner_text()


def test_a_name_with_html_in_it_is_shown_as_text(browser: Browser, site: str) -> None:
    with open_tab(browser) as tab:
        page = tab.page
        alerts: list[str] = []
        page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
        sign_in(page, site, WRITER)
        open_panel(page)
        page.get_by_test_id("upload-input").set_input_files(
            {"name": HOSTILE, "mimeType": "text/plain", "buffer": b"Capybaras are the largest rodents."}
        )
        upload = page.get_by_test_id("upload").first
        expect(upload.get_by_test_id("upload-name")).to_have_text(HOSTILE)
        expect(upload.get_by_test_id("upload-status")).to_contain_text("Indexed", timeout=30_000)
        row = page.get_by_test_id("document-row").filter(has_text="<img src=x")
        expect(row.get_by_test_id("doc-name")).to_have_text(HOSTILE)
        expect(row.get_by_role("link", name=HOSTILE)).to_be_visible()  # indexed: opens the document
        assert page.locator("#writes img, #writes b, #writes i").count() == 0
        row.get_by_role("link", name=HOSTILE).click()
        expect(page.get_by_test_id("document-text")).to_contain_text("Capybaras are the largest rodents.")
        expect(page.locator("#doc-meta")).to_contain_text(HOSTILE)  # its source, as text
        assert page.locator("main img, main b, main i").count() == 0
        assert not alerts, alerts


def test_the_list_pages_and_a_writer_deletes_after_confirming(browser: Browser, site: str) -> None:
    with open_tab(browser) as tab:
        page = tab.page
        sign_in(page, site, WRITER)
        open_panel(page)
        rows = page.get_by_test_id("document-row")
        expect(rows).to_have_count(25)
        first_page = rows.all_inner_texts()
        page.get_by_role("button", name="Next page").click()
        expect(page.get_by_role("button", name="Previous page")).to_be_visible()
        expect(rows.first).not_to_have_text(first_page[0])
        second_page = rows.all_inner_texts()
        assert not set(first_page) & set(second_page)
        page.get_by_role("button", name="Previous page").click()
        expect(rows).to_have_count(25)

        delete = page.get_by_role("button", name="Delete note-03.txt")
        delete.focus()
        page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog", name="Delete this document?")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("note-03.txt")
        expect(page.locator("#delete-cancel")).to_be_focused()
        page.keyboard.press("Escape")  # cancelled: nothing happens
        expect(dialog).to_be_hidden()
        expect(delete).to_be_focused()
        expect(page.locator("tr[data-doc-id='note-03.txt']")).to_have_count(1)

        page.keyboard.press("Enter")
        expect(dialog).to_be_visible()
        page.keyboard.press("Tab")
        expect(page.locator("#delete-confirm")).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.get_by_test_id("doc-action")).to_have_text("note-03.txt was deleted.", timeout=30_000)
        expect(page.locator("tr[data-doc-id='note-03.txt']")).to_have_count(0)
        search(tab, "Note 3 harbour ledger page 3")
        expect(page.get_by_test_id("result").first).to_be_visible()
        assert "Note 3:" not in page.locator("#results").inner_text()


def test_a_key_that_may_only_search_sees_no_write_controls(browser: Browser, site: str) -> None:
    with open_tab(browser) as tab:
        page = tab.page
        sign_in(page, site, READER)
        search(tab, "harbour ledger")
        expect(page.get_by_test_id("result").first).to_be_visible()
        expect(page.get_by_test_id("writes")).to_be_hidden()
        expect(page.get_by_test_id("upload-input")).to_be_hidden()
        assert page.get_by_role("button", name="Delete").count() == 0
        assert not [url for url in tab.requests if "/v1/collections/default/documents" in url]
        assert not [url for url in tab.requests if "writes.js" in url], "a reader downloads no upload code"

    with open_tab(browser) as tab:  # a writer who forgets the key loses the controls at once
        page = tab.page
        sign_in(page, site, WRITER)
        expect(page.get_by_test_id("writes")).to_be_visible()
        page.get_by_role("button", name="Forget API key").click()
        expect(page.get_by_test_id("writes")).to_be_hidden()
        search(tab, "harbour ledger")  # asks for a key again: the writer's brings them back
        page.get_by_test_id("api-key").fill(WRITER)
        page.keyboard.press("Enter")
        expect(page.get_by_test_id("result").first).to_be_visible()
        expect(page.get_by_test_id("writes")).to_be_visible()


def search(tab: Tab, query: str) -> None:
    page = tab.page
    page.locator("#mode").select_option("lexical")
    page.get_by_test_id("query").fill(query)
    page.get_by_test_id("query").press("Enter")


def drop(page: Page, name: str, text: str) -> None:
    """Drop a file on the drop zone, as a file dragged from the desktop."""
    transfer = page.evaluate_handle(
        "([name, text]) => { const t = new DataTransfer(); "
        "t.items.add(new File([text], name, { type: 'text/plain' })); return t; }",
        [name, text],
    )
    page.get_by_test_id("drop-zone").dispatch_event("dragenter", {"dataTransfer": transfer})
    page.get_by_test_id("drop-zone").dispatch_event("drop", {"dataTransfer": transfer})


def test_a_file_over_the_upload_limit_is_refused_with_the_limit(browser: Browser, site: str) -> None:
    with open_tab(browser) as tab:
        page = tab.page
        sign_in(page, site, WRITER)
        open_panel(page)
        big = b"Too long a line of text.\n" * 60_000  # 1.5 MB, over writes.max_upload_mb: 1
        page.get_by_test_id("upload-input").set_input_files(
            {"name": "big.txt", "mimeType": "text/plain", "buffer": big}
        )
        refused = page.get_by_test_id("upload").filter(has_text="big.txt")
        expect(refused).to_have_attribute("data-status", "failed")
        expect(refused.get_by_test_id("upload-status")).to_contain_text("writes.max_upload_mb")


EDITOR = "page-editor-key-0123456789"  # writes to default and papers


@pytest.fixture(scope="module")
def two_collections(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = with_collections(tmp_path_factory.mktemp("page-writes-two"), ("default", "papers"))
    for name in ("default", "papers"):
        build_collection(settings, name, HashEmbedder(), {"seed.txt": f"The {name} seed document."})
    both = {"default": ("search", "write"), "papers": ("search", "write")}
    keys = (KeySettings(name="editor", key=EDITOR, collections=both),)
    settings = msgspec.structs.replace(settings, auth=AuthSettings(keys=keys), writes=WritesSettings())
    with serve(create_app(settings, embedder=HashEmbedder())) as base:
        yield base


def test_a_writer_of_several_collections_chooses_where_a_file_goes(
    browser: Browser, two_collections: str
) -> None:
    with open_tab(browser, PHONE) as tab:  # on a phone's width
        page = tab.page
        sign_in(page, two_collections, EDITOR)
        open_panel(page)
        target = page.get_by_label("Collection", exact=True)
        expect(target).to_have_value("default")
        target.select_option("papers")
        expect(page.get_by_role("table", name="Documents of papers")).to_be_visible()
        page.get_by_test_id("upload-input").set_input_files(
            {"name": "heron.txt", "mimeType": "text/plain", "buffer": b"Grey herons nest in colonies."}
        )
        upload = page.get_by_test_id("upload").filter(has_text="heron.txt")
        expect(upload).to_contain_text("to papers")
        expect(upload.get_by_test_id("upload-status")).to_contain_text("Indexed", timeout=30_000)
        expect(page.get_by_test_id("document-row").filter(has_text="heron.txt")).to_have_count(1)
        tab.screenshot("writes-phone", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scroll
    headers = {"Authorization": f"Bearer {EDITOR}"}
    status = f"{two_collections}/v1/collections/%s/status/heron.txt"
    assert httpx.get(status % "papers", headers=headers).json()["status"] == "indexed"
    assert httpx.get(status % "default", headers=headers).status_code == 404
