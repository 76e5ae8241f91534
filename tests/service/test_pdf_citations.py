"""PDF citations show where the passage stands: its rectangles on the page (0-1 coordinates,
covering exactly its characters) and the pages' printed labels; other formats have neither."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest
from litestar.testing import TestClient

from indexer.build import Builder
from indexer.config import ChunkingSettings, ReadingSettings
from indexer.reading.readers.pdf import PdfReader
from indexer.reading.readers.pdf_ocr import ocr_installed
from indexer.search import SearchEngine
from service.app import create_app
from service.integrations.mcp.server import PASSAGE_FIELDS, fetch_tool
from service.settings import AppSettings, AuthSettings
from tests.conftest import make_settings
from tests.documents import make_image_pdf, make_pdf
from tests.hash_embedder import HashEmbedder
from tests.indexer.reading.test_pdf_layout import covered, drawn_characters
from tests.service.conftest import KEY

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


def test_a_page_renders_as_png_or_webp_at_the_width_asked_and_is_cached(served: TestClient) -> None:  # type: ignore[type-arg]
    from PIL import Image

    response = served.get("/v1/documents/survey.pdf/pages/2", params={"width": 400})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG" and image.width == 400 and 560 <= image.height <= 570  # A4's proportions
    etag = response.headers["etag"]
    assert (
        served.get(
            "/v1/documents/survey.pdf/pages/2", params={"width": 400}, headers={"If-None-Match": etag}
        ).status_code
        == 304
    )
    webp = served.get("/v1/documents/survey.pdf/pages/2?width=64&format=webp")
    assert webp.headers["content-type"] == "image/webp" and Image.open(io.BytesIO(webp.content)).width == 64


def test_the_page_image_shows_ink_where_the_boxes_are(served: TestClient) -> None:  # type: ignore[type-arg]
    from PIL import Image

    found = [r for r in results(served, "crater floor") if r["citation"]["doc_id"] == "survey.pdf"]
    box = found[0]["citation"]["boxes"][0]
    response = served.get(f"/v1/documents/survey.pdf/pages/{box['page']}", params={"width": 1000})
    image = Image.open(io.BytesIO(response.content)).convert("L")
    inside = image.crop(
        (
            int(box["x0"] * image.width),
            int(box["y0"] * image.height),
            int(box["x1"] * image.width),
            int(box["y1"] * image.height),
        )
    )
    below = image.crop(
        (
            int(box["x0"] * image.width),
            int((box["y1"] + 0.3) * image.height),
            int(box["x1"] * image.width),
            int((box["y1"] + 0.32) * image.height),
        )
    )
    assert inside.getextrema()[0] < 100  # text drawn inside the box
    assert below.getextrema()[0] > 200  # blank paper far below it


@pytest.mark.parametrize(
    ("path", "status", "detail"),
    [
        ("/v1/documents/survey.pdf/pages/5", 404, "no page 5"),
        ("/v1/documents/survey.pdf/pages/0", 404, "no page 0"),
        ("/v1/documents/nothing.pdf/pages/1", 404, "no document"),
        ("/v1/documents/notes.txt/pages/1", 404, "only PDF"),
        ("/v1/documents/survey.pdf/pages/1?width=63", 422, "width"),
        ("/v1/documents/survey.pdf/pages/1?width=2001", 422, "width"),
        ("/v1/documents/survey.pdf/pages/1?width=1e9", 422, "width"),
        ("/v1/documents/survey.pdf/pages/1?format=gif", 422, "format"),
        ("/v1/documents/survey.pdf/pages/1?width=100&width=200", 422, "twice"),
        ("/v1/documents/survey.pdf/pages/99999999999999", 404, "no document"),
    ],
)
def test_bad_page_requests_are_4xx_with_the_reason(
    served: TestClient,  # type: ignore[type-arg]
    path: str,
    status: int,
    detail: str,
) -> None:
    response = served.get(path)
    assert response.status_code == status, response.text
    assert detail in response.json()["detail"]


def test_a_pdf_changed_since_it_was_indexed_is_not_rendered(tmp_path: Path, pdf_bytes: bytes) -> None:
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "survey.pdf").write_bytes(pdf_bytes)
    settings = make_settings(tmp_path)
    Builder(settings, HashEmbedder).build()
    (tmp_path / "seeds" / "survey.pdf").write_bytes(make_pdf([["Another text entirely."]]))
    with TestClient(app=create_app(settings, embedder=HashEmbedder())) as client:
        response = client.get("/v1/documents/survey.pdf/pages/1")
        assert response.status_code == 404 and "changed" in response.json()["detail"]


def test_page_images_need_the_key_like_the_document(tmp_path: Path, pdf_bytes: bytes) -> None:
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "survey.pdf").write_bytes(pdf_bytes)
    settings = msgspec.structs.replace(make_settings(tmp_path), auth=AuthSettings(api_keys=(KEY,)))
    Builder(settings, HashEmbedder).build()
    with TestClient(app=create_app(settings, embedder=HashEmbedder())) as client:
        assert client.get("/v1/documents/survey.pdf/pages/1").status_code == 401
        keyed = client.get("/v1/documents/survey.pdf/pages/1", headers={"Authorization": f"Bearer {KEY}"})
        assert keyed.status_code == 200 and keyed.headers["content-type"] == "image/png"


def test_the_schema_documents_the_page_operation(served: TestClient) -> None:  # type: ignore[type-arg]
    operation = served.get("/schema/openapi.json").json()["paths"]["/v1/documents/{doc_id}/pages/{page}"][
        "get"
    ]
    assert operation["operationId"] == "getPageImage"
    params = {p["name"]: p for p in operation["parameters"]}
    assert params["width"]["schema"]["maximum"] == 2000 and params["width"]["schema"]["minimum"] == 64
    assert "image/png" in operation["responses"]["200"]["content"]


@pytest.mark.skipif(not ocr_installed(), reason="the ocr extra is not installed")
def test_a_scanned_pdf_answers_with_exact_citations_into_its_ocr_text(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    scan = [["Dust storms slowed the rovers twice.", "The crater floor took six days to cross."]]
    (tmp_path / "seeds" / "scan.pdf").write_bytes(make_image_pdf(scan))
    settings = make_settings(tmp_path)
    report = Builder(settings, HashEmbedder).build()
    assert report.published and not report.skipped
    with TestClient(app=create_app(settings, embedder=HashEmbedder())) as client:
        (result,) = results(client, "dust storms crater floor", mode="lexical")
        citation = result["citation"]
        text = client.get("/v1/documents/scan.pdf").json()["text"]
        assert text[citation["char_start"] : citation["char_end"]] == result["text"]
        assert "Dust storms slowed the rovers twice." in result["text"]
        assert [box["page"] for box in citation["boxes"]] == [1, 1]  # one box per line
        first = citation["boxes"][0]
        assert 0.1 < first["x0"] < 0.15 and 0.05 < first["y0"] < first["y1"] < 0.15  # where the line is drawn
        assert client.get("/v1/documents/scan.pdf/pages/1", params={"width": 200}).status_code == 200


REPORT = [
    [
        f"Rover {n} crossed the crater floor and logged dust, ice and rock samples on day {n}."
        for n in range(p, p + 9)
    ]
    for p in (1, 10, 19)
]


QUESTION = "rover crater floor dust ice rock samples day"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, bytes, AppSettings]]:  # type: ignore[type-arg]
    """A three-page PDF cut into many small chunks, so a context merges several of them."""
    root = tmp_path_factory.mktemp("pdfcontext")
    (root / "seeds").mkdir()
    data = make_pdf(REPORT, labels=[(0, "ROMAN_UPPER", 1, "")])
    (root / "seeds" / "report.pdf").write_bytes(data)
    settings = make_settings(root, chunking=ChunkingSettings(max_tokens=40, overlap_tokens=10))
    assert Builder(settings, HashEmbedder).build().published
    with TestClient(app=create_app(settings, embedder=HashEmbedder())) as client:
        yield client, data, settings


def context_citations(
    client: TestClient, max_tokens: int, query: str = QUESTION, top_k: int = 8
) -> list[dict[str, Any]]:  # type: ignore[type-arg]
    body = {"query": query, "max_tokens": max_tokens, "top_k": top_k, "mode": "lexical", "min_score": 0}
    response = client.post("/v1/context", json=body)
    assert response.status_code == 200, response.text
    return response.json()["citations"]  # type: ignore[no-any-return]


def assert_boxed_exactly(citation: dict[str, Any], data: bytes, text: str) -> None:
    """The citation's boxes are those of exactly its characters, as the reader's character boxes give
    them, and cover those characters on the page (PDFium's own boxes) and no others."""
    extracted = PdfReader().read(data, Path("report.pdf"), ReadingSettings())
    assert extracted.text == text and extracted.char_boxes is not None
    boxes = [(b["page"], b["x0"], b["y0"], b["x1"], b["y1"]) for b in citation["boxes"]]
    expected = extracted.char_boxes.boxes(citation["char_start"], citation["char_end"])
    assert len(boxes) == len(expected)
    for got, want in zip(boxes, expected, strict=True):
        assert got[0] == want[0] and got[1:] == pytest.approx(want[1:], abs=1.5e-4)
    assert covered(boxes, drawn_characters(data)) == re.sub(r"\s", "", citation["text"])
    labels = ["I", "II", "III"]
    assert citation["page_label_start"] == labels[citation["page_start"] - 1]
    assert citation["page_label_end"] == labels[citation["page_end"] - 1]


def test_context_citations_of_merged_chunks_carry_the_boxes_of_exactly_their_characters(
    report: tuple[TestClient, bytes, AppSettings],  # type: ignore[type-arg]
) -> None:
    client, data, _ = report
    text = client.get("/v1/documents/report.pdf").json()["text"]
    citations = context_citations(client, 100_000) + context_citations(
        client, 100_000, "day 12 day 13 day 14", 5
    )
    merged = [c for c in citations if len(c["chunk_ids"]) > 1]
    assert len(merged) >= 3, "expected chunks merged into passages"
    assert any(c["page_start"] != c["page_end"] for c in merged), "expected a passage over a page break"
    assert any(c["char_start"] > 0 for c in merged) and all(c["char_end"] < len(text) for c in merged)
    for citation in citations:
        assert text[citation["char_start"] : citation["char_end"]] == citation["text"]
        assert_boxed_exactly(citation, data, text)


def test_a_truncated_context_passage_is_boxed_up_to_its_cut(
    report: tuple[TestClient, bytes, AppSettings],  # type: ignore[type-arg]
) -> None:
    client, data, _ = report
    text = client.get("/v1/documents/report.pdf").json()["text"]
    (citation,) = context_citations(client, 45)
    assert citation["truncated"]
    assert text[citation["char_end"] :].split("\n")[0].strip(), "cut within a line"
    assert_boxed_exactly(citation, data, text)


def test_context_citations_of_other_formats_have_no_boxes(served: TestClient) -> None:  # type: ignore[type-arg]
    response = served.post(
        "/v1/context", json={"query": "rover notes dusty", "max_tokens": 2000, "min_score": 0}
    )
    notes = [c for c in response.json()["citations"] if c["doc_id"] == "notes.txt"]
    assert notes and notes[0]["boxes"] == [] and notes[0]["page_label_start"] is None


def test_mcp_fetch_gives_a_passage_the_fields_of_its_citation_with_page_labels(
    report: tuple[TestClient, bytes, AppSettings],  # type: ignore[type-arg]
) -> None:
    client, _, settings = report
    (hit,) = [
        r for r in results(client, "day 12 day 13 day 14", mode="lexical") if r["chunk_id"] == "report.pdf#6"
    ]
    engine = SearchEngine(settings, HashEmbedder())
    searcher = engine.open_current()
    try:
        fetched = anyio.run(fetch_tool, settings, lambda: contextlib.nullcontext(searcher), "report.pdf#6")
    finally:
        searcher.snapshot.close()
        engine.close()
    metadata = fetched["metadata"]
    assert metadata["chunk_id"] == "report.pdf#6" and metadata["page_label_start"] == "II"
    assert {name: metadata[name] for name in PASSAGE_FIELDS} == {
        name: hit["citation"][name] for name in PASSAGE_FIELDS
    }
    assert fetched["url"].endswith(hit["citation"]["url"])


def test_a_rebuild_that_reuses_the_pdf_keeps_its_context_boxes(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    data = make_pdf(REPORT)
    (tmp_path / "seeds" / "report.pdf").write_bytes(data)
    settings = make_settings(tmp_path, chunking=ChunkingSettings(max_tokens=40, overlap_tokens=10))
    Builder(settings, HashEmbedder).build()
    (tmp_path / "seeds" / "notes.txt").write_text("Rover notes.\n", encoding="utf-8")
    assert Builder(settings, HashEmbedder).build().reused_documents == 1
    with TestClient(app=create_app(settings, embedder=HashEmbedder())) as client:
        citations = [c for c in context_citations(client, 100_000) if c["doc_id"] == "report.pdf"]
        assert citations
        for citation in citations:
            assert citation["boxes"]
            boxes = [(b["page"], b["x0"], b["y0"], b["x1"], b["y1"]) for b in citation["boxes"]]
            assert covered(boxes, drawn_characters(data)) == re.sub(r"\s", "", citation["text"])
