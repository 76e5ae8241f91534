"""A collection of every format, indexed with the real model and served over real HTTP: exact
citations with pages and sections, the documents' metadata, boilerplate left out, and filters on
/v1/search, /v1/context, the OpenAI and Dify endpoints and MCP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

from indexer.build import Builder
from indexer.embedding import Embedder
from service.app import create_app
from tests.conftest import make_settings
from tests.documents import COMMENT, COOKIE, FOOTER, RELATED, write_collection
from tests.service.server import serve

FORMATS = {
    "apollo.md": "markdown",
    "mission-report.pdf": "pdf",
    "saturn.docx": "docx",
    "news.html": "html",
    "notes.txt": "text",
}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    root = tmp_path_factory.mktemp("formats")
    write_collection(root / "seeds")
    settings = make_settings(root)
    report = Builder(settings, lambda: embedder).build()
    assert report.documents == len(FORMATS) and not report.skipped
    with serve(create_app(settings, embedder=embedder)) as url:
        yield url


def search(base: str, query: str, **body: Any) -> list[dict[str, Any]]:
    response = httpx.post(f"{base}/v1/search", json={"query": query, **body}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["results"]  # type: ignore[no-any-return]


def document(base: str, doc_id: str) -> dict[str, Any]:
    response = httpx.get(f"{base}/v1/documents/{doc_id}", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def check_citation(base: str, result: dict[str, Any]) -> dict[str, Any]:
    """The citation is exact against the document endpoint: text, lines and pages."""
    citation = result["citation"]
    doc = document(base, citation["doc_id"])
    text = doc["text"]
    assert text[citation["char_start"] : citation["char_end"]] == result["text"]
    assert citation["line_start"] == text.count("\n", 0, citation["char_start"]) + 1
    assert citation["line_end"] == text.count("\n", 0, citation["char_end"] - 1) + 1
    assert citation["format"] == doc["format"] == FORMATS[citation["doc_id"]]
    starts = doc["page_starts"]
    if starts is None:
        assert citation["page_start"] is None and citation["page_end"] is None
    else:
        first = max(i for i, s in enumerate(starts) if s <= citation["char_start"]) + 1
        last = max(i for i, s in enumerate(starts) if s <= citation["char_end"] - 1) + 1
        assert (citation["page_start"], citation["page_end"]) == (first, last)
    return doc


@pytest.mark.parametrize(
    ("query", "doc_id", "section", "pages"),
    [
        ("Where did Apollo 11 land?", "apollo.md", "Apollo program > Part 2", None),
        (
            "How did the crew survive using the lunar module as a lifeboat?",
            "mission-report.pdf",
            "Chapter 2: The return",
            2,
        ),
        ("Where did the command module splash down?", "mission-report.pdf", "Chapter 2: The return", 3),
        ("What fuel did the Saturn V stages burn?", "saturn.docx", "Saturn V rocket > Stages", None),
        ("Which engines did the S-II stage have?", "saturn.docx", "Saturn V rocket > Flights", None),
        (
            "Which day is it closed, and do children pay for entry?",
            "news.html",
            "Moon rocks go on display > Visiting",
            None,
        ),
        ("When was Skylab launched?", "notes.txt", None, None),
    ],
)
def test_every_format_is_cited_exactly_with_its_section_and_pages(
    base: str, query: str, doc_id: str, section: str | None, pages: int | None
) -> None:
    results = search(base, query, top_k=3)
    for result in results:
        check_citation(base, result)
    best = results[0]["citation"]
    assert best["doc_id"] == doc_id
    assert best["section"] == section
    if pages is not None:
        assert best["page_start"] <= pages <= best["page_end"]


def test_documents_carry_format_metadata_pages_and_sections(base: str) -> None:
    pdf = document(base, "mission-report.pdf")
    assert pdf["format"] == "pdf" and pdf["title"] == "Apollo 13 mission report"
    assert len(pdf["page_starts"]) == 3 and pdf["page_starts"][0] == 0
    assert pdf["metadata"]["author"] == "Flight Director" and pdf["metadata"]["keywords"] == [
        "apollo",
        "accident",
    ]
    assert (
        "NASA internal" not in pdf["text"] and "Page 2 of 3" not in pdf["text"]
    )  # running header and footer
    assert [s["path"] for s in pdf["sections"]] == ["Mission report", "Chapter 2: The return"]
    markdown = document(base, "apollo.md")
    assert markdown["title"] == "Apollo program" and markdown["date"] == "2024-05-01"
    assert markdown["metadata"]["tags"] == ["apollo", "moon"] and markdown["metadata"]["year"] == 1969
    assert markdown["text"].startswith("---\ntitle: Apollo program")  # the file, front matter included
    assert markdown["page_starts"] is None
    section = markdown["sections"][2]
    assert section["path"] == "Apollo program > Part 2" and markdown["text"][section["start"] :].startswith(
        "## Part 2"
    )
    html = document(base, "news.html")
    for boilerplate in (COOKIE, FOOTER, RELATED, COMMENT, "tracking pixel"):
        assert boilerplate not in html["text"]
    assert html["date"] == "2025-03-04" and html["metadata"]["author"] == "Jane Reporter"
    docx = document(base, "saturn.docx")
    assert docx["title"] == "Saturn V rocket" and "S-II | five J-2" in docx["text"]


def test_front_matter_is_not_searchable_text(base: str) -> None:
    for result in search(base, "NASA History Office author tags draft", top_k=10):
        assert "NASA History Office" not in result["text"]


@pytest.mark.parametrize(
    ("filters", "allowed"),
    [
        ({"type": "eq", "key": "format", "value": "pdf"}, {"mission-report.pdf"}),
        ({"type": "eq", "key": "tags", "value": "apollo"}, {"apollo.md"}),
        ({"type": "gte", "key": "date", "value": "2025-01-01"}, {"news.html"}),
        ({"type": "eq", "key": "section", "value": "Apollo program > Part 2"}, {"apollo.md"}),
        ({"type": "gte", "key": "page_end", "value": 3}, {"mission-report.pdf"}),
        (
            {"type": "in", "key": "author", "value": ["Flight Director", "Marshall Space Flight Center"]},
            {"mission-report.pdf", "saturn.docx"},
        ),
        (
            {
                "type": "and",
                "filters": [
                    {"type": "ne", "key": "format", "value": "html"},
                    {"type": "lt", "key": "year", "value": 2000},
                ],
            },
            {"apollo.md"},
        ),
    ],
)
def test_filters_on_search(base: str, filters: dict[str, Any], allowed: set[str]) -> None:
    results = search(base, "Apollo Moon rocket crew", top_k=20, filters=filters)
    assert results and {r["citation"]["doc_id"] for r in results} <= allowed
    if filters["type"] != "and" and filters.get("key") not in ("section", "page_end"):
        dense = search(base, "Apollo Moon rocket crew", top_k=20, mode="dense", filters=filters)
        everything = search(base, "Apollo Moon rocket crew", top_k=20, mode="dense")
        expected = [r["chunk_id"] for r in everything if r["citation"]["doc_id"] in allowed]
        assert [r["chunk_id"] for r in dense] == expected  # the same ranking, restricted


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"filters": {"type": "eq", "key": "colour", "value": "red"}}, "unknown field 'colour'"),
        ({"filters": {"type": "gt", "key": "date", "value": 2024}}, "expected an ISO date"),
        ({"filters": {"type": "eq", "key": "year", "value": "1969"}}, "expected a number"),
        ({"filters": {"type": "or", "filters": "x"}}, "non-empty list"),
        ({"filters": [1, 2]}, "filters"),
    ],
)
def test_bad_filters_are_422(base: str, body: dict[str, Any], message: str) -> None:
    for path in ("/v1/search", "/v1/context"):
        payload = {"query": "moon", **body} | ({"max_tokens": 200} if path == "/v1/context" else {})
        response = httpx.post(f"{base}{path}", json=payload, timeout=30)
        assert response.status_code == 422, response.text
        assert message in response.json()["detail"]


@pytest.mark.parametrize("number", [b"9" * 401, b"1e400", b"-1e308"])
def test_huge_numbers_in_filters_are_422_not_500(base: str, number: bytes) -> None:
    body = b'{"query": "moon", "filters": {"type": "gt", "key": "year", "value": ' + number + b"}}"
    response = httpx.post(
        f"{base}/v1/search", content=body, headers={"content-type": "application/json"}, timeout=30
    )
    assert response.status_code == 422, response.text


def test_context_filters_and_cites_pages_and_sections(base: str) -> None:
    body = {
        "query": "What happened to Apollo 13?",
        "max_tokens": 400,
        "filters": {"type": "eq", "key": "format", "value": "pdf"},
    }
    response = httpx.post(f"{base}/v1/context", json=body, timeout=60)
    assert response.status_code == 200, response.text
    citations = response.json()["citations"]
    assert citations and {c["doc_id"] for c in citations} == {"mission-report.pdf"}
    text = document(base, "mission-report.pdf")["text"]
    for citation in citations:
        assert text[citation["char_start"] : citation["char_end"]] == citation["text"]
        assert 1 <= citation["page_start"] <= citation["page_end"] <= 3
        assert citation["section"] in ("Mission report", "Chapter 2: The return")


def test_openai_and_dify_filter_the_same_way(base: str) -> None:
    page = httpx.post(
        f"{base}/v1/vector_stores/vs_citesearch/search",
        json={
            "query": "Apollo crew",
            "max_num_results": 20,
            "filters": {"type": "eq", "key": "format", "value": "pdf"},
        },
        timeout=60,
    ).json()
    assert {r["file_id"] for r in page["data"]} == {"mission-report.pdf"}
    attributes = page["data"][0]["attributes"]
    assert attributes["format"] == "pdf" and attributes["page_start"] >= 1 and attributes["section"]
    bad = httpx.post(
        f"{base}/v1/vector_stores/vs_citesearch/search",
        json={"query": "x", "filters": {"type": "eq", "key": "nope", "value": 1}},
        timeout=30,
    )
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "filters"
    condition = {
        "logical_operator": "and",
        "conditions": [
            {"name": ["tags", "keywords"], "comparison_operator": "contains", "value": "APOLL"},
            {"name": "year", "comparison_operator": "<", "value": "2000"},
        ],
    }
    records = httpx.post(
        f"{base}/retrieval",
        json={
            "knowledge_id": "citesearch",
            "query": "Apollo",
            "retrieval_setting": {"top_k": 20},
            "metadata_condition": condition,
        },
        timeout=60,
    ).json()["records"]
    assert records and {r["metadata"]["doc_id"] for r in records} == {"apollo.md"}
    assert all(r["metadata"]["section"].startswith("Apollo program") for r in records)


async def _mcp(url: str) -> tuple[Any, Any, Any]:
    from mcp import Client

    async with Client(url, read_timeout_seconds=60) as client:
        found = await client.call_tool(
            "search", {"query": "rocket stages", "filters": {"type": "eq", "key": "format", "value": "docx"}}
        )
        fetched = await client.call_tool("fetch", {"id": found.structured_content["results"][0]["id"]})  # type: ignore[index]
        bad = await client.call_tool(
            "search", {"query": "x", "filters": {"type": "eq", "key": "nope", "value": 1}}
        )
        return found, fetched, bad


def test_mcp_search_filters_and_fetch_cites_sections(base: str) -> None:
    found, fetched, bad = anyio.run(_mcp, f"{base}/mcp")
    results = found.structured_content["results"]
    assert results and all(r["id"].startswith("saturn.docx#") for r in results)
    metadata = fetched.structured_content["metadata"]
    assert metadata["format"] == "docx" and metadata["section"].startswith("Saturn V rocket")
    assert metadata["author"] == "Marshall Space Flight Center" and metadata["page_start"] is None
    assert bad.is_error and "unknown field 'nope'" in bad.content[0].text


SAMPLES: dict[str, Any] = {"string": "x", "number": 0, "date": "2000-01-01", "boolean": False}


def test_the_index_describes_its_formats_and_the_fields_filters_take(base: str) -> None:
    info = httpx.get(f"{base}/v1/index", timeout=30).json()
    assert info["formats"] == {"docx": 1, "html": 1, "markdown": 1, "pdf": 1, "text": 1}
    assert info["documents"] == len(FORMATS) and info["chunks"] >= len(FORMATS)
    assert info["search"] == {
        "mode": "hybrid",
        "top_k": 5,
        "max_top_k": 100,
        "min_score": 0.2,
        "max_query_chars": 2000,
    }
    fields = {field["key"]: field for field in info["fields"]}
    assert fields["date"] == {
        "key": "date",
        "type": "date",
        "multiple": False,
        "scope": "document",
        "documents": None,
    }
    assert fields["page_start"]["scope"] == "passage" and fields["page_start"]["type"] == "number"
    assert fields["year"] == {
        "key": "year",
        "type": "number",
        "multiple": False,
        "scope": "metadata",
        "documents": 1,
    }
    assert fields["tags"]["multiple"] and fields["draft"]["type"] == "boolean"
    assert fields["author"]["scope"] == "metadata" and fields["author"]["documents"] >= 3
    for key, field in fields.items():  # every field named is one a filter takes, with its type
        filters = {"type": "ne", "key": key, "value": SAMPLES[field["type"]]}
        response = httpx.post(f"{base}/v1/search", json={"query": "Apollo", "filters": filters}, timeout=60)
        assert response.status_code == 200, (key, response.text)
