"""Properties of context packing over synthetic documents and chunkings (no model needed)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.reading.encodings import get_encoding
from indexer.search.packing import count_tokens, pack
from indexer.search.retriever import Hit
from indexer.snapshot.store import ChunkRecord, DocumentRecord

ENCODING = get_encoding("cl100k_base")
WORDS = st.sampled_from(
    ["alpha", "beta", "gamma", "Grüße", "naïve", "東京", "x", "\n", "\n\n", "<|endoftext|>"]
)


@st.composite
def corpora(draw: st.DrawFn) -> tuple[dict[str, str], list[Hit]]:
    texts: dict[str, str] = {}
    chunks: list[ChunkRecord] = []
    for d in range(draw(st.integers(1, 3))):
        doc_id = f"dir/doc {d}.md"
        text = " ".join(draw(st.lists(WORDS, min_size=5, max_size=60)))
        texts[doc_id] = text
        # Chunks in position order with increasing starts; overlapping, touching or with gaps.
        start, position = 0, 0
        while start < len(text):
            end = min(len(text), start + draw(st.integers(1, 40)))
            line_start = text.count("\n", 0, start) + 1
            line_end = text.count("\n", 0, end - 1) + 1
            chunks.append(
                ChunkRecord(len(chunks), doc_id, position, start, end, line_start, line_end, text[start:end])
            )
            position += 1
            start = max(start + 1, end - draw(st.integers(-5, 10)))
    order = draw(st.permutations(range(len(chunks))))
    k = draw(st.integers(1, len(chunks)))
    hits = []
    for rank, row in enumerate(order[:k], start=1):
        chunk = chunks[row]
        doc = DocumentRecord(chunk.doc_id, chunk.doc_id, f"Title {chunk.doc_id}", None, "0" * 64, 0, "")
        hits.append(Hit(rank, 1.0 / rank, chunk, doc))
    return texts, hits


@settings(max_examples=150, deadline=None)
@given(corpora(), st.integers(1, 400))
def test_packing_invariants(corpus: tuple[dict[str, str], list[Hit]], max_tokens: int) -> None:
    texts, hits = corpus
    packed = pack(hits, ENCODING, max_tokens, texts.__getitem__)
    assert packed.used_tokens == count_tokens(ENCODING, packed.context) <= max_tokens
    for number, passage in enumerate(packed.passages, start=1):
        text = texts[passage.document.doc_id]
        assert text[passage.char_start : passage.char_end] == passage.text
        assert passage.line_start == text.count("\n", 0, passage.char_start) + 1
        if passage.text:
            assert passage.line_end == text.count("\n", 0, passage.char_end - 1) + 1
        assert f"[{number}] {passage.document.title}\n{passage.text}" in packed.context
    # Passages of one document neither overlap nor touch (they would have been merged).
    spans = sorted((p.document.doc_id, p.char_start, p.char_end) for p in packed.passages)
    for (doc_a, _, end_a), (doc_b, start_b, _) in itertools.pairwise(spans):
        assert doc_a != doc_b or end_a < start_b
    # Every chunk is cited at most once, and passages come in the order of their best hit.
    chunk_ids = [c for p in packed.passages for c in p.chunk_ids]
    assert len(chunk_ids) == len(set(chunk_ids))
    rank = {h.chunk.chunk_id: h.rank for h in hits}
    firsts = [min(rank[c] for c in p.chunk_ids) for p in packed.passages]
    assert firsts == sorted(firsts)


def test_a_large_budget_keeps_every_hit() -> None:
    text = "one two three four five six seven eight nine ten"
    chunks = [
        ChunkRecord(0, "d", 0, 0, 13, 1, 1, text[0:13]),
        ChunkRecord(1, "d", 1, 8, 23, 1, 1, text[8:23]),
        ChunkRecord(2, "d", 2, 24, 33, 1, 1, text[24:33]),
        ChunkRecord(3, "d", 5, 40, 49, 1, 1, text[40:49]),
    ]
    doc = DocumentRecord("d", "d", "D", "2025-01-01", "0" * 64, 4, "")
    hits = [
        Hit(i + 1, 1.0 - i / 10, c, doc) for i, c in enumerate([chunks[3], chunks[0], chunks[2], chunks[1]])
    ]
    packed = pack(hits, ENCODING, 10_000, {"d": text}.__getitem__)
    # 0-1 overlap, 1-2 are neighbours: one passage 0..33; position 5 stays apart and keeps number 1.
    assert [(p.char_start, p.char_end) for p in packed.passages] == [(40, 49), (0, 33)]
    assert packed.passages[1].chunk_ids == ("d#0", "d#2", "d#1")
    assert packed.context == "[1] D (2025-01-01)\nnine ten\n\n[2] D (2025-01-01)\n" + text[0:33]
