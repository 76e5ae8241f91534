"""Chunker properties: exact slices, both token limits, full coverage, sensible boundaries."""

from __future__ import annotations

import itertools
from functools import cache

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from indexer.embedding import locate_model
from indexer.reading.chunking import Chunker, TokenLimit
from indexer.reading.encodings import get_encoding


@cache
def _tiktoken_count():  # type: ignore[no-untyped-def]
    encoding = get_encoding("cl100k_base")
    return lambda text: len(encoding.encode(text, disallowed_special=()))


@cache
def _model_count():  # type: ignore[no-untyped-def]
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(locate_model("all-MiniLM-L6-v2").path))
    return lambda text: len(
        tokenizer(text, add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
    )


def make_chunker(max_tokens: int, overlap: int, model_limit: int = 256) -> Chunker:
    return Chunker(
        _tiktoken_count(),
        max_tokens,
        overlap,
        extra_limits=[TokenLimit("model tokens", _model_count(), model_limit)],
    )


def check_invariants(chunker: Chunker, text: str, model_limit: int) -> None:
    chunks = chunker.chunk(text)
    covered = [False] * len(text)
    previous_start = -1
    for position, chunk in enumerate(chunks):
        assert chunk.position == position
        assert chunk.text == text[chunk.char_start : chunk.char_end]
        assert chunk.text and not chunk.text[0].isspace() and not chunk.text[-1].isspace()
        assert _tiktoken_count()(chunk.text) <= chunker.max_tokens
        assert _model_count()(chunk.text) <= model_limit
        assert chunk.tokens == (_tiktoken_count()(chunk.text), _model_count()(chunk.text))
        assert chunk.line_start == text.count("\n", 0, chunk.char_start) + 1
        assert chunk.line_end == chunk.line_start + chunk.text.count("\n")
        assert chunk.char_start > previous_start
        previous_start = chunk.char_start
        for i in range(chunk.char_start, chunk.char_end):
            covered[i] = True
    uncovered = [i for i, ch in enumerate(text) if not covered[i] and not ch.isspace()]
    assert not uncovered, f"characters not in any chunk at {uncovered[:5]}"


words = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=30)
prose = st.lists(
    st.one_of(words, st.sampled_from([". ", "? ", "\n", "\n\n", " ", "  ", "é", "日本語", "🙂", "\r\n"])),
    max_size=120,
).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.one_of(st.text(max_size=1500), prose),
    max_tokens=st.integers(16, 80),
    overlap_ratio=st.floats(0, 0.9),
    model_limit=st.sampled_from([24, 64, 256]),
)
@example(text="a" * 5000, max_tokens=16, overlap_ratio=0.5, model_limit=24)
@example(text="word " * 400, max_tokens=16, overlap_ratio=0.0, model_limit=256)
@example(text="   \n\n  ", max_tokens=16, overlap_ratio=0.0, model_limit=256)
def test_chunks_are_exact_bounded_and_cover_the_text(
    text: str, max_tokens: int, overlap_ratio: float, model_limit: int
) -> None:
    overlap = min(int(max_tokens * overlap_ratio), max_tokens - 1)
    check_invariants(make_chunker(max_tokens, overlap, model_limit), text, model_limit)


def test_model_limit_binds_when_model_tokens_run_out_first() -> None:
    # Chemical names cost many WordPiece tokens but few tiktoken tokens: the model limit must win.
    text = " ".join(["dimethylaminopropylcarbodiimide hydroxybenzotriazole"] * 60)
    chunker = make_chunker(200, 0, model_limit=64)
    chunks = chunker.chunk(text)
    assert len(chunks) > 1
    assert all(_model_count()(c.text) <= 64 for c in chunks)


def test_cuts_fall_on_sentence_boundaries_and_overlap_repeats_whole_sentences() -> None:
    sentences = [f"Sentence number {i} talks about topic {i}." for i in range(60)]
    text = " ".join(sentences)
    chunks = make_chunker(40, 12).chunk(text)
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.text.startswith("Sentence number ") and chunk.text.endswith(".")
    # consecutive chunks share their boundary sentences
    for first, second in itertools.pairwise(chunks):
        assert second.char_start < first.char_end


def test_paragraph_boundary_preferred_when_window_stays_half_full() -> None:
    para_one = " ".join(f"Alpha sentence {i} is here." for i in range(7))
    para_two = " ".join(f"Beta sentence {i} is here." for i in range(7))
    text = para_one + "\n\n" + para_two
    chunks = make_chunker(60, 0).chunk(text)
    assert chunks[0].text == para_one


def test_no_overlap_gives_disjoint_chunks() -> None:
    text = " ".join(f"Item {i} is listed." for i in range(100))
    chunks = make_chunker(30, 0).chunk(text)
    for first, second in itertools.pairwise(chunks):
        assert first.char_end <= second.char_start


@pytest.mark.parametrize("text", ["", " ", "\n\n\n"])
def test_blank_text_has_no_chunks(text: str) -> None:
    assert make_chunker(32, 8).chunk(text) == []
