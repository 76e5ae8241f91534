"""PDF citations show where the passage stands: its rectangles on the page (0-1 coordinates,
covering exactly its characters) and the pages' printed labels; other formats have neither."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from indexer.build import Builder
from service.app import create_app
from service.settings import AppSettings
from tests.conftest import make_settings
from tests.documents import make_pdf
from tests.hash_embedder import HashEmbedder
from tests.indexer.reading.test_pdf_layout import covered, drawn_characters

PAGES = [
    ["Foreword by the survey's chief scientist.", "Thanks to every crew member."],
    ["The rovers crossed the crater floor in six days.", "Dust storms slowed them twice."],
    ["Ice deposits were mapped near the southern rim.", "Samples were sealed for the return."],
    ["Appendix: instrument calibration tables."],
]
LABELS = [(0, "ROMAN_LOWER", 1, ""), (1, "ARABIC", 1, ""), (3, "ARABIC", 1, "A-")]


@pytest.fixture(scope="module")
def pdf_bytes() -> bytes:
    return make_pdf(PAGES, header="Lunar survey report", page_numbers=True, labels=LABELS)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, pdf_bytes: bytes) -> Iterator[TestClient]:  # type: ignore[type-arg]
    root = tmp_path_factory.mktemp("pdfcite")
    (root / "seeds").mkdir()
    (root / "seeds" / "survey.pdf").write_bytes(pdf_bytes)
    (root / "seeds" / "notes.txt").write_text("Rover notes: the crater floor was dusty.\n", encoding="utf-8")
    settings: AppSettings = make_settings(root)
    assert Builder(settings, HashEmbedder).build().published
    with TestClient(app=create_app(settings, embedder=HashEmbedder())) as client:
        yield client


def results(client: TestClient, query: str, **body: Any) -> list[dict[str, Any]]:  # type: ignore[type-arg]
    response = client.post("/v1/search", json={"query": query, "top_k": 10, **body})
    assert response.status_code == 200, response.text
    return response.json()["results"]  # type: ignore[no-any-return]


def test_pdf_citations_carry_boxes_over_exactly_their_characters_and_page_labels(
    served: TestClient,  # type: ignore[type-arg]
    pdf_bytes: bytes,
) -> None:
    drawn = drawn_characters(pdf_bytes)
    text = served.get("/v1/documents/survey.pdf").json()["text"]
    found = [r for r in results(served, "crater floor ice deposits rim") if r["citation"]["format"] == "pdf"]
    assert found
    labels = ["i", "1", "2", "A-1"]
    for result in found:
        citation = result["citation"]
        assert text[citation["char_start"] : citation["char_end"]] == result["text"]
        boxes = [(b["page"], b["x0"], b["y0"], b["x1"], b["y1"]) for b in citation["boxes"]]
        assert boxes and covered(boxes, drawn) == re.sub(r"\s", "", result["text"])
        assert {b[0] for b in boxes} <= set(range(citation["page_start"], citation["page_end"] + 1))
        assert citation["page_label_start"] == labels[citation["page_start"] - 1]
        assert citation["page_label_end"] == labels[citation["page_end"] - 1]


def test_other_formats_have_no_boxes_and_no_labels(served: TestClient) -> None:  # type: ignore[type-arg]
    notes = [r for r in results(served, "rover notes dusty") if r["citation"]["doc_id"] == "notes.txt"]
    assert notes
    citation = notes[0]["citation"]
    assert (
        citation["boxes"] == []
        and citation["page_label_start"] is None
        and citation["page_label_end"] is None
    )


def test_the_schema_documents_boxes_and_labels(served: TestClient) -> None:  # type: ignore[type-arg]
    schemas = served.get("/schema/openapi.json").json()["components"]["schemas"]
    citation = schemas["Citation"]["properties"]
    assert {"boxes", "page_label_start", "page_label_end"} <= citation.keys()
    assert "top (0)" in schemas["PageBox"]["properties"]["y0"]["description"]


def test_results_carry_highlights_of_the_query_terms_as_the_keyword_index_stems_them(
    served: TestClient,  # type: ignore[type-arg]
) -> None:
    found = results(served, "Rovers crossing the dusty CRATERS", mode="lexical")
    assert found
    for result in found:
        words = [result["text"][start:end].lower() for start, end in result["highlights"]]
        assert words and set(words) <= {"rovers", "rover", "crossed", "dusty", "crater", "craters"}
        assert "the" not in words  # a stopword is never a match
        starts = [start for start, _ in result["highlights"]]
        assert starts == sorted(starts)
    survey = next(r for r in found if r["citation"]["doc_id"] == "survey.pdf")
    assert [survey["text"][s:e] for s, e in survey["highlights"]][:3] == ["rovers", "crossed", "crater"]
