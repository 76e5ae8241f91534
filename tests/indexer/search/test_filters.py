"""Filters: parsed once against the snapshot's fields, applied inside retrieval (FAISS ID selection or
an exact search over the allowed rows, and a BM25 mask), so a selective filter still fills top_k."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from indexer.build import Builder
from indexer.config import IndexSettings, IvfSettings, Settings
from indexer.errors import InvalidFilterError
from indexer.search import SearchEngine, Searcher
from indexer.search import selection as selection_module
from indexer.search.filters import parse_filters, schema_of
from indexer.search.selection import build_column, column_mask
from tests.conftest import make_settings
from tests.hash_embedder import HashEmbedder

TEAMS = [f"team-{i}" for i in range(10)]
WORDS = [
    "moon",
    "rocket",
    "crew",
    "orbit",
    "lander",
    "tides",
    "gravity",
    "crater",
    "dust",
    "module",
    "engine",
    "fuel",
]


def write_corpus(seeds: Path, documents: int = 200) -> dict[str, dict[str, Any]]:
    """Markdown documents with front matter; returns each one's metadata."""
    rng = random.Random(5)
    seeds.mkdir(parents=True, exist_ok=True)
    found = {}
    for n in range(documents):
        meta: dict[str, Any] = {
            "team": TEAMS[n % 10],
            "priority": n % 7,
            "draft": n % 3 == 0,
            "published": f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}",
        }
        if n % 4 == 0:
            meta["tags"] = ["apollo", "moon"] if n % 8 == 0 else ["gemini"]
        lines = [
            f"{k}: {v if not isinstance(v, bool) else str(v).lower()}" for k, v in meta.items() if k != "tags"
        ]
        if "tags" in meta:
            lines.append(f"tags: [{', '.join(meta['tags'])}]")
        body = " ".join(rng.choice(WORDS) for _ in range(60))
        text = (
            f"---\n{chr(10).join(lines)}\n---\n# Report {n}\n\n{body} moon.\n\n## Details\n\n{body} crew.\n"
        )
        (seeds / f"doc{n:03d}.md").write_text(text, encoding="utf-8")
        found[f"doc{n:03d}.md"] = meta
    return found


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict[str, dict[str, Any]]]:
    root = tmp_path_factory.mktemp("filters")
    metadata = write_corpus(root / "seeds")
    settings = make_settings(root)
    Builder(settings, HashEmbedder).build()
    return settings, metadata


@pytest.fixture
def searcher(corpus: tuple[Settings, dict[str, dict[str, Any]]]) -> Iterator[Searcher]:
    searcher = SearchEngine(corpus[0], HashEmbedder()).open_current()
    yield searcher
    searcher.close()


def docs(searcher: Searcher, filters: Any, mode: str = "hybrid", top_k: int = 10) -> list[str]:
    return [hit.chunk.doc_id for hit in searcher.search("moon crew rocket", top_k, mode, filters=filters)]


def test_the_manifest_records_metadata_fields_with_types(searcher: Searcher) -> None:
    fields = searcher.manifest.fields
    assert {k: (v.type, v.multiple) for k, v in fields.items()} == {
        "draft": ("boolean", False),
        "priority": ("number", False),
        "published": ("date", False),
        "tags": ("string", True),
        "team": ("string", False),
    }
    assert fields["tags"].documents == 50


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_a_selective_filter_still_fills_top_k(searcher: Searcher, corpus: Any, mode: str) -> None:
    metadata = corpus[1]
    found = docs(searcher, {"type": "eq", "key": "team", "value": "team-3"}, mode, top_k=30)
    assert len(found) == 30  # 20 documents of team-3, two chunks each: 40 passages to choose from
    assert all(metadata[d]["team"] == "team-3" for d in found)


@pytest.mark.parametrize(
    ("filters", "keep"),
    [
        ({"type": "eq", "key": "tags", "value": "apollo"}, lambda m: "apollo" in m.get("tags", [])),
        ({"type": "ne", "key": "tags", "value": "apollo"}, lambda m: "apollo" not in m.get("tags", [])),
        (
            {"type": "in", "key": "team", "value": ["team-1", "team-2"]},
            lambda m: m["team"] in ("team-1", "team-2"),
        ),
        ({"type": "nin", "key": "priority", "value": [0, 1, 2]}, lambda m: m["priority"] > 2),
        ({"type": "gte", "key": "priority", "value": 5.5}, lambda m: m["priority"] >= 6),
        ({"type": "lt", "key": "published", "value": "2024-03-01"}, lambda m: m["published"] < "2024-03-01"),
        ({"type": "eq", "key": "draft", "value": True}, lambda m: m["draft"]),
        (
            {
                "type": "or",
                "filters": [
                    {"type": "eq", "key": "team", "value": "team-0"},
                    {
                        "type": "and",
                        "filters": [
                            {"type": "eq", "key": "draft", "value": False},
                            {"type": "lte", "key": "priority", "value": 1},
                        ],
                    },
                ],
            },
            lambda m: m["team"] == "team-0" or (not m["draft"] and m["priority"] <= 1),
        ),
    ],
)
def test_filters_select_by_metadata(searcher: Searcher, corpus: Any, filters: Any, keep: Any) -> None:
    metadata = corpus[1]
    found = docs(searcher, filters, top_k=40)
    assert found and all(keep(metadata[d]) for d in found)
    allowed = sum(1 for m in metadata.values() if keep(m))
    assert len(found) == min(40, 2 * allowed)


