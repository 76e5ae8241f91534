"""Pages and sections of passages, and chunking that keeps sections apart (properties over generated
documents)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.config import ReadingSettings
from indexer.reading.chunking import Chunker
from indexer.reading.positions import Layout, page_span
from indexer.reading.readers import Extracted
from indexer.reading.readers.markdown import MarkdownReader

WORDS = st.sampled_from(
    ["moon", "rocket", "crew", "orbit", "lander.", "tides", "gravity!", "crater", "dust?", "module"]
)
PARAGRAPH = st.lists(WORDS, min_size=1, max_size=30).map(" ".join)
SECTION = st.tuples(
    st.integers(1, 4), st.text("abcdefgh ", min_size=1, max_size=12), st.lists(PARAGRAPH, max_size=4)
)


def markdown(front: bool, preamble: list[str], sections: list[tuple[int, str, list[str]]]) -> str:
    parts = ["---\ntitle: Doc\ntags: [a, b]\n---\n"] if front else []
    parts += [p + "\n\n" for p in preamble]
    for level, title, paragraphs in sections:
        parts.append(f"{'#' * level} {title.strip() or 'x'}\n\n")
        parts += [p + "\n\n" for p in paragraphs]
    return "".join(parts)


def chunker() -> Chunker:
    return Chunker(lambda text: len(text.split()), max_tokens=12, overlap_tokens=3)


def expected_section(extracted: Extracted, start: int, end: int) -> str | None:
    """The section of the first character of the span that is not heading text or space (or a short
    preamble, which is chunked with the first section)."""
    text, sections = extracted.text, extracted.sections
    position = start
    preamble = text[extracted.body_start : sections[0].start] if sections else ""
    if sections and start < sections[0].start < end and len(preamble.strip()) <= 120:
        position = sections[0].start
    while position < end:
        inside = next((s for s in sections if s.start <= position < s.body), None)
        if inside is not None:
            position = inside.body
        elif text[position].isspace():
            position += 1
        else:
            break
    found = [s.path for s in sections if s.start <= min(position, end - 1)]
    return found[-1] if found else None


@settings(max_examples=150, deadline=None)
@given(st.booleans(), st.lists(PARAGRAPH, max_size=2), st.lists(SECTION, max_size=6))
def test_chunks_are_exact_stay_in_one_section_and_know_it(
    front: bool, preamble: list[str], sections: list[tuple[int, str, list[str]]]
) -> None:
    source = markdown(front, preamble, sections)
    extracted = MarkdownReader().read(source.encode(), Path("doc.md"), ReadingSettings())
    layout = Layout(extracted.text, (), extracted.sections, extracted.body_start)
    chunks = chunker().chunk(extracted.text, layout.segments(len(extracted.text), extracted.body_start))
    body = extracted.text[extracted.body_start :]
    assert bool(chunks) == bool(body.strip())
    starts = [s.start for s in extracted.sections]
    for chunk in chunks:
        assert extracted.text[chunk.char_start : chunk.char_end] == chunk.text
        assert chunk.char_start >= extracted.body_start  # front matter is never a passage
        section = layout.section_of(chunk.char_start, chunk.char_end)
        assert section == expected_section(extracted, chunk.char_start, chunk.char_end)
        # A chunk holds the body text of one section at most (plus headings and a short preamble).
        crossed = [s for s in starts if chunk.char_start < s < chunk.char_end]
        for cut in crossed:
            before = extracted.text[chunk.char_start : cut]
            heading_only = all(
                not extracted.text[s.body : min(cut, nxt)].strip()
                for s, nxt in zip(extracted.sections, [*starts[1:], len(extracted.text)], strict=True)
                if chunk.char_start <= s.start < cut
            )
            assert heading_only or (
                chunk.char_start < (starts[0] if starts else 0) and len(before.strip()) <= 120
            )


@given(
    st.lists(st.integers(0, 40), min_size=1, max_size=8).map(
        lambda gaps: [sum(gaps[:i]) for i in range(len(gaps))]
    ),
    st.integers(0, 300),
    st.integers(1, 60),
)
def test_page_span_is_the_first_and_last_page_touched(pages: list[int], start: int, length: int) -> None:
    end = start + length
    first, last = page_span(pages, start, end)

    def page_of(offset: int) -> int:
        return max(i for i, page_start in enumerate(pages) if page_start <= offset) + 1

    assert (first, last) == (page_of(start), page_of(end - 1))


def test_no_pages_no_page_numbers() -> None:
    assert page_span([], 0, 10) == (None, None)


def test_a_heading_only_section_is_chunked_with_the_next() -> None:
    text = "# Apollo program\n\n## Part 2\n\nApollo 11 landed.\n\n## Part 3\n\nApollo 12 landed too.\n"
    extracted = MarkdownReader().read(text.encode(), Path("a.md"), ReadingSettings())
    layout = Layout(text, (), extracted.sections)
    chunks = chunker().chunk(text, layout.segments(len(text)))
    assert [c.text for c in chunks] == [
        "# Apollo program\n\n## Part 2\n\nApollo 11 landed.",
        "## Part 3\n\nApollo 12 landed too.",
    ]
    assert [layout.section_of(c.char_start, c.char_end) for c in chunks] == [
        "Apollo program > Part 2",
        "Apollo program > Part 3",
    ]
