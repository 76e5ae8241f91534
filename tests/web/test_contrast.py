"""Every piece of text the search page shows is readable: its contrast with the background behind it is
at least WCAG's 4.5:1 for normal text (AA), in the light and the dark colour scheme, on the results,
an error, and a document with its passage marked."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_seed_question import ANSWER, QUESTION
from tests.web.conftest import DESKTOP, open_tab

MIN_CONTRAST = 4.5

CONTRASTS = """() => {
  const parse = (css) => {
    const m = css.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return { r, g, b, a };
  };
  const background = (el) => {
    for (let node = el; node; node = node.parentElement) {
      const c = parse(getComputedStyle(node).backgroundColor);
      if (c && c.a > 0) return c;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const luminance = ({ r, g, b }) => {
    const lin = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const found = [];
  for (const el of document.body.querySelectorAll("*")) {
    const own = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
    if (!own || !el.checkVisibility() || el.closest(".visually-hidden, [hidden]")) continue;
    const fg = parse(getComputedStyle(el).color), bg = background(el);
    const [hi, lo] = [luminance(fg), luminance(bg)].sort((x, y) => y - x);
    found.push({
      text: el.textContent.trim().slice(0, 40),
      tag: el.tagName.toLowerCase() + (el.className ? "." + el.className : ""),
      ratio: Math.round(((hi + 0.05) / (lo + 0.05)) * 100) / 100,
    });
  }
  return found;
}"""


def low_contrast(page: Page) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate(CONTRASTS)
    assert found, "no text measured"
    return [item for item in found if item["ratio"] < MIN_CONTRAST]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_all_text_has_enough_contrast(browser: Browser, site: str, scheme: Literal["light", "dark"]) -> None:
    with open_tab(browser, DESKTOP, color_scheme=scheme) as tab:
        page = tab.page
        page.goto(site + "/")
        page.locator("#filters summary").click()  # the filters' labels and hints too
        page.get_by_test_id("query").fill(QUESTION)
        page.get_by_test_id("query").press("Enter")
        expect(page.get_by_test_id("result").first).to_contain_text(ANSWER)
        assert not low_contrast(page), low_contrast(page)

        page.goto(site + "/documents/no-such-document.txt")
        expect(page.locator("#doc-message [role=alert]")).to_contain_text("Not found")
        assert not low_contrast(page), low_contrast(page)

        page.goto(site + f"/?q={QUESTION}")
        page.get_by_test_id("citation").first.click()
        expect(page.locator("mark")).to_contain_text(ANSWER)
        assert not low_contrast(page), low_contrast(page)
        tab.screenshot(f"document-{scheme}")