def test_filters_on_passage_fields(searcher: Searcher) -> None:
    hits = searcher.search(
        "crew", 20, filters={"type": "eq", "key": "section", "value": "Report 7 > Details"}
    )
    assert [(h.chunk.doc_id, h.chunk.section) for h in hits] == [("doc007.md", "Report 7 > Details")]
    hits = searcher.search(
        "crew", 5, filters={"type": "in", "key": "chunk_id", "value": ["doc001.md#1", "x#0"]}
    )
    assert [h.chunk.chunk_id for h in hits] == ["doc001.md#1"]
    hits = searcher.search("moon", 50, filters={"type": "gt", "key": "line_start", "value": 9})
    assert hits and all(h.chunk.line_start > 9 for h in hits)


def test_filtered_results_are_the_unfiltered_ranking_restricted(searcher: Searcher) -> None:
    everything = searcher.search("moon crew rocket", 400, "dense")
    wanted = [h.chunk.chunk_id for h in everything if h.document.doc_id.endswith(("3.md", "7.md"))][:10]
    filters = {
        "type": "in",
        "key": "doc_id",
        "value": [f"doc{n:03d}.md" for n in range(200) if n % 10 in (3, 7)],
    }
    assert [
        h.chunk.chunk_id for h in searcher.search("moon crew rocket", 10, "dense", filters=filters)
    ] == wanted


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"type": "eq", "key": "colour", "value": "red"}, "unknown field 'colour'"),
        ({"type": "eq", "key": "published", "value": 2024}, "expected an ISO date"),
        ({"type": "eq", "key": "published", "value": "yesterday"}, "expected an ISO date"),
        ({"type": "gt", "key": "priority", "value": "high"}, "expected a number"),
        ({"type": "gt", "key": "priority", "value": 10**400}, "number out of range"),
        ({"type": "gt", "key": "priority", "value": 1e300}, "number out of range"),
        ({"type": "gt", "key": "draft", "value": True}, "no order"),
        ({"type": "eq", "key": "team", "value": ["a"]}, "not a list"),
        ({"type": "in", "key": "team", "value": "team-1"}, "needs a list"),
        ({"type": "eq", "key": "team"}, "value: missing"),
        ({"type": "like", "key": "team", "value": "x"}, "filters.type"),
        ({"type": "eq", "key": "team", "value": "x", "extra": 1}, "unexpected member 'extra'"),
        ({"type": "and", "filters": []}, "non-empty list"),
        ({"type": "and", "filters": [{"type": "eq", "key": "team", "value": 1}]}, "filters.filters[0].value"),
        ("team = 1", "expected an object"),
    ],
)
def test_invalid_filters_are_refused_with_the_reason(searcher: Searcher, filters: Any, message: str) -> None:
    with pytest.raises(InvalidFilterError, match=message.replace("[", r"\[").replace("]", r"\]")):
        searcher.parse_filters(filters)


def test_deep_or_huge_filters_are_refused(searcher: Searcher) -> None:
    spec: dict[str, Any] = {"type": "eq", "key": "team", "value": "x"}
    for _ in range(20):
        spec = {"type": "and", "filters": [spec]}
    with pytest.raises(InvalidFilterError, match="nested"):
        searcher.parse_filters(spec)
    wide = {"type": "or", "filters": [{"type": "eq", "key": "team", "value": "x"}] * 300}
    with pytest.raises(InvalidFilterError, match="more than 256"):
        searcher.parse_filters(wide)


def test_columns_compare_by_type() -> None:
    column = build_column("string", ["b", None, ["a", "c"], "a", 5])
    assert column_mask(column, "eq", "a").tolist() == [False, False, True, True, False]
    assert column_mask(column, "ne", "a").tolist() == [True, True, False, False, True]
    assert column_mask(column, "gt", "b").tolist() == [False, False, True, False, False]
    assert column_mask(column, "eq", "5").tolist() == [False, False, False, False, True]
    assert column_mask(column, "contains", ("B",)).tolist() == [False] * 5  # values are lower-cased by parse
    assert column_mask(column, "contains", ("b",)).tolist() == [True, False, False, False, False]
    assert column_mask(column, "missing", None).tolist() == [False, True, False, False, False]
    numbers = build_column("number", [1, 2.5, None, True, [3, 4]])
    assert column_mask(numbers, "gte", 2.5).tolist() == [False, True, False, False, True]
    assert column_mask(numbers, "in", (1.0, 4.0)).tolist() == [True, False, False, False, True]


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf", "ivfpq"])
def test_every_index_type_searches_only_the_allowed_rows(
    corpus: Any, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through FAISS's ID selector (the exact path is turned off), for each index type."""
    settings, metadata = corpus
    index = IndexSettings(type=kind, ivf=IvfSettings(min_vectors=1, nlist=4, nprobe=1, pq_m=8))  # type: ignore[arg-type]
    settings = msgspec.structs.replace(settings, index=index, index_dir=tmp_path / "index")
    Builder(settings, HashEmbedder).build()
    monkeypatch.setattr(selection_module, "EXACT_MAX", 0)
    searcher = SearchEngine(settings, HashEmbedder()).open_current()
    try:
        assert searcher.manifest.index.type == kind
        found = docs(searcher, {"type": "eq", "key": "team", "value": "team-4"}, "dense", top_k=25)
    finally:
        searcher.close()
    assert len(found) == 25 and all(metadata[d]["team"] == "team-4" for d in found)


def test_the_schema_names_builtin_and_metadata_fields(searcher: Searcher) -> None:
    schema = schema_of(searcher.manifest)
    assert {"doc_id", "source", "title", "date", "format", "section", "page_start", "team", "tags"} <= set(
        schema
    )
    assert schema["section"].chunk and not schema["team"].chunk
    tree = parse_filters({"type": "eq", "key": "team", "value": "team-1"}, schema)
    assert tree == parse_filters({"type": "eq", "key": "team", "value": "team-1"}, schema)  # cache key
