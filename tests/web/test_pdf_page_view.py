"""A PDF citation on the page: unfolded, it shows the page as an image (GET
/v1/documents/{doc_id}/pages/{n}) with the passage's rectangles drawn where the citation's boxes say,
and the words matching the query are bold where the service's highlights say."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.web.conftest import Tab

QUERY = "lunar module lifeboat"
TOLERANCE = 2.0
"""Pixels: a drawn rectangle may differ this much from the citation's box scaled to the image."""


def test_a_pdf_citation_shows_its_rectangles_on_the_page_image(tab: Tab, site: str) -> None:
    page = tab.page
    with page.expect_response(lambda r: r.url.endswith("/v1/search")) as answer:
        page.goto(f"{site}/?q=lunar+module+lifeboat&format=pdf")
    body: dict[str, Any] = answer.value.json()
    result = body["results"][0]
    citation = result["citation"]
    assert citation["format"] == "pdf" and citation["boxes"]
    first = page.get_by_test_id("result").first
    strong = [result["text"][start:end] for start, end in result["highlights"]]
    expect(first.get_by_test_id("passage").locator("strong")).to_have_text(strong)

    view = first.get_by_test_id("page-view")
    page_one = min(box["page"] for box in citation["boxes"])
    expect(view.locator("summary")).to_contain_text(f"page {page_one}")
    with page.expect_response(lambda r: f"/pages/{page_one}?" in r.url) as image_answer:
        view.locator("summary").click()
    assert image_answer.value.status == 200 and image_answer.value.headers["content-type"] == "image/png"
    image = view.get_by_test_id("page-image").first
    expect(image).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    drawn = view.get_by_test_id("page-box")
    expect(drawn).to_have_count(len(citation["boxes"]))

    pages = sorted({box["page"] for box in citation["boxes"]})
    figures = view.locator("figure")
    expect(figures).to_have_count(len(pages))
    for index, box in enumerate(citation["boxes"]):
        figure = figures.nth(pages.index(box["page"]))
        shown = figure.get_by_test_id("page-image").bounding_box()
        rectangle = drawn.nth(index).bounding_box()
        assert shown is not None and rectangle is not None
        expected = {
            "x": shown["x"] + box["x0"] * shown["width"],
            "y": shown["y"] + box["y0"] * shown["height"],
            "width": (box["x1"] - box["x0"]) * shown["width"],
            "height": (box["y1"] - box["y0"]) * shown["height"],
        }
        assert all(abs(rectangle[key] - value) <= TOLERANCE for key, value in expected.items()), (
            rectangle,
            expected,
        )
    figures.first.scroll_into_view_if_needed()
    tab.screenshot("pdf-page-view")  # test-artifacts/web/pdf-page-view.png: the outlined passage on its page
